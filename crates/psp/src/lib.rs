//! # podsec-psp: PodSecurityPolicy admission, brought back
//!
//! A faithful, I/O-free re-implementation of the in-tree `PodSecurityPolicy` admission plugin of
//! Kubernetes 1.21–1.24 (`policy/v1beta1`, removed in 1.25): policy types, object validation,
//! every strategy's defaulting and validation, policy selection with `use` authorization, the
//! `kubernetes.io/psp` annotation, upstream's exact messages and an RFC 6902 patch.
//!
//! ## Modules
//! - [`types`]: serde types for PodSecurityPolicy (`policy/v1beta1` and `extensions/v1beta1`),
//!   decoding with the API server's defaulting ([`PodSecurityPolicy::from_value`],
//!   [`types::policies_from_objects`]).
//! - [`validation`]: object validation of policies ([`validate_policy`],
//!   [`validation::validate_policy_update`]) with apimachinery's messages.
//! - [`table`]: `kubectl get psp` rendering ([`render_policy_table`]).
//! - [`pod`]: the typed view of a pod's security fields and its write-back into the pod JSON.
//! - [`strategies`]: one module per strategy, generation and validation, each with table tests.
//! - [`provider`]: one compiled policy: mutate a private copy, validate in upstream's order.
//! - [`admission`]: selection and the two admission phases ([`admit`], [`validate`]), messages
//!   ([`MessageStyle`]), the [`Outcome`] with its JSON patch.
//! - [`authorizer`]: the `use` authorization interface ([`Authorizer`], [`UserInfo`]).
//! - [`rbac`]: an offline RBAC implementation of it ([`RbacAuthorizer`]).
//! - [`field_error`]: apimachinery v0.24.6 field-error rendering.
//!
//! ## Use
//! Hand in already-decoded documents (`serde_json::Value`):
//!
//! ```
//! use podsec_psp::{admit, policies_from_objects, AdmissionRequest, MessageStyle, Operation,
//!                  RbacAuthorizer, UserInfo};
//! use serde_json::json;
//!
//! let state = vec![
//!     json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
//!            "metadata": {"name": "restricted"},
//!            "spec": {"allowPrivilegeEscalation": false,
//!                     "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
//!                     "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"},
//!                     "volumes": ["*"]}}),
//!     json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
//!            "metadata": {"name": "all-service-accounts"},
//!            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "use-restricted"},
//!            "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]}),
//!     json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
//!            "metadata": {"name": "use-restricted"},
//!            "rules": [{"apiGroups": ["policy"], "resources": ["podsecuritypolicies"],
//!                       "verbs": ["use"], "resourceNames": ["restricted"]}]}),
//! ];
//! let (policies, _unusable) = policies_from_objects(&state);
//! let authorizer = RbacAuthorizer::from_objects(&state)?;
//!
//! let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
//!                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}});
//! let user = UserInfo::new("jane", ["system:authenticated"]);
//! let request = AdmissionRequest { pod: &pod, old_pod: None, namespace: "default", user: &user,
//!                                  operation: Operation::Create };
//! let outcome = admit(&request, &policies, &authorizer, MessageStyle::Current)?;
//! assert!(outcome.allowed);
//! assert_eq!(outcome.policy.as_deref(), Some("restricted"));
//! assert_eq!(outcome.pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"], false);
//! assert!(!outcome.patch.0.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A validating webhook calls [`validate`] instead (the validating phase alone, CREATE and
//! UPDATE); an async caller can pre-resolve [`admission::access_checks`] into any `Fn(&UserInfo,
//! &AccessRequest) -> bool`, which implements [`Authorizer`].
//!
//! ## Deliberate choices (where sources disagree or were silent)
//! - The pod's service-account identity carries no `system:authenticated` group (upstream's
//!   `serviceaccount.UserInfo`); a pod without `serviceAccountName` runs as `default`, as the
//!   ServiceAccount admission plugin (which ran before PSP) would have set.
//! - Rejections list policies' errors in policy-name order (upstream: Go map order).
//! - Ephemeral containers are always visited (the 1.23–1.24 default).
//! - Pods are judged as the API server would have defaulted them where that matters to PSP:
//!   a volume without a source is `emptyDir`, and `hostNetwork` pods get `hostPort =
//!   containerPort`; neither default is written into the patch.

pub mod admission;
pub mod authorizer;
pub mod field_error;
pub mod pod;
pub mod provider;
pub mod rbac;
pub mod strategies;
pub mod table;
pub mod types;
pub mod validation;

pub use admission::{
    AdmissionError, AdmissionRequest, MessageStyle, Operation, Outcome, Phase, admit, validate,
};
pub use authorizer::{AccessRequest, Authorizer, UserInfo};
pub use field_error::FieldError;
pub use rbac::RbacAuthorizer;
pub use table::render_policy_table;
pub use types::{PodSecurityPolicy, policies_from_objects};
pub use validation::validate_policy;
