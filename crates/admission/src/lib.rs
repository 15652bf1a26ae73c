//! # podsec-admission: Pod Security Admission decisions
//!
//! The decision layer shared by `podsec check` (offline) and `podsec serve` (the webhook):
//! everything between "bytes of a request or manifest" and "allowed / denied, with these
//! messages", with upstream Pod Security Admission's behaviour and texts. No I/O: cluster
//! lookups come in through the [`admit::Cluster`] trait, files through callbacks.
//!
//! - [`object`]: lean decoding of Kubernetes objects and their pod templates.
//! - [`policy`]: namespace labels → enforce / audit / warn level and version.
//! - [`field_error`]: apimachinery's field errors and aggregates.
//! - [`config`]: PodSecurityConfiguration and AdmissionConfiguration loading and validation.
//! - [`review`]: AdmissionReview `v1` / `v1beta1` wire types.
//! - [`admit`](mod@admit): the decision flow for pods, pod controllers and namespaces.
//! - [`yaml_messages`]: serde-saphyr's errors worded for users.
//!
//! Offline, as `podsec check` uses it: decode a manifest, resolve the namespace's labels and
//! evaluate the pod template in each mode.
//!
//! ```
//! use podsec_admission::{Object, Policy, evaluate_pod};
//!
//! let yaml = "
//! apiVersion: apps/v1
//! kind: Deployment
//! metadata: {name: web}
//! spec:
//!   template:
//!     spec:
//!       containers:
//!       - {name: web, image: nginx, securityContext: {privileged: true}}
//! ";
//! let mut object: Object = serde_saphyr::from_str(yaml).unwrap();
//! object.apply_api_defaults();
//! let pod = object.pod().unwrap();
//! assert_eq!(object.template_path(), Some("spec.template"));
//!
//! let labels = [("pod-security.kubernetes.io/enforce".to_owned(), "baseline".to_owned())].into();
//! let (policy, errors) = Policy::from_labels(&labels, Policy::PRIVILEGED);
//! assert!(errors.is_empty());
//! let results = evaluate_pod(&Default::default(), &policy, pod.metadata, pod.spec, true);
//! assert_eq!(
//!     results[0].message(),
//!     "violates PodSecurity \"baseline:latest\": privileged (container \"web\" must not set securityContext.privileged=true)"
//! );
//! ```

pub mod admit;
pub mod config;
pub mod field_error;
pub mod list_item;
mod node_path;
pub mod object;
pub mod policy;
pub mod review;
pub mod yaml_messages;
pub mod yaml_strict;

pub use admit::{
    Admission, Clock, Cluster, ModeEvaluation, Outcome, RequestContext, admit, evaluate_pod,
};
pub use config::{ConfigError, Exemptions, PodSecurityConfiguration};
pub use object::{Object, WorkloadKind};
pub use policy::{Mode, NamespacePolicy, Policy};
pub use review::{AdmissionRequest, AdmissionResponse, AdmissionReview};
