//! What one review costs inside the webhook, without TLS or HTTP: decode the AdmissionReview,
//! decide, record metrics, encode the answer ([`podsec_server::admit::Admitter::review`]), in a
//! loop on one thread. Explains the gap between `podsec serve` and the baseline in
//! `bench/webhook-load.sh`.
//!
//! It also times `serde_json` merely validating the same body (`IgnoredAny`, what the
//! benchmark's `baseline --validate` does per request) in alternating rounds, and prints the
//! review's cost as a multiple of that: on a shared VM whose speed drifts by ±10% over seconds,
//! a ratio measured in pairs is the steadier figure.
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

        // Paired rounds, alternating which goes first.
        let per_round = (n / PAIRED_ROUNDS).max(1);
        let (mut reviews, mut skips) = (Vec::new(), Vec::new());
        for round in 0..PAIRED_ROUNDS {
            let time_reviews = async {
                let started = Instant::now();
                for _ in 0..per_round {
                    std::hint::black_box(admitter.review(std::hint::black_box(&body), None).await?);
                }
                anyhow::Ok(started.elapsed().as_secs_f64() / f64::from(per_round) * 1e6)
            };
            let time_skips = || {
                let started = Instant::now();
                for _ in 0..per_round {
                    let skipped = serde_json::from_slice::<serde::de::IgnoredAny>(
                        std::hint::black_box(&body),
                    );
                    std::hint::black_box(skipped.is_ok());
                }
                started.elapsed().as_secs_f64() / f64::from(per_round) * 1e6
            };
            if round % 2 == 0 {
                reviews.push(time_reviews.await?);
                skips.push(time_skips());
            } else {
                skips.push(time_skips());
                reviews.push(time_reviews.await?);
            }
        }
        let ratios: Vec<f64> = reviews.iter().zip(&skips).map(|(r, s)| r / s).collect();
        println!(
            "serde_json validating the same body (IgnoredAny): {:.2} us; review / validation: \
             median {:.2} over {PAIRED_ROUNDS} paired rounds",
            median(skips),
            median(ratios)
        );
        Ok(())
    })
}

/// Rounds of the paired comparison; even, so that each side goes first equally often.
const PAIRED_ROUNDS: u32 = 20;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
