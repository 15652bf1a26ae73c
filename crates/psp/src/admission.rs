//! Policy selection and the two admission phases, with upstream's messages and a JSON patch.
//!
//! - [`admit`]: what the in-tree plugin did for a request as a whole: the mutating phase on
//!   CREATE (defaulting allowed, `kubernetes.io/psp` written), the validating phase on UPDATE.
//! - [`validate`]: the validating phase alone (CREATE and UPDATE), for a validating webhook.
//!
//! Selection: policies sorted byte-wise by name (the `kubernetes.io/psp` hint first when
//! mutation is not allowed); each is compiled (unusable ones are skipped), mutates a private copy
//! and validates it; the first policy that admits the pod *unchanged* and that the pod's service
//! account or the user may `use` wins at once, otherwise the first authorized mutating one.
//! Rejections list the errors of authorized policies only, in policy-name order (upstream used Go
//! map order, i.e. unspecified).

use serde_json::Value;

use crate::authorizer::{AccessRequest, Authorizer, POLICY_API_GROUPS, UserInfo, may_use_policy};
use crate::field_error::{FieldError, render_error_list};
use crate::pod::{PodDecodeError, PodView, VALIDATED_PSP_ANNOTATION, decode_pod, write_back};
use crate::provider::Provider;
use crate::types::PodSecurityPolicy;

/// The admission operation. PSP only acts on these two (spelled `CREATE` and `UPDATE` in
/// AdmissionReviews, which is also their serde form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    Create,
    Update,
}

impl Operation {
    /// The operation of an admission request for pods (`CREATE`, `UPDATE`), or `None` when
    /// PodSecurityPolicy leaves the request alone: another operation, or a subresource
    /// (`ephemeralcontainers`, `status`, …), which the in-tree plugin never saw.
    pub fn of_pod_request(operation: &str, sub_resource: &str) -> Option<Operation> {
        match operation {
            _ if !sub_resource.is_empty() => None,
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            _ => None,
        }
    }
}

/// Which wording rejections use (serde form: `current`, `legacy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStyle {
    /// Kubernetes 1.21–1.24: `PodSecurityPolicy: unable to admit pod: [...]` (mutating phase)
    /// and `PodSecurityPolicy: unable to validate pod: [...]` (validating phase).
    #[default]
    Current,
    /// Kubernetes ≤ 1.20 as users quote it:
    /// `PodSecurityPolicy: unable to validate against any pod security policy: [...]`.
    Legacy,
}

/// The phase of the in-tree plugin being reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Defaulting allowed (CREATE only).
    Mutating,
    /// No defaulting: some policy must accept the pod exactly as it is.
    Validating,
}

/// One pod admission request. Subresource requests (`pods/status`, `pods/ephemeralcontainers`,
/// ...) are outside PSP's scope and must not be passed in.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionRequest<'a> {
    /// The pod as JSON (v1).
    pub pod: &'a Value,
    /// The stored pod, for UPDATE.
    pub old_pod: Option<&'a Value>,
    /// The request namespace (the pod's namespace).
    pub namespace: &'a str,
    /// The requesting user.
    pub user: &'a UserInfo,
    pub operation: Operation,
}

/// A policy that could not be compiled and was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusablePolicy {
    pub name: String,
    pub reason: String,
}

/// The result of admitting one pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub allowed: bool,
    /// The admitting policy, if any (none for ignored updates and rejections).
    pub policy: Option<String>,
    /// The pod after defaulting (the input when nothing changed or the pod was rejected).
    pub pod: Value,
    /// RFC 6902 operations turning the input pod into [`Outcome::pod`].
    pub patch: json_patch::Patch,
    /// The plugin's message on rejection (`PodSecurityPolicy: ...`).
    pub message: Option<String>,
    /// The field errors listed in the message.
    pub errors: Vec<FieldError>,
    /// True when the request was outside PSP's concern (a garbage-collector-only update).
    pub ignored: bool,
    /// Policies skipped because they could not be compiled (upstream only logged these).
    pub unusable_policies: Vec<UnusablePolicy>,
    /// The phase that produced this outcome.
    pub phase: Phase,
}

