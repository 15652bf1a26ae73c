//! `podsec serve` without the rest of the CLI: the same flags, the same [`podsec_server::run`].
//! The integration tests and `bench/webhook-load.sh` run this binary.
//!
//!     cargo run --release -p podsec-server --example serve -- --help

use clap::Parser;

/// The allocator of the `podsec` binary (crates/cli/src/main.rs), so that the benchmark and
/// the tests measure what is shipped: mimalloc, with which a review executes about 7% fewer
/// instructions than with glibc's malloc.
#[global_allocator]
static ALLOCATOR: podsec_alloc::Allocator = podsec_alloc::Allocator;

#[derive(Parser)]
#[command(name = "podsec-serve")]
struct Cli {
    #[command(flatten)]
    serve: podsec_server::ServeArgs,
}

fn main() -> std::process::ExitCode {
    match podsec_server::run(Cli::parse().serve) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
