//! PodSecurityPolicy admission of one pod for `podsec check`: the request podsec makes up for a
//! manifest, and the library's [`Outcome`] turned into the report's [`PspEvaluation`].
//!
//! A manifest is a create request. A Pod is admitted as written; a pod template as the pod its
//! controller creates from it (the template's metadata and spec, in the object's namespace).
//! A Pod carried by an AdmissionReview (or a bare AdmissionRequest) is admitted as the request
//! says, as `podsec serve` admits it: with its operation (an UPDATE runs the validating phase
//! alone, so nothing is defaulted), its `oldObject` and its `userInfo` ([`ReviewRequest`]).
//! The library works on the full pod JSON, so the document is decoded a second time into a
//! [`Value`] for it, and only when PodSecurityPolicy admission is on.

use podsec_admission::WorkloadKind;
use podsec_psp::admission::pod_service_account;
use podsec_psp::{
    AdmissionRequest, MessageStyle, Operation, Outcome, PodSecurityPolicy, RbacAuthorizer,
    UserInfo, admit,
};
use serde_json::{Map, Value};

use crate::report::{PspEvaluation, PspViolation, UnusablePolicy};

/// The groups the API server gives every authenticated or unauthenticated user.
const AUTHENTICATED: &str = "system:authenticated";
const UNAUTHENTICATED: &str = "system:unauthenticated";
const ANONYMOUS: &str = "system:anonymous";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// What an AdmissionRequest says of itself that PodSecurityPolicy admission of its Pod uses.
#[derive(Debug, Clone)]
pub struct ReviewRequest {
    /// `None` when the request is not PodSecurityPolicy's business (an operation other than
    /// CREATE and UPDATE, or a subresource), as the webhook leaves those alone.
    pub operation: Option<Operation>,
    /// The `oldObject`, when there is one; `Err` when it is not JSON the webhook could decode
    /// (which it denies).
    pub old_pod: Result<Option<Value>, ()>,
    /// The requesting user, as the API server named it (taken as is, like the webhook does).
    pub user: UserInfo,
}

impl ReviewRequest {
    /// From the request's operation, subresource, `oldObject` text and user.
    pub fn new(
        operation: &str,
        sub_resource: &str,
        old_object: Option<&str>,
        username: &str,
        groups: &[String],
    ) -> Self {
        let operation = Operation::of_pod_request(operation, sub_resource);
        let old_pod = old_object
            .map(serde_json::from_str::<Value>)
            .transpose()
            .map(|old_pod| old_pod.filter(|value| !value.is_null()))
            .map_err(|_| ());
        ReviewRequest {
            operation,
            old_pod,
            user: UserInfo::new(username.to_owned(), groups.iter().cloned()),
        }
    }
}

/// Everything PodSecurityPolicy admission needs besides the pod.
pub struct PspAdmission<'a> {
    pub policies: Vec<PodSecurityPolicy>,
    pub authorizer: &'a RbacAuthorizer,
    /// The requesting user; the default (no name, no groups) is nobody, whom nothing grants.
    pub user: UserInfo,
    pub style: MessageStyle,
}

impl PspAdmission<'_> {
    /// Admits the pod of `object` (a Pod, or the pod template of `workload`) in `namespace`,
    /// as a create request: by the `--as` user for a Pod, by the controller for a template's
    /// pods.
    pub fn evaluate(
        &self,
        object: &Value,
        workload: WorkloadKind,
        namespace: &str,
    ) -> PspEvaluation {
        // `/spec/template` for most kinds: where the template's paths start in the object.
        let Some(template_pointer) = workload
            .template_path()
            .map(|path| format!("/{}", path.replace('.', "/")))
        else {
            return self.admit_pod(object, None, namespace, &self.user, Operation::Create, None);
        };
        let pod = pod_from_template(object.pointer(&template_pointer));
        let controller = controller_user(workload);
        self.admit_pod(
            &pod,
            None,
            namespace,
            &controller,
            Operation::Create,
            Some(&template_pointer),
        )
    }

    /// Admits the Pod an admission request carries, as `request` says; `None` when the request
    /// is not PodSecurityPolicy's business.
    pub fn evaluate_request(
        &self,
        pod: &Value,
        namespace: &str,
        request: &ReviewRequest,
    ) -> Option<PspEvaluation> {
        let operation = request.operation?;
        let old_pod = match &request.old_pod {
            Ok(old_pod) => old_pod.as_ref(),
            Err(()) => {
                // The webhook's answer to an oldObject it cannot decode.
                let mut evaluation = new_evaluation(namespace, pod, &request.user);
                evaluation.message = Some("PodSecurityPolicy: unable to decode the pod".to_owned());
                return Some(evaluation);
            }
        };
        Some(self.admit_pod(pod, old_pod, namespace, &request.user, operation, None))
    }

    /// `admit`, the in-tree plugin's handling (the mutating phase on CREATE, the validating
    /// phase alone on UPDATE, as the webhook's /mutate leaves UPDATE alone), as a report;
    /// `template_pointer` places a template's patch in its object.
    fn admit_pod(
        &self,
        pod: &Value,
        old_pod: Option<&Value>,
        namespace: &str,
        user: &UserInfo,
        operation: Operation,
        template_pointer: Option<&str>,
    ) -> PspEvaluation {
        let mut evaluation = new_evaluation(namespace, pod, user);
        let request = AdmissionRequest {
            pod,
            old_pod,
            namespace,
            user,
            operation,
        };
        match admit(&request, &self.policies, self.authorizer, self.style) {
            Ok(outcome) => fill(&mut evaluation, outcome, template_pointer),
            // The pod's fields have the wrong types (the API server would have refused it).
            Err(error) => evaluation.message = Some(error.to_string()),
        }
        evaluation
    }
}

