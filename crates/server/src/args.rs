//! The flags of `podsec serve`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::duration::parse_go_duration;
use crate::tls::MinTlsVersion;

/// Run the Pod Security admission webhook.
///
/// Serves HTTPS only. The Kubernetes API server sends AdmissionReviews (admission.k8s.io/v1 or
/// v1beta1) to any path, conventionally `/validate` (and, with --psp, `/mutate` for
/// PodSecurityPolicy's defaulting); `/healthz`, `/readyz` and `/metrics` are for
/// the kubelet and Prometheus. Namespace labels come from a watch on the cluster (`--kubeconfig`,
/// or the in-cluster service account), or from `--namespaces-file` for demos and tests without a
/// cluster.
///
/// Example (no cluster):
///
///   podsec serve --tls-cert-file tls.crt --tls-private-key-file tls.key \
///     --bind-address 127.0.0.1 --secure-port 8443 --namespaces-file namespaces.yaml
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// PEM certificate (chain) to serve. Re-read when the file changes, including a Kubernetes
    /// Secret update that swaps the mount's symlinks; connections stay open across a reload.
    #[arg(long, value_name = "FILE", help_heading = "Serving")]
    pub tls_cert_file: PathBuf,

    /// PEM private key of --tls-cert-file (PKCS#8, PKCS#1 or SEC1). Reloaded with it.
    #[arg(long, value_name = "FILE", help_heading = "Serving")]
    pub tls_private_key_file: PathBuf,

    /// Address to listen on.
    #[arg(
        long,
        value_name = "IP",
        default_value = "0.0.0.0",
        help_heading = "Serving"
    )]
    pub bind_address: IpAddr,

    /// HTTPS port to listen on (0 is refused: this webhook has no other way to serve).
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 8443,
        help_heading = "Serving"
    )]
    pub secure_port: u16,

    /// Oldest TLS version accepted.
    #[arg(
        long,
        value_name = "VERSION",
        value_enum,
        default_value = "VersionTLS12",
        help_heading = "Serving"
    )]
    pub tls_min_version: MinTlsVersion,

    /// How often the certificate files are checked for changes.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg, help_heading = "Serving")]
    pub tls_reload_interval: Duration,

    /// Longest time a client may take to send a request's headers, counted from the request's
    /// first byte (on a new connection, from the end of the TLS handshake, which it also
    /// bounds), and then again its body; slower clients are disconnected so they cannot tie up
    /// the server. An idle keep-alive connection waits under --idle-timeout instead.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg, help_heading = "Serving")]
    pub request_read_timeout: Duration,

    /// How long an HTTP/1.1 keep-alive connection may stay idle between requests before it is
    /// closed (Go's http.Server IdleTimeout, as upstream's webhook sets it). HTTP/2
    /// connections stay open while they answer the server's pings.
    #[arg(long, value_name = "DURATION", default_value = "90s", value_parser = duration_arg, help_heading = "Serving")]
    pub idle_timeout: Duration,

    /// After SIGTERM/SIGINT, keep accepting connections (while /readyz reports failure) for
    /// this long so load balancers stop sending new ones, then close the listener. From the
    /// signal on, every HTTP/1.1 answer carries `Connection: close` and HTTP/2 connections get
    /// GOAWAY, so clients move their next requests to new connections.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration_arg, help_heading = "Serving")]
    pub shutdown_delay: Duration,

    /// Once the listener is closed, how long open connections get to send one more request
    /// (answered with `Connection: close`) before those that stayed idle all along are closed.
    /// Closing an idle keep-alive connection loses a request the client may be sending on it
    /// at that moment; the drain keeps busy clients from ever meeting that. It ends early once
    /// every connection has closed.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration_arg, help_heading = "Serving")]
    pub shutdown_drain: Duration,

    /// Longest time to wait, once the listener is closed, for every connection to end (the
    /// drain included) and so for in-flight requests to be answered. Connections still idle
    /// when the drain ends get up to a second more to close, even past this limit.
    #[arg(long, value_name = "DURATION", default_value = "25s", value_parser = duration_arg, help_heading = "Serving")]
    pub shutdown_timeout: Duration,

    /// PodSecurityConfiguration file (pod-security.admission.config.k8s.io v1, v1beta1 or
    /// v1alpha1; YAML or JSON): default levels and versions, exempt users, namespaces and
    /// runtime classes. An API server AdmissionConfiguration whose PodSecurity plugin holds
    /// one (inline or by path) works too. Without it every default is privileged:latest and
    /// nothing is exempt.
    #[arg(long, value_name = "FILE", help_heading = "Policy")]
    pub config: Option<PathBuf>,

    /// Kubeconfig to reach the API server. Without it (and without --namespaces-file) the
    /// usual discovery applies: $KUBECONFIG or ~/.kube/config, else the in-cluster service
    /// account.
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub kubeconfig: Option<PathBuf>,

    /// Take cluster state from this file instead of an API server: Namespace objects (their
    /// Pod Security labels) and optionally Pod objects (the existing pods that a namespace
    /// relabel is checked against). YAML (multi-document) or JSON, `kind: List` accepted.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "kubeconfig",
        help_heading = "Cluster"
    )]
    pub namespaces_file: Option<PathBuf>,

    /// Log line format.
    #[arg(
        long,
        value_name = "FORMAT",
        value_enum,
        default_value = "text",
        help_heading = "Logging"
    )]
    pub log_format: LogFormat,

    /// What to log, as a tracing filter (`info`, `debug`, `podsec_server=debug,kube=warn`).
    /// RUST_LOG overrides it.
    #[arg(
        long,
        value_name = "FILTER",
        default_value = "info",
        help_heading = "Logging"
    )]
    pub log_level: String,

    #[command(flatten)]
    pub psp: crate::psp::PspArgs,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_go_duration(text)
        .ok_or_else(|| format!("invalid duration {text:?} (examples: 500ms, 10s, 1m30s)"))
}
