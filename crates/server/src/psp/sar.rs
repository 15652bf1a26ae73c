//! `use` of a policy decided by the API server: one SubjectAccessReview
//! (`authorization.k8s.io/v1`) per identity, API group and policy, exactly the attributes the
//! in-tree plugin authorized (`verb=use`, `group=policy` then `extensions`,
//! `resource=podsecuritypolicies`, the policy's name, the pod's namespace), so PSP-era RBAC keeps
//! working although the resource no longer exists.
//!
//! Answers are cached for a short time (`--psp-sar-cache-ttl`, bounded in size): a controller
//! creating a burst of pods asks the same questions many times per second. Errors are not
//! cached, and count as "not allowed" like the in-tree plugin's authorizer errors did.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use podsec_psp::admission::AccessCheck;
use podsec_psp::authorizer::{POLICY_RESOURCE, USE_VERB};
use tokio::time::Instant;

/// How long an answer is reused by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);
/// Most answers kept: enough for every identity × policy of a busy cluster within the TTL,
/// small enough (a few hundred bytes each) not to matter.
pub const CACHE_CAPACITY: usize = 4096;

/// Who asks: the requesting user (with the uid and extra of `request.userInfo`) or a pod's
/// service account (name and groups only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Subject {
    pub user: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    subject: Subject,
    check: AccessCheck,
}

/// SubjectAccessReviews with a TTL cache.
pub struct SarAuthorizer {
    client: kube::Client,
    ttl: Duration,
    cache: Mutex<HashMap<CacheKey, (bool, Instant)>>,
}

impl SarAuthorizer {
    pub fn new(client: kube::Client, ttl: Duration) -> Self {
        SarAuthorizer {
            client,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `subject` may `use` the policy named in `check`: from the cache, else by a
    /// SubjectAccessReview.
    pub async fn allowed(
        &self,
        subject: &Subject,
        check: &AccessCheck,
    ) -> Result<bool, kube::Error> {
        let key = CacheKey {
            subject: subject.clone(),
            check: check.clone(),
        };
        let now = Instant::now();
        if let Some((allowed, expires)) = self.lock().get(&key)
            && *expires > now
        {
            return Ok(*allowed);
        }
        let allowed = self.review(subject, check).await?;
        if !self.ttl.is_zero() {
            self.insert(key, allowed, Instant::now() + self.ttl);
        }
        Ok(allowed)
    }

    async fn review(&self, subject: &Subject, check: &AccessCheck) -> Result<bool, kube::Error> {
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(subject.user.clone()),
                uid: (!subject.uid.is_empty()).then(|| subject.uid.clone()),
                groups: Some(subject.groups.clone()),
                extra: (!subject.extra.is_empty()).then(|| subject.extra.clone()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(USE_VERB.to_owned()),
                    group: Some(check.api_group.clone()),
                    version: Some("*".to_owned()),
                    resource: Some(POLICY_RESOURCE.to_owned()),
                    name: Some(check.policy.clone()),
                    namespace: Some(check.namespace.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api.create(&PostParams::default(), &review).await?;
        Ok(answer.status.is_some_and(|status| status.allowed))
    }

    fn insert(&self, key: CacheKey, allowed: bool, expires: Instant) {
        let mut cache = self.lock();
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(&key) {
            let now = Instant::now();
            cache.retain(|_, (_, expires)| *expires > now);
            // Still full of live answers: drop the one closest to expiry.
            if cache.len() >= CACHE_CAPACITY
                && let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(key, _)| key.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(key, (allowed, expires));
    }

    // Every critical section is a single map operation: poisoning cannot leave it inconsistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, (bool, Instant)>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorizer() -> SarAuthorizer {
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        SarAuthorizer::new(kube::Client::new(service, "default"), DEFAULT_TTL)
    }

    fn key(n: usize) -> CacheKey {
        CacheKey {
            subject: Subject {
                user: format!("user-{n}"),
                ..Subject::default()
            },
            check: AccessCheck {
                api_group: "policy".into(),
                policy: "p".into(),
                namespace: "ns".into(),
            },
        }
    }

    #[tokio::test]
    async fn cache_stays_bounded_and_evicts_expired_answers_first() {
        let sar = authorizer();
        let now = Instant::now();
        sar.insert(key(0), true, now - Duration::from_secs(1));
        for n in 1..CACHE_CAPACITY {
            sar.insert(key(n), true, now + Duration::from_secs(10 + n as u64));
        }
        assert_eq!(sar.lock().len(), CACHE_CAPACITY);
        // Full: the expired answer goes first.
        sar.insert(key(CACHE_CAPACITY), false, now + Duration::from_secs(60));
        assert_eq!(sar.lock().len(), CACHE_CAPACITY);
        assert!(!sar.lock().contains_key(&key(0)));
        // Full of live answers: the one closest to expiry goes.
        sar.insert(
            key(CACHE_CAPACITY + 1),
            false,
            now + Duration::from_secs(60),
        );
        assert_eq!(sar.lock().len(), CACHE_CAPACITY);
        assert!(!sar.lock().contains_key(&key(1)));
        assert!(sar.lock().contains_key(&key(2)));
    }

    #[tokio::test]
    async fn cached_answers_are_used_without_asking() {
        // The mock's handle is dropped: any request would fail, so an answer proves the cache.
        let sar = authorizer();
        let key = key(7);
        sar.insert(key.clone(), true, Instant::now() + Duration::from_secs(5));
        let allowed = sar.allowed(&key.subject, &key.check).await.expect("cached");
        assert!(allowed);
    }
}
