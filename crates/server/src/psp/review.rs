//! One pod request through the PSP library: scope, identities, `use` answers resolved ahead
//! (the library's authorizer is synchronous), the phase, and the AdmissionResponse.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt as _;
use podsec_admission::review::{
    AdmissionRequest, AdmissionResponse, Status, UserInfo as ReviewUser,
};
use podsec_psp::admission::{AccessCheck, access_checks};
use podsec_psp::authorizer::POLICY_API_GROUPS;
use podsec_psp::{
    AccessRequest, AdmissionError, Authorizer, MessageStyle, Operation, Outcome, Phase,
    PodSecurityPolicy, RbacAuthorizer, UserInfo,
};
use serde_json::Value;
use tokio::time::Instant;

use super::policies::PolicyStore;
use super::sar::{SarAuthorizer, Subject};

/// Who decides `use`.
pub enum Authorization {
    /// `--rbac-file` / RBAC objects in `--psp-file`.
    Offline(RbacAuthorizer),
    /// SubjectAccessReviews against the API server.
    Cluster(SarAuthorizer),
}

/// PodSecurityPolicy admission: the policies and who may use them.
pub struct Psp {
    store: Arc<PolicyStore>,
    authorization: Authorization,
    style: MessageStyle,
}

/// SubjectAccessReviews in flight at once for one request (a cluster with many policies asks
/// four questions per policy at worst).
const MAX_CONCURRENT_REVIEWS: usize = 16;
/// Time kept in hand after the SubjectAccessReviews for deciding and answering.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

/// The JSON patch type of mutating answers.
const JSON_PATCH: &str = "JSONPatch";

impl Psp {
    pub fn new(store: Arc<PolicyStore>, authorization: Authorization, style: MessageStyle) -> Self {
        Psp {
            store,
            authorization,
            style,
        }
    }

    /// The policies this admission decides with.
    pub fn store(&self) -> &Arc<PolicyStore> {
        &self.store
    }

    /// PSP's answer to `request` in `phase`, or `None` when the request is not its business:
    /// anything but CREATE/UPDATE of core `pods` without a subresource (and UPDATE in the
    /// mutating phase, where the in-tree plugin did nothing).
    pub async fn decide(
        &self,
        request: &AdmissionRequest,
        phase: Phase,
        deadline: Instant,
    ) -> Option<AdmissionResponse> {
        let operation = Operation::of_pod_request(&request.operation, &request.sub_resource)?;
        if (operation == Operation::Update && phase == Phase::Mutating)
            || !request.resource.group.is_empty()
            || request.resource.resource != "pods"
        {
            return None;
        }
        let decode = |raw: Option<&podsec_admission::review::RawJson>| {
            raw.map(|raw| serde_json::from_str::<Value>(raw.get()))
                .transpose()
                .map(|value| value.filter(|value| !value.is_null()))
        };
        let (Ok(Some(pod)), Ok(old_pod)) = (
            decode(request.object.as_ref()),
            decode(request.old_object.as_ref()),
        ) else {
            return Some(forbidden(
                "PodSecurityPolicy: unable to decode the pod".to_owned(),
            ));
        };
        let Some(policies) = self.store.snapshot() else {
            return Some(AdmissionResponse::denied(Status::failure(
                "InternalError",
                500,
                "PodSecurityPolicy: the policies have not been loaded yet",
            )));
        };
        let user = UserInfo::new(
            request.user_info.username.clone(),
            request.user_info.groups.iter().cloned(),
        );
        let psp_request = podsec_psp::AdmissionRequest {
            pod: &pod,
            old_pod: old_pod.as_ref(),
            namespace: &request.namespace,
            user: &user,
            operation,
        };
        let decided = match &self.authorization {
            Authorization::Offline(rbac) => run(phase, &psp_request, &policies, rbac, self.style),
            Authorization::Cluster(sar) => {
                let answers =
                    resolve(sar, &psp_request, &policies, &request.user_info, deadline).await;
                let authorizer = |identity: &UserInfo, access: &AccessRequest<'_>| {
                    let check = AccessCheck {
                        api_group: access.api_group.to_owned(),
                        policy: access.name.to_owned(),
                        namespace: access.namespace.to_owned(),
                    };
                    answers.get(&key(identity, check)).copied().unwrap_or(false)
                };
                run(phase, &psp_request, &policies, &authorizer, self.style)
            }
        };
        Some(match decided {
            Ok(outcome) => respond(&outcome, phase, request),
            Err(error) => forbidden(error.to_string()),
        })
    }
}

fn run(
    phase: Phase,
    request: &podsec_psp::AdmissionRequest<'_>,
    policies: &[PodSecurityPolicy],
    authorizer: &(impl Authorizer + ?Sized),
    style: MessageStyle,
) -> Result<Outcome, AdmissionError> {
    match phase {
        Phase::Mutating => podsec_psp::admit(request, policies, authorizer, style),
        Phase::Validating => podsec_psp::validate(request, policies, authorizer, style),
    }
}

