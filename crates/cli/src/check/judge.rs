//! Judging one object: which policy applies, whether an exemption does, and the verdict of each
//! mode, in the order upstream Pod Security Admission decides them (spec §5.2–§5.5); then, when
//! it is on, PodSecurityPolicy admission ([`super::psp`]).

use std::cell::RefCell;
use std::collections::BTreeMap;

use podsec_admission::admit::evaluate_pod;
use podsec_admission::config::Exemptions;
use podsec_admission::object::Body;
use podsec_admission::policy::{ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL, Mode};
use podsec_admission::{ModeEvaluation, Object, Policy, WorkloadKind};
use podsec_pss::{Evaluator, LevelVersion};
use serde_json::Value;

use super::psp::{PspAdmission, ReviewRequest, controller_user};
use super::state::{ClusterState, is_cluster_state};
use crate::report::{
    Decision, EvaluationReport, ObjectReport, PolicyReport, PolicySource, PssEvaluation,
    ViolationReport,
};

/// Everything the verdicts depend on besides the object.
pub struct Judge<'a> {
    pub evaluator: Evaluator,
    /// `--level`/`--version`, when given.
    pub forced: Option<LevelVersion>,
    /// The defaults labels are resolved against: `--config`'s, else privileged (upstream's).
    pub label_defaults: Policy,
    /// The policy for namespaces without labels, and where it comes from.
    pub unlabelled: Policy,
    pub unlabelled_source: PolicySource,
    pub exemptions: Exemptions,
    pub user: Option<&'a str>,
    pub default_namespace: &'a str,
    pub state: &'a ClusterState,
    /// PodSecurityPolicy admission, when on.
    pub psp: Option<PspAdmission<'a>>,
    /// [`Judge::policy_for`] by namespace: the same for every object, and resolving labels
    /// costs allocations. Holds at most one entry per namespace of the cluster state, and one
    /// for `--level`.
    pub policies: RefCell<BTreeMap<String, PolicyFor>>,
}

/// The policy in force in a namespace, where it came from, and invalid-label errors.
type PolicyFor = (Policy, PolicySource, Vec<String>);

/// Where an object was found.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    pub source: &'a str,
    pub document: usize,
    /// The position in a list: the item's index in the document's list, then in the list that
    /// item is, and so on; empty outside lists.
    pub item: &'a [usize],
}

