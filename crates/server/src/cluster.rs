//! The live cluster through kube-rs: a namespace watcher feeding [`NamespaceCache`], a live
//! namespace GET for names the cache does not know yet, and the paged pod listing that a
//! namespace relabel checks existing pods with.
//!
//! The watcher lists (pages of 500) and then watches namespace *metadata* only, and keeps only
//! the Pod Security labels. When the watch breaks it backs off and re-lists; until the new
//! listing is complete the previous state keeps answering, so an unreachable API server does
//! not stop admission. The backoff ([`WatchRetry`]) grows through an outage as client-go's
//! reflector's does, and is reset only by an answer from the API server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use kube::core::{ObjectList, PartialObjectMeta, Request};
use kube::runtime::utils::Backoff as _;
use kube::runtime::watcher::{self, DefaultBackoff, Event};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::state::{CachedNamespace, NamespaceCache, PsaLabels, psa_labels};

/// Page size of every list request: the API server's recommended chunk for large lists.
pub const PAGE_SIZE: u32 = 500;

/// Why a namespace's labels could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The first complete namespace listing has not arrived yet.
    #[error("the namespace cache has not synced with the API server yet")]
    NotSynced,
    /// Neither the cache nor the API server knows the namespace (upstream's NotFound text).
    #[error("namespaces \"{0}\" not found")]
    NotFound(String),
    #[error(transparent)]
    Api(#[from] kube::Error),
    #[error("timed out waiting for the API server")]
    Timeout,
}

/// Why the pods of a namespace could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Api(#[from] kube::Error),
    /// (The cause is in the message, so it is not also a `source()`, which chains repeat.)
    #[error("building the list request: {0}")]
    Request(kube::core::request::Error),
    #[error("invalid namespace name {0:?}")]
    InvalidNamespace(String),
    #[error("deadline exceeded while listing pods")]
    Timeout,
    /// The task the listing ran on panicked (a bug).
    #[error("the pod listing failed: {0}")]
    Task(String),
}

/// Namespace labels and pods from the API server.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    cache: Arc<NamespaceCache>,
}

impl Cluster {
    pub fn new(client: kube::Client, cache: Arc<NamespaceCache>) -> Self {
        Cluster { client, cache }
    }

    /// The namespace `name` (its labels): from the cache, or, for a namespace created after the
    /// last event the watcher delivered, from a live GET bounded by `deadline` (not cached: the
    /// watcher delivers it soon).
    pub async fn namespace(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<Arc<CachedNamespace>, LookupError> {
        if !self.cache.is_synced() {
            return Err(LookupError::NotSynced);
        }
        if let Some(namespace) = self.cache.get(name) {
            return Ok(namespace);
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        match tokio::time::timeout_at(deadline, api.get_metadata_opt(name)).await {
            Err(_) => Err(LookupError::Timeout),
            Ok(Err(e)) => Err(LookupError::Api(e)),
            Ok(Ok(None)) => Err(LookupError::NotFound(name.to_owned())),
            Ok(Ok(Some(ns))) => Ok(Arc::new(CachedNamespace::new(psa_labels(
                &ns.metadata.labels.unwrap_or_default(),
            )))),
        }
    }

    /// Every pod of `namespace`, decoded straight into `T` (a lean view: the listing of a big
    /// namespace never exists as full objects), following continue tokens until the last page
    /// or `deadline`.
    pub async fn list_pods<T>(
        &self,
        namespace: &str,
        deadline: Instant,
    ) -> Result<Vec<T>, ListError>
    where
        T: DeserializeOwned + Clone,
    {
        // The name ends up in a URL path; the API server only ever sends DNS labels here.
        if namespace.is_empty()
            || !namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ListError::InvalidNamespace(namespace.to_owned()));
        }
        let request = Request::new(format!("/api/v1/namespaces/{namespace}/pods"));
        let mut pods = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(PAGE_SIZE);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let page: ObjectList<T> = tokio::time::timeout_at(
                deadline,
                self.client
                    .request(request.list(&params).map_err(ListError::Request)?),
            )
            .await
            .map_err(|_| ListError::Timeout)??;
            pods.extend(page.items);
            match page.metadata.continue_ {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(pods),
            }
        }
    }
}

