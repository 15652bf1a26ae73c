//! Test support shared by the integration tests: the shared data directory, a future driver
//! and an in-memory cluster.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use podsec_admission::admit::Cluster;
use podsec_admission::object::Pod;
use podsec_admission::policy::{NamespacePolicy, Policy};

/// `../shared` beside the repository, when present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

/// Drives a future whose awaits complete at once (the cluster below never waits).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Every namespace has the same labels; every namespace holds the same pods.
#[derive(Default)]
pub struct StaticCluster {
    pub labels: BTreeMap<String, String>,
    pub pods: Vec<Pod>,
}

impl Cluster for StaticCluster {
    type Error = String;

    fn namespace_policy(
        &self,
        _name: &str,
        defaults: Policy,
    ) -> impl Future<Output = Result<NamespacePolicy, String>> + Send {
        let resolved = NamespacePolicy::resolve(&self.labels, defaults);
        async move { Ok(resolved) }
    }

    fn list_pods(
        &self,
        _namespace: &str,
        _deadline: Instant,
    ) -> impl Future<Output = Result<Vec<Pod>, String>> + Send {
        let pods = self.pods.clone();
        async move { Ok(pods) }
    }
}
