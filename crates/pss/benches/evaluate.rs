//! Evaluation speed over upstream's conformance pods (`../shared/conformance/pss`).
//!
//! `cargo bench -p podsec-pss --bench evaluate` reports, per pod:
//! - `evaluate_decoded`: the checks alone at `restricted:latest` (target ≤ 0.5 µs);
//! - `decode_and_evaluate`: JSON bytes → lean pod view on the fast JSON path (`podsec_pss::json`,
//!   what the webhook and the CLI use) → checks;
//! - `skip_json`: `serde_json` merely skipping the same bytes (`IgnoredAny`), the yardstick for
//!   the previous line (target ≤ 2×);
//! - for comparison: `decode_only` (the fast path alone), and `serde_decode_and_evaluate`,
//!   `serde_decode_only`, `serde_decode_value` (serde's derives, and a full `serde_json::Value`).

use std::hint::black_box;

use divan::counter::ItemsCount;
use podsec_pss::evaluate;

/// The allocator of the `podsec` binary and of the webhook: decoding and evaluating allocate,
/// so the figures are those of the product.
#[global_allocator]
static GLOBAL: podsec_alloc::Allocator = podsec_alloc::Allocator;

mod common;

use common::{Pod, RESTRICTED_LATEST, pods_as_json};

fn decoded() -> Vec<Pod> {
    pods_as_json()
        .iter()
        .map(|bytes| serde_json::from_slice(bytes).expect("lean decode"))
        .collect()
}

#[divan::bench]
fn evaluate_decoded(bencher: divan::Bencher) {
    let pods = decoded();
    bencher.counter(ItemsCount::new(pods.len())).bench(|| {
        for pod in &pods {
            black_box(evaluate(RESTRICTED_LATEST, &pod.metadata, &pod.spec));
        }
    });
}

#[divan::bench]
fn serde_decode_and_evaluate(bencher: divan::Bencher) {
    let pods = pods_as_json();
    bencher.counter(ItemsCount::new(pods.len())).bench(|| {
        for bytes in pods {
            let pod: Pod = serde_json::from_slice(black_box(bytes)).expect("lean decode");
            black_box(evaluate(RESTRICTED_LATEST, &pod.metadata, &pod.spec));
        }
    });
}

#[divan::bench]
fn decode_and_evaluate(bencher: divan::Bencher) {
    let pods = pods_as_json();
    bencher
        .counter(ItemsCount::new(pods.len()))
        .bench(|| common::decode_and_evaluate(pods));
}

#[divan::bench]
fn decode_only(bencher: divan::Bencher) {
    let pods = pods_as_json();
    bencher.counter(ItemsCount::new(pods.len())).bench(|| {
        for bytes in pods {
            let pod: Pod = podsec_pss::json::from_slice(black_box(bytes)).expect("fast decode");
            black_box(pod);
        }
    });
}

#[divan::bench]
fn skip_json(bencher: divan::Bencher) {
    let pods = pods_as_json();
    bencher
        .counter(ItemsCount::new(pods.len()))
        .bench(|| common::skip_json(pods));
}

fn main() {
    divan::main();
}

#[divan::bench]
fn serde_decode_only(bencher: divan::Bencher) {
    let pods = pods_as_json();
    bencher.counter(ItemsCount::new(pods.len())).bench(|| {
        for bytes in pods {
            let pod: Pod = serde_json::from_slice(black_box(bytes)).expect("lean decode");
            black_box(pod);
        }
    });
}

#[divan::bench]
fn serde_decode_value(bencher: divan::Bencher) {
    let pods = pods_as_json();
    bencher.counter(ItemsCount::new(pods.len())).bench(|| {
        for bytes in pods {
            let pod: serde_json::Value = serde_json::from_slice(black_box(bytes)).expect("value");
            black_box(pod);
        }
    });
}
