//! The ratio the `decode_and_evaluate` target is stated in, measured in pairs.
//!
//! `cargo bench -p podsec-pss --bench ratio` times, in each of 40 rounds, decoding and evaluating
//! every conformance pod at `restricted:latest` on the fast JSON path and `serde_json` merely
//! skipping the same bytes (`IgnoredAny`), back to back and in alternating order, and prints the
//! median of the rounds' ratios (target ≤ 2) with the lowest and highest.
//!
//! Why pairs: `cargo bench --bench evaluate` measures the two one after the other, seconds
//! apart, and on a shared virtual machine their speed drifts by ±10% over seconds, so the ratio
//! of two separate medians moves with it. Within a round both run under the same conditions.

use std::time::{Duration, Instant};

/// The allocator of the `podsec` binary and of the webhook, as in the `evaluate` bench.
#[global_allocator]
static GLOBAL: podsec_alloc::Allocator = podsec_alloc::Allocator;

mod common;

use common::{decode_and_evaluate, pods_as_json, skip_json};

/// Even, so that each side goes first equally often.
const ROUNDS: usize = 40;
/// Passes over all the pods per timing: long enough (about 10 ms) that the timer's own cost
/// and resolution do not matter.
const PASSES: u32 = 4;

fn time(run: impl Fn()) -> Duration {
    let started = Instant::now();
    for _ in 0..PASSES {
        run();
    }
    started.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, once, as a check.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let pods = pods_as_json();
    let per_pod = |d: Duration| d.as_secs_f64() * 1e9 / f64::from(PASSES) / pods.len() as f64;
    // Warm caches, the allocator's, and the CPU's frequency.
    for _ in 0..if quick { 1 } else { 10 } {
        decode_and_evaluate(pods);
        skip_json(pods);
    }
    let rounds = if quick { 1 } else { ROUNDS };
    let (mut ratios, mut ours, mut yardstick) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = time(|| decode_and_evaluate(pods));
            (a, time(|| skip_json(pods)))
        } else {
            let b = time(|| skip_json(pods));
            (time(|| decode_and_evaluate(pods)), b)
        };
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
        ours.push(per_pod(a));
        yardstick.push(per_pod(b));
    }
    let (low, high) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    println!(
        "{} pods, {rounds} paired rounds: decode_and_evaluate {:.0} ns/pod, skip_json {:.0} ns/pod (medians)",
        pods.len(),
        median(&mut ours),
        median(&mut yardstick),
    );
    let verdict = if quick {
        "a quick check of the harness, not a measurement: run it with `cargo bench`"
    } else {
        "target <= 2"
    };
    println!(
        "ratio decode_and_evaluate / skip_json: median {:.2} (lowest {low:.2}, highest {high:.2}; {verdict})",
        median(&mut ratios),
    );
}
