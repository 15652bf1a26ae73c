//! What one review costs inside the webhook, without TLS or HTTP: decode the AdmissionReview,
//! decide, record metrics, encode the answer ([`podsec_server::admit::Admitter::review`]), in a
//! loop on one thread. Explains the gap between `podsec serve` and the baseline in
//! `bench/webhook-load.sh`.
//!
//!     cargo run --release -p podsec-server --example review_cost -- REVIEW.json NAMESPACES.yaml [N]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use podsec_server::admit::{Admitter, ClusterState};
use podsec_server::metrics::Metrics;
use podsec_server::state::{FileState, NamespaceCache};

/// The allocator of `podsec serve` (crates/cli/src/main.rs, and the `serve` example), so that
/// the figure is what a review costs in the shipped webhook: a review allocates a few dozen
/// times, and glibc's malloc executes noticeably more instructions for that than mimalloc.
#[global_allocator]
static ALLOCATOR: podsec_alloc::Allocator = podsec_alloc::Allocator;

/// CPU time of this process so far, in seconds (user + system, from /proc).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (review, namespaces) = match args.as_slice() {
        [review, namespaces, ..] => (review, namespaces),
        _ => anyhow::bail!("usage: review_cost REVIEW.json NAMESPACES.yaml [N]"),
    };
    let n: u32 = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
    let file = FileState::load(Path::new(namespaces))?;
    let cache = Arc::new(NamespaceCache::new());
    cache.replace_all(file.namespaces.clone());
    let admitter = Admitter::new(
        None,
        ClusterState::File(Arc::new(file)),
        cache,
        Arc::new(Metrics::new()),
    )?;
    let body = std::fs::read(review)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for _ in 0..n / 10 {
            admitter.review(&body, None).await?;
        }
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        for _ in 0..n {
            std::hint::black_box(admitter.review(std::hint::black_box(&body), None).await?);
        }
        let wall = wall.elapsed().as_secs_f64() / f64::from(n) * 1e6;
        let cpu = (cpu_seconds() - cpu) / f64::from(n) * 1e6;
        println!(
            "{review} ({} bytes): {wall:.1} us wall, {cpu:.1} us CPU per review ({n} reviews)",
            body.len()
        );
        Ok(())
    })
}