/// A denial with nothing said yet, for the service account of `pod` and `user`.
fn new_evaluation(namespace: &str, pod: &Value, user: &UserInfo) -> PspEvaluation {
    PspEvaluation {
        mode: "psp",
        allowed: false,
        policy: None,
        patch: Value::Array(Vec::new()),
        violations: Vec::new(),
        message: None,
        service_account: pod_service_account(namespace, pod).name,
        user: Some(user.name.clone()).filter(|name| !name.is_empty()),
        unusable_policies: Vec::new(),
    }
}

fn fill(evaluation: &mut PspEvaluation, outcome: Outcome, template_pointer: Option<&str>) {
    evaluation.allowed = outcome.allowed;
    evaluation.policy = outcome.policy;
    evaluation.message = outcome.message;
    evaluation.patch = rebase_patch(
        serde_json::to_value(&outcome.patch).unwrap_or_default(),
        template_pointer.unwrap_or_default(),
    );
    evaluation.violations = outcome
        .errors
        .iter()
        .map(|error| {
            let body = error.body();
            // The body is `<type>[: <value>][: <detail>]`; the reason is all before the detail.
            let reason = match body.strip_suffix(&format!(": {}", error.detail)) {
                Some(reason) if !error.detail.is_empty() => reason.to_owned(),
                _ => body.clone(),
            };
            PspViolation {
                check: error.path.to_string(),
                reason,
                detail: error.detail.clone(),
            }
        })
        .collect();
    evaluation.unusable_policies = outcome
        .unusable_policies
        .into_iter()
        .map(|policy| UnusablePolicy {
            name: policy.name,
            reason: policy.reason,
        })
        .collect();
}

/// The pod a controller creates from a template: its metadata and spec as they are.
fn pod_from_template(template: Option<&Value>) -> Value {
    let mut pod = Map::new();
    pod.insert("apiVersion".into(), "v1".into());
    pod.insert("kind".into(), "Pod".into());
    for key in ["metadata", "spec"] {
        if let Some(value) = template.and_then(|template| template.get(key)) {
            pod.insert(key.into(), value.clone());
        }
    }
    Value::Object(pod)
}

/// Moves a patch made for the pod under `prefix` (a JSON pointer to the template), so that it
/// applies to the object as written.
fn rebase_patch(mut patch: Value, prefix: &str) -> Value {
    if prefix.is_empty() {
        return patch;
    }
    for operation in patch.as_array_mut().into_iter().flatten() {
        for key in ["path", "from"] {
            if let Some(Value::String(path)) = operation.get_mut(key) {
                path.insert_str(0, prefix);
            }
        }
    }
    patch
}

/// Who creates the pods of a workload's template: the controller's service account in
/// `kube-system`, as kube-controller-manager runs its controllers (with
/// `--use-service-account-credentials`, as kubeadm sets it). A Deployment's pods are created by
/// its ReplicaSet, a CronJob's by its Job. Nothing creates pods from a PodTemplate: nobody.
pub fn controller_user(workload: WorkloadKind) -> UserInfo {
    let controller = match workload {
        WorkloadKind::Deployment | WorkloadKind::ReplicaSet => "replicaset-controller",
        WorkloadKind::ReplicationController => "replication-controller",
        WorkloadKind::DaemonSet => "daemon-set-controller",
        WorkloadKind::StatefulSet => "statefulset-controller",
        WorkloadKind::Job | WorkloadKind::CronJob => "job-controller",
        WorkloadKind::Pod | WorkloadKind::PodTemplate => return UserInfo::default(),
    };
    let mut user = UserInfo::service_account("kube-system", controller);
    user.groups.push(AUTHENTICATED.to_owned());
    user
}