/// Audit annotation keys the in-tree plugin recorded (webhooks get them prefixed by the API
/// server with `<webhook name>/`).
pub const AUDIT_ADMIT_POLICY: &str = "podsecuritypolicy.policy.k8s.io/admit-policy";
pub const AUDIT_VALIDATE_POLICY: &str = "podsecuritypolicy.policy.k8s.io/validate-policy";

impl Outcome {
    fn allowed_unchanged(pod: &Value, phase: Phase) -> Self {
        Outcome {
            phase,
            allowed: true,
            policy: None,
            pod: pod.clone(),
            patch: json_patch::Patch::default(),
            message: None,
            errors: Vec::new(),
            ignored: false,
            unusable_policies: Vec::new(),
        }
    }

    /// The audit annotation recording the admitting policy: `admit-policy` for the mutating
    /// phase, `validate-policy` for the validating phase.
    pub fn audit_annotation(&self) -> Option<(&'static str, &str)> {
        let key = match self.phase {
            Phase::Mutating => AUDIT_ADMIT_POLICY,
            Phase::Validating => AUDIT_VALIDATE_POLICY,
        };
        self.policy.as_deref().map(|policy| (key, policy))
    }

    /// The API server's status message for a rejection:
    /// `pods "<name>" is forbidden: <message>`, naming the pod by `metadata.name`, else
    /// `metadata.generateName`.
    pub fn status_message(&self) -> Option<String> {
        let message = self.message.as_ref()?;
        let name_of = |key: &str| {
            self.pod
                .pointer(&format!("/metadata/{key}"))
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
        };
        let name = name_of("name")
            .or_else(|| name_of("generateName"))
            .unwrap_or_default();
        Some(format!("pods \"{name}\" is forbidden: {message}"))
    }
}

/// Why a request could not be judged at all.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error(transparent)]
    Pod(#[from] PodDecodeError),
    /// Not a pod: upstream fails closed (Forbidden) with this text.
    #[error("unexpected type {0}")]
    UnexpectedType(String),
}

/// The in-tree plugin's handling of a request: mutating phase on CREATE, validating phase on
/// UPDATE (the mutating phase does nothing on UPDATE).
pub fn admit(
    request: &AdmissionRequest<'_>,
    policies: &[PodSecurityPolicy],
    authorizer: &(impl Authorizer + ?Sized),
    style: MessageStyle,
) -> Result<Outcome, AdmissionError> {
    match request.operation {
        Operation::Create => run_phase(request, policies, authorizer, style, Phase::Mutating),
        Operation::Update => run_phase(request, policies, authorizer, style, Phase::Validating),
    }
}

/// The validating phase alone (CREATE and UPDATE): some authorized policy must accept the pod
/// without any change. The `kubernetes.io/psp` annotation is tried first and not rewritten.
pub fn validate(
    request: &AdmissionRequest<'_>,
    policies: &[PodSecurityPolicy],
    authorizer: &(impl Authorizer + ?Sized),
    style: MessageStyle,
) -> Result<Outcome, AdmissionError> {
    run_phase(request, policies, authorizer, style, Phase::Validating)
}