/// When a kube-runtime watcher that failed is polled again, and whether an outage began or
/// ended.
///
/// kube-runtime's `default_backoff()` resets its backoff on any `Ok` item, and the watcher
/// yields `Ok(Event::Init)` before every re-list, before it has asked the API server
/// anything: during an outage the delay never grew past its first step, and every retry
/// looked like a recovery. Here only an answer from the API server counts: a complete listing
/// (`InitDone`) or a watch event. The delays are kube-rs's [`DefaultBackoff`], client-go's
/// reflector's: 800ms doubling up to 30s, each lengthened by up to 100% at random, and
/// started over after two minutes without a failure (so a watch that comes back without an
/// event to show it, in a quiet cluster, does not keep a long delay for the next outage).
#[derive(Default)]
pub struct WatchRetry {
    backoff: DefaultBackoff,
    /// The latest failure of the outage under way; `None` while the watch is healthy.
    last_failure: Option<Instant>,
}

/// A failure this long after the previous one begins a new outage, even if no answer ended
/// the last: a watch that resumes after its stream broke yields nothing to show it, and in a
/// quiet cluster nothing may follow. An outage fails more often than this (the backoff stays
/// under a minute).
const NEW_OUTAGE_AFTER: Duration = Duration::from_secs(120);

/// What [`WatchRetry::failed`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// How long to wait before polling the watcher again (which retries).
    pub delay: Duration,
    /// The watch was healthy until this failure: the outage begins (worth a warning; the
    /// failures after it are not).
    pub first: bool,
}

impl WatchRetry {
    /// The watcher yielded an error.
    pub fn failed(&mut self) -> Retry {
        let now = Instant::now();
        let first = self
            .last_failure
            .is_none_or(|at| now.duration_since(at) > NEW_OUTAGE_AFTER);
        self.last_failure = Some(now);
        // DefaultBackoff never runs out; the cap stands in should that change.
        let delay = self.backoff.next().unwrap_or(Duration::from_secs(30));
        Retry { delay, first }
    }

    /// The watcher yielded `event`. True when it ends an outage (once per outage).
    pub fn event<K>(&mut self, event: &Event<K>) -> bool {
        match event {
            // Yielded before the API server is asked anything (Init), or mid-listing, which
            // can still fail (InitApply).
            Event::Init | Event::InitApply(_) => false,
            Event::InitDone | Event::Apply(_) | Event::Delete(_) => {
                self.backoff.reset();
                self.last_failure.take().is_some()
            }
        }
    }
}

/// Waits `delay` unless `stop` turns true first; false when stopped.
async fn wait_unless_stopped(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = stop.wait_for(|stopped| *stopped) => false,
    }
}

/// Names a watch in the log lines of [`next_event`].
pub(crate) struct WatchName {
    /// What is watched: `namespace`, `PodSecurityPolicy`.
    pub what: &'static str,
    /// What keeps answering while the watch fails: `state`, `policies`.
    pub serving: &'static str,
}

/// The watcher's next event: errors are logged (a warning when an outage begins, then debug
/// lines) and waited out with `retry`'s backoff, and the end of an outage is logged once.
/// `None` when the watcher ends or `stop` turns true.
pub(crate) async fn next_event<K, S>(
    mut events: std::pin::Pin<&mut S>,
    retry: &mut WatchRetry,
    stop: &mut watch::Receiver<bool>,
    name: &WatchName,
) -> Option<Event<K>>
where
    S: futures::Stream<Item = Result<Event<K>, watcher::Error>>,
{
    loop {
        let event = tokio::select! {
            event = events.try_next() => event,
            _ = stop.wait_for(|stopped| *stopped) => return None,
        };
        match event {
            Ok(event) => {
                if event.as_ref().is_some_and(|event| retry.event(event)) {
                    tracing::info!("{} watch recovered", name.what);
                }
                return event;
            }
            Err(error) => {
                let Retry { delay, first } = retry.failed();
                if first {
                    tracing::warn!(%error, retry_in = ?delay, "{} watch failed; retrying with backoff, answering from the last known {}", name.what, name.serving);
                } else {
                    tracing::debug!(%error, retry_in = ?delay, "{} watch still failing", name.what);
                }
                if !wait_unless_stopped(delay, stop).await {
                    return None;
                }
            }
        }
    }
}