/// The user `--as`/`--as-group` name, completed as the API server completes an impersonated
/// user: a service account named without groups gets its `system:serviceaccounts` groups, and
/// `system:authenticated` is added unless given (or `system:unauthenticated` is; the anonymous
/// user gets `system:unauthenticated` instead). Without `--as`, nobody.
pub fn requesting_user(name: Option<&str>, groups: &[String]) -> UserInfo {
    let Some(name) = name else {
        return UserInfo::default();
    };
    let mut groups = groups.to_vec();
    if groups.is_empty()
        && let Some((namespace, _)) = name
            .strip_prefix(SERVICE_ACCOUNT_PREFIX)
            .and_then(|rest| rest.split_once(':'))
    {
        groups = UserInfo::service_account(namespace, "").groups;
    }
    let has = |group: &str| groups.iter().any(|g| g == group);
    if name == ANONYMOUS {
        if !has(UNAUTHENTICATED) {
            groups.push(UNAUTHENTICATED.to_owned());
        }
    } else if !has(AUTHENTICATED) && !has(UNAUTHENTICATED) {
        groups.push(AUTHENTICATED.to_owned());
    }
    UserInfo::new(name, groups)
}

/// Field paths, as the text report shows defaulted fields, for each leaf a patch sets:
/// `spec.containers[0].securityContext.allowPrivilegeEscalation=false`.
pub fn defaulted_fields(patch: &Value) -> Vec<String> {
    let mut fields = Vec::new();
    for operation in patch.as_array().into_iter().flatten() {
        let Some(pointer) = operation.get("path").and_then(Value::as_str) else {
            continue;
        };
        let path = field_path(pointer);
        match (
            operation.get("op").and_then(Value::as_str),
            operation.get("value"),
        ) {
            (Some("add" | "replace"), Some(value)) => leaves(&path, value, &mut fields),
            (Some("remove"), _) => fields.push(format!("{path} removed")),
            _ => {}
        }
    }
    fields
}

fn leaves(path: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(members) if !members.is_empty() => {
            for (key, member) in members {
                leaves(&child(path, key), member, out);
            }
        }
        Value::String(text) => out.push(format!("{path}={text}")),
        _ => out.push(format!("{path}={value}")),
    }
}

/// A JSON pointer as a field path: `/spec/containers/0/name` → `spec.containers[0].name`.
fn field_path(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .fold(String::new(), |path, token| child(&path, &token))
}

/// `path` extended by a member or index, written as apimachinery writes field paths: indexes
/// and keys that are not plain names (annotation keys) in brackets.
fn child(path: &str, token: &str) -> String {
    let plain = token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !token.chars().all(|c| c.is_ascii_digit());
    match (path.is_empty(), plain) {
        (true, _) => token.to_owned(),
        (false, true) => format!("{path}.{token}"),
        (false, false) => format!("{path}[{token}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_pods_are_created_by_their_controller() {
        let replicaset = controller_user(WorkloadKind::Deployment);
        assert_eq!(
            replicaset.name,
            "system:serviceaccount:kube-system:replicaset-controller"
        );
        assert_eq!(
            replicaset.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
                "system:authenticated"
            ]
        );
        assert_eq!(
            controller_user(WorkloadKind::CronJob).name,
            "system:serviceaccount:kube-system:job-controller"
        );
        assert_eq!(
            controller_user(WorkloadKind::PodTemplate),
            UserInfo::default()
        );
    }

    #[test]
    fn impersonated_users_are_completed_like_the_api_server_does() {
        assert_eq!(requesting_user(None, &[]), UserInfo::default());
        assert_eq!(
            requesting_user(Some("jane"), &[]),
            UserInfo::new("jane", ["system:authenticated"])
        );
        assert_eq!(
            requesting_user(Some("jane"), &["system:authenticated".into()]),
            UserInfo::new("jane", ["system:authenticated"])
        );
        assert_eq!(
            requesting_user(Some("system:serviceaccount:ci:deployer"), &[]),
            UserInfo::new(
                "system:serviceaccount:ci:deployer",
                [
                    "system:serviceaccounts",
                    "system:serviceaccounts:ci",
                    "system:authenticated"
                ]
            )
        );
        assert_eq!(
            requesting_user(Some("system:anonymous"), &[]),
            UserInfo::new("system:anonymous", ["system:unauthenticated"])
        );
    }

    #[test]
    fn patches_of_templates_point_into_the_object() {
        let patch = json!([{"op": "add", "path": "/spec/securityContext", "value": {}}]);
        assert_eq!(
            rebase_patch(patch, "/spec/template"),
            json!([{"op": "add", "path": "/spec/template/spec/securityContext", "value": {}}])
        );
    }

    #[test]
    fn defaulted_fields_are_the_leaves_the_patch_sets() {
        let patch = json!([
            {"op": "add", "path": "/metadata/annotations",
             "value": {"kubernetes.io/psp": "restricted"}},
            {"op": "add", "path": "/spec/securityContext",
             "value": {"fsGroup": 1, "supplementalGroups": [1]}},
            {"op": "add", "path": "/spec/containers/0/securityContext",
             "value": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}},
        ]);
        assert_eq!(
            defaulted_fields(&patch),
            vec![
                "metadata.annotations[kubernetes.io/psp]=restricted",
                "spec.securityContext.fsGroup=1",
                "spec.securityContext.supplementalGroups=[1]",
                "spec.containers[0].securityContext.allowPrivilegeEscalation=false",
                "spec.containers[0].securityContext.capabilities.drop=[\"ALL\"]",
            ]
        );
    }
}