fn run_phase(
    request: &AdmissionRequest<'_>,
    policies: &[PodSecurityPolicy],
    authorizer: &(impl Authorizer + ?Sized),
    style: MessageStyle,
    phase: Phase,
) -> Result<Outcome, AdmissionError> {
    if request.operation == Operation::Update
        && let Some(old_pod) = request.old_pod
        && is_only_garbage_collector_update(request.pod, old_pod)
    {
        return Ok(Outcome {
            ignored: true,
            ..Outcome::allowed_unchanged(request.pod, phase)
        });
    }
    if let Some(kind) = request.pod.get("kind").and_then(Value::as_str)
        && kind != "Pod"
    {
        return Err(AdmissionError::UnexpectedType(kind.to_string()));
    }
    let view = decode_pod(request.pod)?;
    let hint = match phase {
        Phase::Mutating => None,
        Phase::Validating => view
            .annotation(VALIDATED_PSP_ANNOTATION)
            .filter(|hint| !hint.is_empty()),
    };
    let service_account =
        UserInfo::service_account(request.namespace, view.spec.effective_service_account());
    let selection = select_policy(
        &view,
        policies,
        &SelectionContext {
            authorizer,
            service_account: &service_account,
            user: request.user,
            namespace: request.namespace,
            mutation_allowed: phase == Phase::Mutating,
            hint,
        },
    );
    let mut outcome = Outcome {
        unusable_policies: selection.unusable_policies,
        ..Outcome::allowed_unchanged(request.pod, phase)
    };
    match selection.verdict {
        Verdict::Admitted { policy, pod } => {
            outcome.policy = Some(policy.clone());
            if phase == Phase::Mutating {
                let mut mutated = request.pod.clone();
                write_back(&view, &pod, &mut mutated);
                set_annotation(&mut mutated, VALIDATED_PSP_ANNOTATION, &policy);
                outcome.patch = json_patch::diff(request.pod, &mutated);
                outcome.pod = mutated;
            }
        }
        Verdict::NoProviders => {
            outcome.allowed = false;
            outcome.message =
                Some("PodSecurityPolicy: no providers available to validate pod request".into());
        }
        Verdict::Rejected(errors) => {
            let wording = match (style, phase) {
                (MessageStyle::Legacy, _) => "unable to validate against any pod security policy",
                (MessageStyle::Current, Phase::Mutating) => "unable to admit pod",
                (MessageStyle::Current, Phase::Validating) => "unable to validate pod",
            };
            outcome.allowed = false;
            outcome.message = Some(format!(
                "PodSecurityPolicy: {wording}: {}",
                render_error_list(&errors)
            ));
            outcome.errors = errors;
        }
    }
    Ok(outcome)
}

fn set_annotation(pod: &mut Value, key: &str, value: &str) {
    if !pod.is_object() {
        *pod = Value::Object(Default::default());
    }
    let metadata = &mut pod["metadata"];
    if !metadata.is_object() {
        *metadata = Value::Object(Default::default());
    }
    let annotations = &mut metadata["annotations"];
    if !annotations.is_object() {
        *annotations = Value::Object(Default::default());
    }
    annotations[key] = Value::String(value.to_string());
}

/// Garbage-collector updates (and no-op updates): the new pod equals the old one once the old
/// `ownerReferences`, `finalizers` and `selfLink` are copied onto it. Like upstream, nothing else
/// (not even `managedFields`) is disregarded.
pub fn is_only_garbage_collector_update(pod: &Value, old_pod: &Value) -> bool {
    let mut normalised = pod.clone();
    for key in ["ownerReferences", "finalizers", "selfLink"] {
        let old_value = old_pod.pointer(&format!("/metadata/{key}")).cloned();
        if let Some(metadata) = normalised
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            match old_value {
                Some(value) => {
                    metadata.insert(key.to_string(), value);
                }
                None => {
                    metadata.remove(key);
                }
            }
        } else if let Some(value) = old_value {
            normalised["metadata"][key] = value;
        }
    }
    &normalised == old_pod
}

/// What selection needs besides the pod and the policies.
pub struct SelectionContext<'a, A: Authorizer + ?Sized> {
    pub authorizer: &'a A,
    pub service_account: &'a UserInfo,
    pub user: &'a UserInfo,
    pub namespace: &'a str,
    pub mutation_allowed: bool,
    /// The policy to try first (validating phase only).
    pub hint: Option<&'a str>,
}

/// The result of policy selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub verdict: Verdict,
    pub unusable_policies: Vec<UnusablePolicy>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// `pod` is the chosen policy's (possibly mutated) copy.
    Admitted { policy: String, pod: Box<PodView> },
    /// No policy could be compiled (or there are none).
    NoProviders,
    /// Errors of the authorized policies that rejected the pod (possibly none).
    Rejected(Vec<FieldError>),
}

/// Policies in evaluation order: byte-wise by name, the hint first when mutation is not allowed.
pub fn evaluation_order<'p>(
    policies: &'p [PodSecurityPolicy],
    mutation_allowed: bool,
    hint: Option<&str>,
) -> Vec<&'p PodSecurityPolicy> {
    let mut ordered: Vec<&PodSecurityPolicy> = policies.iter().collect();
    let hint = hint.filter(|_| !mutation_allowed);
    ordered.sort_by(|left, right| {
        let is_hint = |policy: &PodSecurityPolicy| Some(policy.name()) == hint;
        is_hint(right)
            .cmp(&is_hint(left))
            .then_with(|| left.name().as_bytes().cmp(right.name().as_bytes()))
    });
    ordered
}