impl Judge<'_> {
    /// Whether [`Judge::judge`] needs the document as a [`Value`] too: when PodSecurityPolicy
    /// admission is on and the document holds a pod.
    pub fn needs_json(&self, object: &Object) -> bool {
        self.psp.is_some()
            && match &object.body {
                Body::List(items) => items.iter().any(|item| self.needs_json(item)),
                _ => object.workload.is_some(),
            }
    }

    /// The reports for an object: none for cluster state, one per item for lists. `json` is the
    /// same document as a [`Value`], when [`Judge::needs_json`] says so. `request`: what the
    /// AdmissionRequest that carries the object says (`None` for a manifest).
    pub fn judge(
        &self,
        object: &Object,
        json: Option<&Value>,
        request: Option<&ReviewRequest>,
        at: Location<'_>,
        out: &mut impl FnMut(ObjectReport),
    ) {
        if let Body::List(items) = &object.body {
            let mut path = at.item.to_vec();
            for (i, item) in items.iter().enumerate() {
                path.push(i);
                self.judge(
                    item,
                    json.and_then(|list| list.get("items")?.get(i)),
                    request,
                    Location { item: &path, ..at },
                    out,
                );
                path.pop();
            }
            return;
        }
        if is_cluster_state(object) {
            return;
        }
        // The user of a request in the input is the request's; of a manifest, `--as`.
        let requester = match request {
            Some(request) => Some(request.user.name.as_str()),
            None => self.user,
        };
        let mut report = self.judge_one(object, requester, at);
        if let (Some(psp), Some(json), Some(workload), Some(namespace)) = (
            &self.psp,
            json,
            object.workload,
            report.namespace.as_deref(),
        ) && report.decision != Decision::Skipped
        {
            // A Pod in an AdmissionRequest is admitted as the request says; the pods of a
            // template are still created by its controller, whatever request carried it.
            let evaluation = match request {
                Some(request) if workload == WorkloadKind::Pod => {
                    psp.evaluate_request(json, namespace, request)
                }
                _ => Some(psp.evaluate(json, workload, namespace)),
            };
            if let Some(evaluation) = evaluation {
                if !evaluation.allowed {
                    report.decision = Decision::Denied;
                }
                report.evaluations.push(EvaluationReport::Psp(evaluation));
            }
        }
        out(report);
    }

    /// The Pod Security Standards verdict of `object`, requested by `requester`.
    fn judge_one(
        &self,
        object: &Object,
        requester: Option<&str>,
        at: Location<'_>,
    ) -> ObjectReport {
        let mut report = ObjectReport {
            source: at.source.to_owned(),
            document: at.document,
            item: at.item.first().copied(),
            item_path: (at.item.len() > 1).then(|| at.item.to_vec()),
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
            namespace: None,
            name: object.metadata.name().map(str::to_owned),
            generate_name: object.metadata.generate_name().map(str::to_owned),
            decision: Decision::Skipped,
            reason: None,
            template_path: object.template_path(),
            policy: None,
            evaluations: Vec::new(),
        };
        let namespace = object
            .metadata
            .namespace()
            .filter(|ns| !ns.is_empty())
            .unwrap_or(self.default_namespace);
        report.namespace = Some(namespace.to_owned());
        let Some(workload) = object.workload else {
            // Only workloads land in the default namespace; other kinds may be cluster-scoped,
            // so they show the namespace they name, if any.
            report.namespace = object
                .metadata
                .namespace()
                .filter(|ns| !ns.is_empty())
                .map(str::to_owned);
            report.reason = Some(if object.kind.is_empty() {
                "not a Kubernetes object: it has no kind".to_owned()
            } else if let Some(kind) = podsec_admission::WorkloadKind::from_kind(&object.kind) {
                // A custom resource that borrows a workload's kind name.
                format!(
                    "{} {} is not the Kubernetes {kind}, whose API group is {:?}",
                    object.api_version,
                    object.kind,
                    kind.group()
                )
            } else {
                format!("{} {} has no pod template", object.api_version, object.kind)
            });
            return report;
        };
        let Some(pod) = object.pod() else {
            report.reason = Some(format!("this {} has no pod template", object.kind));
            return report;
        };
        if !object.has_pod_spec {
            // Judging the empty pod it decodes to would report a typo as allowed.
            report.reason = Some(format!(
                "this {} has no pod spec at {}",
                object.kind,
                workload.spec_path()
            ));
            return report;
        }

        let (policy, source, errors) = self.cached_policy_for(namespace);
        report.policy = Some(PolicyReport {
            enforce: policy.enforce.to_string(),
            audit: policy.audit.to_string(),
            warn: policy.warn.to_string(),
            source,
            errors: errors.clone(),
        });

        if self.exemptions.namespace(namespace) {
            return exempt(report, "namespace");
        }
        let is_pod = workload == podsec_admission::WorkloadKind::Pod;
        // A user exemption covers the requests that user makes: a Pod, or a controller's own
        // warn and audit. The controller's pods are requested by the controller's service
        // account ([`controller_user`]): their enforce verdict stands unless that is exempt.
        let user_exempt = requester.is_some_and(|user| self.exemptions.username(user));
        let pods_exempt = !is_pod && self.exemptions.username(&controller_user(workload).name);
        if user_exempt && (is_pod || pods_exempt) {
            return exempt(report, "user");
        }
        // Upstream's short cut: a valid, fully privileged policy evaluates nothing, not even
        // the runtimeClass exemption.
        if !(errors.is_empty() && policy.fully_privileged())
            && pod
                .spec
                .runtime_class_name
                .as_deref()
                .is_some_and(|rc| self.exemptions.runtime_class(rc))
        {
            return exempt(report, "runtimeClass");
        }

        let mut modes = if user_exempt {
            Vec::new()
        } else {
            evaluate_pod(&self.evaluator, &policy, pod.metadata, pod.spec, is_pod)
        };
        if !is_pod && !pods_exempt {
            // Upstream never denies a controller; podsec judges its pods as they would be
            // judged when the controller creates them: with the API server's defaulting of
            // Pods, which templates do not get (hostPort). Warn usually follows enforce, so its
            // result is reused rather than computed twice when the two pods are the same.
            let created = pod.spec.lacks_host_port_defaults().then(|| {
                let mut created = pod.spec.clone();
                created.apply_host_port_defaults();
                created
            });
            let evaluation = match (&created, modes.iter().find(|m| m.policy == policy.enforce)) {
                (None, Some(same)) => same.evaluation.clone(),
                (created, _) => self.evaluator.evaluate(
                    policy.enforce,
                    pod.metadata,
                    created.as_ref().unwrap_or(pod.spec),
                ),
            };
            modes.insert(
                0,
                ModeEvaluation {
                    mode: Mode::Enforce,
                    policy: policy.enforce,
                    evaluation,
                },
            );
        }
        let enforce_allowed = modes
            .iter()
            .find(|m| m.mode == Mode::Enforce)
            .is_none_or(|m| m.evaluation.allowed());
        report.decision = if enforce_allowed {
            Decision::Allowed
        } else {
            Decision::Denied
        };
        report.evaluations = modes
            .iter()
            .map(|m| EvaluationReport::Pss(evaluation_report(m)))
            .collect();
        if user_exempt {
            // Only the enforce verdict of the controller's pods was judged.
            report.reason = Some("user".to_owned());
        } else if pods_exempt {
            // The pods are exempt (the controller's service account is an exempt user): there
            // is no enforce verdict, and an allowed violating workload would otherwise say
            // nothing of why.
            report.reason = Some("controller".to_owned());
        }
        report
    }

    /// [`Judge::policy_for`], remembered for namespaces of the cluster state and `--level`.
    fn cached_policy_for(&self, namespace: &str) -> PolicyFor {
        // Namespaces the input does not define all get the same answer: not worth a map entry
        // each, as there may be as many of them as objects.
        let key = match (self.forced, self.state.namespace_labels(namespace)) {
            (Some(_), _) => "",
            (None, Some(_)) => namespace,
            (None, None) => return self.policy_for(namespace),
        };
        if let Some(known) = self.policies.borrow().get(key) {
            return known.clone();
        }
        let answer = self.policy_for(namespace);
        self.policies
            .borrow_mut()
            .insert(key.to_owned(), answer.clone());
        answer
    }

    /// The policy in force in `namespace`, where it came from, and invalid-label errors.
    fn policy_for(&self, namespace: &str) -> PolicyFor {
        if let Some(forced) = self.forced {
            let mut labels = BTreeMap::new();
            labels.insert(ENFORCE_LEVEL_LABEL.to_owned(), forced.level.to_string());
            labels.insert(ENFORCE_VERSION_LABEL.to_owned(), forced.version.to_string());
            let (policy, _) = Policy::from_labels(&labels, self.label_defaults);
            return (policy, PolicySource::Flag, Vec::new());
        }
        let labels = self.state.namespace_labels(namespace);
        // Only the six policy labels make a namespace labelled: any other key (a typo such as
        // `enfroce`, or another `pod-security.kubernetes.io/…` label) resolves to nothing
        // upstream, so the namespace stays under the defaults of unlabelled namespaces.
        let labelled = labels.is_some_and(|labels| {
            [Mode::Enforce, Mode::Audit, Mode::Warn].iter().any(|mode| {
                let (level, version) = mode.labels();
                labels.contains_key(level) || labels.contains_key(version)
            })
        });
        match labels {
            Some(labels) if labelled => {
                let (policy, errors) = Policy::from_labels(labels, self.label_defaults);
                let errors = errors.iter().map(ToString::to_string).collect();
                (policy, PolicySource::NamespaceLabels, errors)
            }
            _ => (self.unlabelled, self.unlabelled_source, Vec::new()),
        }
    }
}

fn exempt(mut report: ObjectReport, why: &str) -> ObjectReport {
    report.decision = Decision::Exempt;
    report.reason = Some(why.to_owned());
    report
}

fn evaluation_report(m: &ModeEvaluation) -> PssEvaluation {
    let allowed = m.evaluation.allowed();
    PssEvaluation {
        mode: m.mode.as_str(),
        level: m.policy.level.as_str(),
        version: m.policy.version.to_string(),
        allowed,
        violations: m
            .evaluation
            .violations
            .iter()
            .map(|v| ViolationReport {
                check: v.check,
                reason: v.reason.to_string(),
                detail: v.detail.clone(),
            })
            .collect(),
        message: (!allowed).then(|| m.message()),
    }
}
