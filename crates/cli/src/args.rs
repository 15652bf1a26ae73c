//! The command line: subcommands and their flags, with the help text users learn from.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use podsec_pss::{Level, MAX_KNOWN_MINOR, Version};

#[derive(Debug, Parser)]
#[command(
    name = "podsec",
    version,
    about = "Pod Security Standards for Kubernetes: check manifests offline, or serve them as an admission webhook.",
    long_about = "Pod Security Standards for Kubernetes, with the exact verdicts and messages of the \
                  API server's Pod Security Admission, at every policy version from v1.0 to latest.\n\n\
                  Also works as a kubectl plugin: install the binary as `kubectl-podsec` on your PATH \
                  and run `kubectl podsec check ...`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests against the Pod Security Standards, as the API server would admit them.
    Check(CheckArgs),
    /// Run the admission webhook (HTTPS): Pod Security Admission for a cluster.
    Serve(podsec_server::ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output.
    Man,
}

#[derive(Debug, Args)]
#[command(after_long_help = CHECK_AFTER_HELP)]
pub struct CheckArgs {
    /// Files and folders to read (folders: every *.yaml, *.yml and *.json inside, recursively);
    /// `-` reads standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,

    /// Enforce this level for every object, ignoring namespace labels (as if each namespace
    /// were labelled `pod-security.kubernetes.io/enforce=<LEVEL>`; warn follows enforce as
    /// upstream).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub level: Option<LevelArg>,

    /// The policy version for --level: `latest` or `v1.N` (v1.0 to v1.37 have their own rules;
    /// newer versions are evaluated as latest and reported as written).
    #[arg(long = "version", value_name = "VERSION", value_parser = parse_version, requires = "level")]
    pub policy_version: Option<Version>,

    /// A PodSecurityConfiguration or AdmissionConfiguration file (as the API server reads it):
    /// its defaults apply to namespaces without labels and its exemptions apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The user making the requests, for the username exemptions of --config.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// The namespace of objects that do not name one (kubectl's current namespace).
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = "default")]
    pub namespace: String,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// When to colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

const CHECK_AFTER_HELP: &str = "\
What is checked:
  Pods, and the pods that PodTemplates, ReplicationControllers, ReplicaSets, Deployments,
  StatefulSets, DaemonSets, Jobs and CronJobs would create. Other kinds are reported as skipped.
  Namespace objects in the input supply their labels, as if applied first.

Which policy applies (first match):
  1. --level/--version;
  2. the pod-security.kubernetes.io/{enforce,audit,warn}[-version] labels of the object's
     Namespace, when the input contains it;
  3. the defaults of --config;
  4. the built-in default: enforce=restricted:latest (and warn, which follows enforce).

Before judging, podsec applies the API server's defaulting where it changes what the checks
see: a volume without a source becomes `emptyDir: {}`, and with `hostNetwork: true` every
container port's hostPort defaults to its containerPort.

Pods are judged by enforce, audit and warn as upstream does. For pod templates, upstream only
warns and audits (the pods are rejected later, when the controller creates them); podsec also
reports the enforce verdict on the template, so the rejection shows up now.

Exit status: 0 every object admitted, 1 at least one denied, 2 usage error or unreadable input
(everything readable is still checked and reported).

Examples:
  podsec check deploy/
  podsec check --level baseline --version v1.29 pod.yaml
  kubectl get pods -A -o yaml | podsec check -o json -
  podsec check namespace.yaml app.yaml --config admission-config.yaml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    Privileged,
    Baseline,
    Restricted,
}

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Level {
        match level {
            LevelArg::Privileged => Level::Privileged,
            LevelArg::Baseline => Level::Baseline,
            LevelArg::Restricted => Level::Restricted,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A report for people.
    Text,
    /// One JSON document (the stable contract for scripts).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse().map_err(|_| {
        format!(
            "must be \"latest\" or \"v1.x\" (latest, v1.0 … v1.{MAX_KNOWN_MINOR}, or a newer v1.N)"
        )
    })
}
