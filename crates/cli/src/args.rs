//! The command line: subcommands and their flags, with the help text users learn from.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use podsec_pss::{Level, MAX_KNOWN_MINOR, Version};
/// `--psp-messages`: the same choice as `podsec serve` has.
pub use podsec_server::psp::PspMessages;

#[derive(Debug, Parser)]
#[command(
    name = "podsec",
    version,
    about = "Pod Security Standards and PodSecurityPolicy for Kubernetes: check manifests offline, or serve them as an admission webhook.",
    long_about = "Pod Security Standards for Kubernetes, with the exact verdicts and messages of the \
                  API server's Pod Security Admission, at every policy version from v1.0 to latest; \
                  and PodSecurityPolicy (policy/v1beta1) admission as Kubernetes 1.21-1.24 did it.\n\n\
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
    /// PodSecurityPolicy tools: list policies as `kubectl get psp` did, convert them.
    #[command(subcommand)]
    Psp(PspCommand),
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
    /// its defaults apply to namespaces without labels (and to the modes a namespace does not
    /// label), and its exemptions apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The user making the requests (as `kubectl --as`): for the username exemptions of
    /// --config (a Pod, and a template's warn and audit), and for PodSecurityPolicy, whose `use`
    /// grants count for this user as well as for the pod's service account (for Pods; a
    /// template's pods are requested by their controller). Without it, nobody.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// A group of the --as user (repeatable, as `kubectl --as-group`). As the API server does
    /// for impersonation, `system:authenticated` is added unless given (or
    /// `system:unauthenticated` is), and a service account user given without groups gets its
    /// `system:serviceaccounts` groups.
    #[arg(long = "as-group", value_name = "GROUP", requires = "as_user")]
    pub as_groups: Vec<String>,

    /// Judge pods by PodSecurityPolicy admission, even when the input holds no
    /// PodSecurityPolicy (then every pod is denied: "no providers available"). A
    /// PodSecurityPolicy in the input turns this on by itself.
    #[arg(long)]
    pub psp: bool,

    /// The wording of PodSecurityPolicy denials: `current` (Kubernetes 1.21-1.24, "unable to
    /// admit pod", and "unable to validate pod" in the validating phase: an UPDATE, or the
    /// webhook's /validate) or `legacy` (up to 1.20, "unable to validate against any pod
    /// security policy").
    #[arg(long, value_enum, value_name = "WORDING", default_value_t = PspMessages::Current)]
    pub psp_messages: PspMessages,

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
     Namespace, when the input contains it (over the defaults of --config, else privileged, as
     the API server resolves them; other label keys do not count);
  3. the defaults of --config;
  4. the built-in default: enforce=restricted:latest (and warn, which follows enforce).

Before judging, podsec applies the API server's defaulting where it changes what the checks
see: a volume without a source becomes `emptyDir: {}`, and in Pods (not in pod templates,
since Kubernetes 1.28) with `hostNetwork: true` every container port's hostPort defaults to
its containerPort.

Pods are judged by enforce, audit and warn as upstream does. For pod templates, upstream only
warns and audits (the pods are rejected later, when the controller creates them); podsec also
reports the enforce verdict of those pods (defaulted as Pods), so the rejection shows up now.
A --as user exempt by --config exempts a Pod, and a controller's warn and audit; the pods the
controller creates are requested by its service account, exempt only if that is (for a
Deployment: system:serviceaccount:kube-system:replicaset-controller, and so on). A request in
the input (an AdmissionReview) is made by its own userInfo, not by --as.

PodSecurityPolicy (on with --psp, or when the input holds a PodSecurityPolicy):
  PodSecurityPolicy objects (policy/v1beta1, extensions/v1beta1; also as items of a kind: List, or
  in a PodSecurityPolicyList, whose items need not say apiVersion and kind) and RBAC objects
  (ClusterRole, Role, ClusterRoleBinding, RoleBinding) in the input are the cluster's state, as if
  applied first; they are not listed. Each pod is admitted as the PodSecurityPolicy admission
  plugin of Kubernetes 1.21-1.24 admitted a create request: policies in name order, the first one
  that admits the pod unchanged, else the first that defaults it, among those the pod's service
  account or the --as user may `use`. The report names the admitting policy and the fields it
  defaults (an RFC 6902 patch in -o json), or the plugin's denial. A pod template is admitted as
  the pod its controller will create: in the object's namespace, as the template's
  serviceAccountName (or `default`), requested by the controller, not by the --as user
  (system:serviceaccount:kube-system:replicaset-controller for a Deployment or ReplicaSet,
  job-controller for a Job or CronJob, daemon-set-controller, statefulset-controller,
  replication-controller; nobody for a PodTemplate). The Pod Security Standards still apply as
  above; add --level privileged to judge by PodSecurityPolicy alone. An invalid PodSecurityPolicy
  is an input error (the API server would have refused it). A Pod in an AdmissionReview is
  admitted as podsec serve admits it: with the request's operation (an UPDATE is validated, not
  defaulted), its oldObject, and its userInfo as the requesting user.

Exit status: 0 every object admitted, 1 at least one denied, 2 usage error or unreadable input
(everything readable is still checked and reported).

Examples:
  podsec check deploy/
  podsec check --level baseline --version v1.29 pod.yaml
  kubectl get pods -A -o yaml | podsec check -o json -
  podsec check namespace.yaml app.yaml --config admission-config.yaml
  podsec check --level privileged psp.yaml rbac.yaml deploy/
  podsec check --psp --as jane --as-group dev psp.yaml pod.yaml";

#[derive(Debug, Subcommand)]
pub enum PspCommand {
    /// Print the policies in the input as `kubectl get psp` printed them.
    #[command(after_long_help = PSP_LIST_AFTER_HELP)]
    List {
        /// Files and folders to read (as for `podsec check`); `-` reads standard input.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
    },
    /// Rewrite PodSecurityPolicies as policy.podsec.dev/v1beta1 (the webhook's custom
    /// resource), leaving every other document as it is; YAML on standard output.
    #[command(after_long_help = PSP_CONVERT_AFTER_HELP)]
    Convert {
        /// Files and folders to read (as for `podsec check`); `-` reads standard input.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
    },
}

const PSP_CONVERT_AFTER_HELP: &str = "\
Only the apiVersion changes (policy/v1beta1 and extensions/v1beta1 become
policy.podsec.dev/v1beta1): kind, metadata and spec stay, so the output applies to a cluster that
has the CRD of deploy/psp installed. A policy written in block YAML keeps its text, comments
included, and so does a PodSecurityPolicyList in block YAML whose items inherit its apiVersion;
other documents that hold a policy (JSON, kind: List) are written anew as YAML.
Everything else is copied as written, comments before a document and empty documents too, so
one file in gives the same file out but for the apiVersion values. Between documents a `---`
line is added where the next one has none (a file after another one).

Example:
  podsec psp convert cluster/policies/ > podsec-policies.yaml";

const PSP_LIST_AFTER_HELP: &str = "\
Objects that are not PodSecurityPolicies (policy/v1beta1 or extensions/v1beta1, also as the
items of a kind: List or a PodSecurityPolicyList) are ignored. A
policy the API server would refuse is reported on standard error with the API server's
validation message and left out of the table; the exit status is then 2. When two documents
define the same name, the later one counts (as with kubectl apply).

Example:
  podsec psp list cluster/policies/";

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
