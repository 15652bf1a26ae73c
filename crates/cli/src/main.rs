//! The `podsec` binary (also installable as `kubectl-podsec`).

mod input;

fn main() {}