/// Upstream's `computeSecurityContext`.
pub fn select_policy<A: Authorizer + ?Sized>(
    pod: &PodView,
    policies: &[PodSecurityPolicy],
    context: &SelectionContext<'_, A>,
) -> Selection {
    let mut unusable_policies = Vec::new();
    let providers: Vec<Provider> =
        evaluation_order(policies, context.mutation_allowed, context.hint)
            .into_iter()
            .filter_map(|policy| match Provider::new(policy) {
                Ok(provider) => Some(provider),
                Err(error) => {
                    unusable_policies.push(UnusablePolicy {
                        name: policy.name().to_string(),
                        reason: error.to_string(),
                    });
                    None
                }
            })
            .collect();
    if providers.is_empty() {
        return Selection {
            verdict: Verdict::NoProviders,
            unusable_policies,
        };
    }
    let authorized = |name: &str| {
        may_use_policy(
            context.authorizer,
            Some(context.service_account),
            context.user,
            context.namespace,
            name,
        )
    };
    let mut first_mutating: Option<(String, PodView)> = None;
    let mut failures: Vec<(String, Vec<FieldError>)> = Vec::new();
    for provider in &providers {
        let (copy, errors) = provider.admit_copy(pod);
        if !errors.is_empty() {
            failures.push((provider.policy_name().to_string(), errors));
            continue;
        }
        let mutated = &copy != pod;
        if mutated && !context.mutation_allowed {
            continue;
        }
        if !authorized(provider.policy_name()) {
            continue;
        }
        if !mutated {
            return Selection {
                verdict: Verdict::Admitted {
                    policy: provider.policy_name().to_string(),
                    pod: Box::new(copy),
                },
                unusable_policies,
            };
        }
        if first_mutating.is_none() {
            first_mutating = Some((provider.policy_name().to_string(), copy));
        }
    }
    let verdict = match first_mutating {
        Some((policy, pod)) => Verdict::Admitted {
            policy,
            pod: Box::new(pod),
        },
        None => {
            // Sorted by name for a stable message; upstream's order was Go map order.
            failures.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
            let errors = failures
                .into_iter()
                .filter(|(name, _)| authorized(name))
                .flat_map(|(_, errors)| errors)
                .collect();
            Verdict::Rejected(errors)
        }
    };
    Selection {
        verdict,
        unusable_policies,
    }
}

/// The service account the pod `pod` runs as in `namespace` (`default` when it names none, or
/// when the pod does not decode: [`admit`] then refuses it anyway).
pub fn pod_service_account(namespace: &str, pod: &Value) -> UserInfo {
    match decode_pod(pod) {
        Ok(view) => UserInfo::service_account(namespace, view.spec.effective_service_account()),
        Err(_) => UserInfo::service_account(namespace, "default"),
    }
}

/// Every authorization question [`admit`] or [`validate`] may ask for this request, so that an
/// async caller can resolve them up front (e.g. with SubjectAccessReviews) and answer from a table.
pub fn access_checks(
    request: &AdmissionRequest<'_>,
    policies: &[PodSecurityPolicy],
) -> Vec<(UserInfo, AccessCheck)> {
    let identities = [
        pod_service_account(request.namespace, request.pod),
        request.user.clone(),
    ];
    let mut checks = Vec::new();
    for policy in policies {
        for identity in &identities {
            for group in POLICY_API_GROUPS {
                checks.push((
                    identity.clone(),
                    AccessCheck {
                        api_group: group.to_string(),
                        policy: policy.name().to_string(),
                        namespace: request.namespace.to_string(),
                    },
                ));
            }
        }
    }
    checks
}

/// An owned `use` question about one policy (see [`AccessRequest::use_policy`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessCheck {
    pub api_group: String,
    pub policy: String,
    pub namespace: String,
}

impl AccessCheck {
    pub fn as_request(&self) -> AccessRequest<'_> {
        AccessRequest::use_policy(&self.api_group, &self.policy, &self.namespace)
    }
}
