//! The `podsec` binary (also installable as `kubectl-podsec`, so `kubectl podsec …` works).

mod args;
mod check;
mod input;
mod output;
mod psp;
mod report;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use args::{Cli, Command};

/// mimalloc (through podsec-alloc) rather than glibc's malloc: `podsec serve` does a few hundred small allocations
/// per review, and executes about 7% fewer instructions per request with it
/// (bench/webhook-load.sh; see crates/server/examples/serve.rs).
#[global_allocator]
static ALLOCATOR: podsec_alloc::Allocator = podsec_alloc::Allocator;

/// Exit status for usage errors and unreadable input (clap uses it too).
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let mut command = Cli::command();
    // Invoked by kubectl as a plugin: show `kubectl podsec` in usage lines.
    let invoked_as = std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    if invoked_as == "kubectl-podsec" {
        command = command.bin_name("kubectl podsec");
    }
    let cli = match Cli::from_arg_matches_mut(&mut command.clone().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Serve(args) => podsec_server::run(args).map(|()| ExitCode::SUCCESS),
        Command::Psp(command) => psp::run(command),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command, "podsec", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {}", error_chain(&error));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The error and its causes, joined by ": ", each cause said once: the libraries' errors
/// already end with their cause's text (their messages are logged on their own, where no chain
/// is printed), and anyhow's `{:#}` would repeat it.
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.ends_with(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading {path}: {source}")]
    struct ReadError {
        path: &'static str,
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let repeated = anyhow::Error::new(ReadError {
            path: "/x",
            source: io(),
        })
        .context("loading the serving certificate");
        assert_eq!(
            error_chain(&repeated),
            "loading the serving certificate: reading /x: No such file"
        );
        let plain = anyhow::Error::new(io()).context("reading /y");
        assert_eq!(error_chain(&plain), "reading /y: No such file");
    }
}
