//! PodSecurityPolicy in the webhook: the in-tree plugin's two phases served over
//! AdmissionReviews, with [`podsec_psp`] deciding.
//!
//! - `POST /mutate` runs the mutating phase on CREATE of pods: allowed with a JSONPatch (the
//!   chosen policy's defaulting plus `kubernetes.io/psp`), or Forbidden with the API server's
//!   `pods "<name>" is forbidden: PodSecurityPolicy: ...` message.
//! - Every other admission path (conventionally `/validate`) runs the validating phase on CREATE
//!   and UPDATE of pods after the Pod Security Standards decision; either denial denies.
//!
//! Only core `pods` without a subresource are PSP's business: like the in-tree plugin, every
//! subresource (`pods/ephemeralcontainers` included) bypasses it, and other resources are
//! allowed untouched.
//!
//! Policies come from `--psp-file` or from our CustomResourceDefinition
//! (`podsecuritypolicies.policy.podsec.dev`, see [`policies`]). `use` is decided offline by the
//! library's RBAC implementation when RBAC objects are given (`--rbac-file`, or RBAC objects in
//! `--psp-file`), else by SubjectAccessReviews against the API server ([`sar`]), so existing
//! PSP-era ClusterRoles and bindings keep working.

pub mod policies;
pub mod review;
pub mod sar;

use std::path::PathBuf;
use std::time::Duration;

use crate::duration::parse_go_duration;

pub use policies::{PolicyStore, PspFiles};
pub use review::Psp;
pub use sar::SarAuthorizer;

/// The PodSecurityPolicy flags of `podsec serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct PspArgs {
    /// Enable PodSecurityPolicy admission (policy/v1beta1 semantics): `/mutate` defaults pods
    /// on CREATE, `/validate` also requires a policy that accepts the pod unchanged. Policies are
    /// watched from the podsecuritypolicies.policy.podsec.dev CustomResourceDefinition unless
    /// --psp-file is given (which implies --psp).
    #[arg(long = "psp", help_heading = "PodSecurityPolicy")]
    pub enabled: bool,

    /// Take PodSecurityPolicies from this file instead of the cluster: policy/v1beta1 (or
    /// extensions/v1beta1, or policy.podsec.dev/v1beta1) objects, YAML or JSON, `kind: List`
    /// and `PodSecurityPolicyList` accepted. When documents share a name, the last one counts. RBAC objects in it decide
    /// `use` offline, as with --rbac-file.
    #[arg(long, value_name = "FILE", help_heading = "PodSecurityPolicy")]
    pub psp_file: Option<PathBuf>,

    /// Decide `use` of policies from the ClusterRoles, Roles and bindings in this file instead
    /// of SubjectAccessReviews (system:masters is always allowed, as by the API server).
    #[arg(long, value_name = "FILE", help_heading = "PodSecurityPolicy")]
    pub rbac_file: Option<PathBuf>,

    /// How long a SubjectAccessReview answer is reused for the same identity and policy.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg, help_heading = "PodSecurityPolicy")]
    pub psp_sar_cache_ttl: Duration,

    /// The wording of PodSecurityPolicy denials: `current` (Kubernetes 1.21-1.24, "unable to
    /// admit pod", and "unable to validate pod" in the validating phase: an UPDATE, or the
    /// webhook's /validate) or `legacy` (up to 1.20, "unable to validate against any pod
    /// security policy").
    #[arg(long, value_enum, value_name = "WORDING", default_value_t = PspMessages::Current, help_heading = "PodSecurityPolicy")]
    pub psp_messages: PspMessages,
}

/// `--psp-messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PspMessages {
    /// Kubernetes 1.21-1.24: `PodSecurityPolicy: unable to admit pod: [...]` (`unable to
    /// validate pod` in the validating phase: an UPDATE, or the webhook's /validate).
    #[default]
    Current,
    /// Kubernetes up to 1.20: `PodSecurityPolicy: unable to validate against any pod security
    /// policy: [...]`.
    Legacy,
}

impl From<PspMessages> for podsec_psp::MessageStyle {
    fn from(messages: PspMessages) -> Self {
        match messages {
            PspMessages::Current => podsec_psp::MessageStyle::Current,
            PspMessages::Legacy => podsec_psp::MessageStyle::Legacy,
        }
    }
}

impl Default for PspArgs {
    fn default() -> Self {
        PspArgs {
            enabled: false,
            psp_file: None,
            rbac_file: None,
            psp_sar_cache_ttl: sar::DEFAULT_TTL,
            psp_messages: PspMessages::Current,
        }
    }
}

impl PspArgs {
    /// Whether PSP admission runs at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled || self.psp_file.is_some() || self.rbac_file.is_some()
    }
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_go_duration(text)
        .ok_or_else(|| format!("invalid duration {text:?} (examples: 500ms, 10s, 1m30s)"))
}