const NAMESPACE_WATCH: WatchName = WatchName {
    what: "namespace",
    serving: "state",
};

/// Keeps `cache` in step with the cluster's namespaces until `stop` turns true. Errors are
/// logged and retried with backoff ([`WatchRetry`]); the cache keeps serving meanwhile.
pub async fn watch_namespaces(
    client: kube::Client,
    cache: Arc<NamespaceCache>,
    mut stop: watch::Receiver<bool>,
) {
    // Metadata-only requests: labels are all that is read, and specs and statuses stay on the
    // API server.
    let api: Api<PartialObjectMeta<Namespace>> = Api::all(client);
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    // The watcher retries as soon as it is polled after an error; the waiting is done here.
    let events = watcher::watcher(api, config);
    futures::pin_mut!(events);
    // A re-list is collected here and swapped in whole at InitDone, so readers never see a
    // half-listed cluster (and deletions during an outage are noticed).
    let mut relist: Option<HashMap<String, PsaLabels>> = None;
    let mut retry = WatchRetry::default();
    while let Some(event) =
        next_event(events.as_mut(), &mut retry, &mut stop, &NAMESPACE_WATCH).await
    {
        match event {
            Event::Init => relist = Some(HashMap::new()),
            Event::InitApply(ns) => {
                let labels = psa_labels(&ns.metadata.labels.unwrap_or_default());
                if let (Some(map), Some(name)) = (relist.as_mut(), ns.metadata.name) {
                    map.insert(name, labels);
                }
            }
            Event::InitDone => {
                let first = !cache.is_synced();
                cache.replace_all(relist.take().unwrap_or_default());
                if first {
                    tracing::info!(namespaces = cache.len(), "namespace cache synced");
                }
            }
            Event::Apply(ns) => {
                if let Some(name) = ns.metadata.name {
                    cache.upsert(name, psa_labels(&ns.metadata.labels.unwrap_or_default()));
                }
            }
            Event::Delete(ns) => {
                if let Some(name) = ns.metadata.name {
                    cache.remove(&name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event sequence of an outage as kube-runtime's watcher yields it: an `Init` before
    /// every re-list, then the error of the list. Only a complete listing or a watch event
    /// ends it, and only once.
    #[tokio::test(start_paused = true)]
    async fn only_an_answer_from_the_api_server_ends_an_outage() {
        let mut retry = WatchRetry::default();
        let mut delays = Vec::new();
        for attempt in 0..6 {
            assert!(!retry.event(&Event::<()>::Init), "attempt {attempt}");
            let Retry { delay, first } = retry.failed();
            assert_eq!(first, attempt == 0, "attempt {attempt}");
            delays.push(delay);
        }
        for (n, delay) in delays.iter().enumerate() {
            let step = Duration::from_millis(800) * 2u32.pow(n as u32);
            assert!(*delay >= step && *delay <= step * 2, "{delays:?}");
        }
        // A page of the listing is not yet an answer: the listing can still fail.
        assert!(!retry.event(&Event::<()>::Init));
        assert!(!retry.event(&Event::InitApply(())));
        assert!(retry.event(&Event::<()>::InitDone));
        assert!(!retry.event(&Event::<()>::InitDone), "recovered twice");
        let Retry { delay, first } = retry.failed();
        assert!(first);
        assert!(delay <= Duration::from_millis(1600), "not reset: {delay:?}");

        // A watch event ends an outage too.
        retry.failed();
        assert!(retry.event(&Event::Apply(())));
        assert!(retry.failed().first);
        assert!(retry.event(&Event::Delete(())));

        // A watch that came back without an event to show it: the next failure, minutes
        // later, still begins an outage (and is warned about).
        assert!(retry.failed().first);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(!retry.failed().first);
        tokio::time::advance(Duration::from_secs(180)).await;
        assert!(retry.failed().first);
    }
}