fn respond(outcome: &Outcome, phase: Phase, request: &AdmissionRequest) -> AdmissionResponse {
    for unusable in &outcome.unusable_policies {
        tracing::warn!(policy = %unusable.name, reason = %unusable.reason, "PodSecurityPolicy skipped: it cannot be compiled");
    }
    if !outcome.allowed {
        let message = outcome
            .status_message()
            .unwrap_or_else(|| "PodSecurityPolicy: denied".to_owned());
        return forbidden(message);
    }
    let mut response = AdmissionResponse::allowed();
    if let Some((key, policy)) = outcome.audit_annotation() {
        response
            .audit_annotations
            .insert(key.to_owned(), policy.to_owned());
    }
    if phase == Phase::Mutating && !outcome.patch.0.is_empty() {
        match serde_json::to_vec(&outcome.patch) {
            Ok(patch) => {
                response.patch = Some(patch);
                response.patch_type = Some(JSON_PATCH.to_owned());
            }
            // Cannot happen for a patch of JSON values; failing closed keeps the policy honest.
            Err(error) => {
                tracing::error!(uid = %request.uid, %error, "encoding the PodSecurityPolicy patch");
                return forbidden("PodSecurityPolicy: unable to encode the patch".to_owned());
            }
        }
    }
    response
}

fn forbidden(message: String) -> AdmissionResponse {
    AdmissionResponse::denied(Status::failure("Forbidden", 403, message))
}

/// Every `use` answer the library may ask for, by SubjectAccessReview (cached), concurrently
/// and bounded by `deadline`. The `extensions` group is asked only where `policy` said no, as
/// the library stops at the first yes. Errors and timeouts count as "no", as authorizer
/// errors did in-tree.
async fn resolve(
    sar: &SarAuthorizer,
    request: &podsec_psp::AdmissionRequest<'_>,
    policies: &[PodSecurityPolicy],
    user_info: &ReviewUser,
    deadline: Instant,
) -> HashMap<Key, bool> {
    // Answer before the API server gives up on us, so that a slow authorizer costs the grants
    // it could not confirm rather than the whole request (and failurePolicy).
    let deadline = deadline
        .checked_sub(DEADLINE_MARGIN)
        .filter(|earlier| *earlier > Instant::now())
        .unwrap_or(deadline);
    let mut seen = HashSet::new();
    let checks: Vec<(UserInfo, AccessCheck)> = access_checks(request, policies)
        .into_iter()
        .filter(|(identity, check)| seen.insert(key(identity, check.clone())))
        .collect();
    let subject = |identity: &UserInfo| {
        // The requesting user is asked about with everything the API server told us of it;
        // the pod's service-account identity is synthetic (name and groups only).
        let is_user = identity == request.user;
        Subject {
            user: identity.name.clone(),
            groups: identity.groups.clone(),
            uid: if is_user {
                user_info.uid.clone()
            } else {
                String::new()
            },
            extra: if is_user {
                user_info.extra.clone()
            } else {
                Default::default()
            },
        }
    };
    let mut answers: HashMap<Key, bool> = HashMap::new();
    for (stage, group) in POLICY_API_GROUPS.iter().enumerate() {
        let pending: Vec<&(UserInfo, AccessCheck)> = checks
            .iter()
            .filter(|(identity, check)| {
                check.api_group == *group
                    && (stage == 0 || !allowed_through_earlier_group(&answers, identity, check))
            })
            .collect();
        // Owned futures collected first: a stream borrowing from `pending` through a closure
        // trips the compiler's higher-ranked `Send` inference in the axum handler.
        let reviews: Vec<_> = pending
            .iter()
            .map(|(identity, check)| {
                let subject = subject(identity);
                let check = check.clone();
                async move { tokio::time::timeout_at(deadline, sar.allowed(&subject, &check)).await }
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(reviews)
            .buffered(MAX_CONCURRENT_REVIEWS)
            .collect()
            .await;
        for ((identity, check), result) in pending.into_iter().zip(results) {
            let allowed = match result {
                Ok(Ok(allowed)) => allowed,
                Ok(Err(error)) => {
                    tracing::warn!(user = %identity.name, policy = %check.policy, group = %check.api_group, %error,
                        "SubjectAccessReview failed; counting it as not allowed");
                    false
                }
                Err(_) => {
                    tracing::warn!(user = %identity.name, policy = %check.policy, group = %check.api_group,
                        "SubjectAccessReview timed out; counting it as not allowed");
                    false
                }
            };
            answers.insert(key(identity, check.clone()), allowed);
        }
    }
    answers
}

/// A resolved question: identity (name, groups) and check. The library's `UserInfo` is not
/// hashable, hence the tuple.
type Key = (String, Vec<String>, AccessCheck);

fn key(identity: &UserInfo, check: AccessCheck) -> Key {
    (identity.name.clone(), identity.groups.clone(), check)
}

fn allowed_through_earlier_group(
    answers: &HashMap<Key, bool>,
    identity: &UserInfo,
    check: &AccessCheck,
) -> bool {
    POLICY_API_GROUPS
        .iter()
        .take_while(|group| **group != check.api_group)
        .any(|group| {
            let earlier = AccessCheck {
                api_group: (*group).to_owned(),
                ..check.clone()
            };
            answers
                .get(&key(identity, earlier))
                .copied()
                .unwrap_or(false)
        })
}

/// The validating endpoint's answer: the Pod Security Standards decision and PSP's. Either
/// denial denies (PSS's first, as it was decided first); audit annotations and warnings of
/// both are kept.
pub fn combine(mut pss: AdmissionResponse, psp: AdmissionResponse) -> AdmissionResponse {
    if pss.allowed && !psp.allowed {
        pss.allowed = false;
        pss.status = psp.status;
    }
    pss.audit_annotations.extend(psp.audit_annotations);
    pss.warnings.extend(psp.warnings);
    pss
}
