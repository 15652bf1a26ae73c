//! # podsec-server: the Pod Security admission webhook (`podsec serve`)
//!
//! An HTTPS server that answers the Kubernetes API server's AdmissionReviews with upstream Pod
//! Security Admission's decisions, warnings, audit annotations and metrics.
//!
//! - [`args`]: the command-line flags ([`ServeArgs`]).
//! - [`tls`]: rustls configuration and the serving certificate, reloaded when its files change.
//! - [`server`]: the listener: TLS handshakes, HTTP/1.1 and HTTP/2, timeouts, a shutdown that
//!   drops no request.
//! - [`batching`]: HTTP/2 streams run on their connection's task, and answers leave in small
//!   DATA frames, so that many answers share one write.
//! - [`http`]: the routes and upstream's request rules for the admission endpoint.
//! - [`admit`]: one review through the `podsec-admission` decision flow.
//! - [`state`], [`cluster`]: namespace labels (and pods) from a file or from the API server.
//! - [`metrics`]: Prometheus counters and the latency histogram.
//! - [`psp`]: PodSecurityPolicy admission (`--psp`): `/mutate` and the validating phase.
//!
//! [`run`] is the whole command; [`Webhook`] is the same in two steps (bind, then serve until a
//! future completes) for embedding and tests.

pub mod admit;
pub mod answer;
pub mod args;
pub mod batching;
pub mod cluster;
mod documents;
pub mod duration;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod psp;
mod read_timer;
pub mod server;
pub mod state;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub use args::{LogFormat, ServeArgs};
pub use documents::StateFileError;

use crate::admit::{Admitter, ClusterState};
use crate::http::{AppState, Readiness};
use crate::metrics::Metrics;
use crate::state::{FileState, NamespaceCache};
use crate::tls::{CertFiles, ReloadingCert};

/// Runs the webhook until SIGTERM or SIGINT, then finishes in-flight requests and returns.
/// Builds its own multi-threaded tokio runtime.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_format, &args.log_level).context("invalid --log-level")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("podsec-serve")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        // Installed before anything slow so that a SIGTERM during start-up is a clean stop.
        let termination = termination_signal()?;
        let webhook = Webhook::bind(&args).await?;
        webhook.serve(termination).await
    })
}

/// Resolves on the first SIGTERM or SIGINT.
fn termination_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        let which = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = which, "shutting down");
    })
}

/// A bound, not yet serving webhook.
pub struct Webhook {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    args: ServeArgs,
    certs: CertFiles,
    resolver: Arc<ReloadingCert>,
    cache: Arc<NamespaceCache>,
    watch_client: Option<kube::Client>,
    /// The PodSecurityPolicy CRD watch (`--psp` without `--psp-file`).
    policy_watch: Option<PolicyWatch>,
}

impl Webhook {
    /// Loads the configuration, the certificate and the namespace source, and binds the port.
    /// Every error here is a start-up error.
    pub async fn bind(args: &ServeArgs) -> anyhow::Result<Webhook> {
        Self::bind_with(args, None).await
    }

    /// [`Webhook::bind`] with a given API server client instead of one built from the
    /// kubeconfig (tests hand in kube-rs's mock transport).
    pub async fn bind_with_client(
        args: &ServeArgs,
        client: kube::Client,
    ) -> anyhow::Result<Webhook> {
        Self::bind_with(args, Some(client)).await
    }

    async fn bind_with(args: &ServeArgs, client: Option<kube::Client>) -> anyhow::Result<Webhook> {
        if args.secure_port == 0 {
            bail!("no serving info configured");
        }
        let metrics = Arc::new(Metrics::new());
        let certs = CertFiles {
            cert: args.tls_cert_file.clone(),
            key: args.tls_private_key_file.clone(),
        };
        let resolver = Arc::new(ReloadingCert::new(
            certs.load().context("loading the serving certificate")?,
        ));
        let tls_config = tls::server_config(Arc::clone(&resolver), args.tls_min_version)?;

        let psp_files = if args.psp.is_enabled() {
            Some(psp::PspFiles::load(
                args.psp.psp_file.as_deref(),
                args.psp.rbac_file.as_deref(),
            )?)
        } else {
            None
        };
        // The API server is needed for namespaces (without --namespaces-file), and for PSP
        // unless both policies and RBAC come from files.
        let needs_cluster = args.namespaces_file.is_none()
            || psp_files
                .as_ref()
                .is_some_and(|files| args.psp.psp_file.is_none() || files.rbac.is_none());
        let client = match client {
            Some(client) => Some(client),
            None if needs_cluster => Some(kube_client(args).await?),
            None => None,
        };

        let cache = Arc::new(NamespaceCache::new());
        let (cluster, watch_client) = match &args.namespaces_file {
            Some(path) => {
                let file = FileState::load(path)?;
                cache.replace_all(file.namespaces.clone());
                tracing::info!(path = %path.display(), namespaces = cache.len(), "namespace state read from file");
                (ClusterState::File(Arc::new(file)), None)
            }
            None => {
                let client = client.clone().context("no API server client")?;
                (
                    ClusterState::Live(cluster::Cluster::new(client.clone(), Arc::clone(&cache))),
                    Some(client),
                )
            }
        };
        let mut admitter = Admitter::new(
            args.config.as_deref(),
            cluster,
            Arc::clone(&cache),
            Arc::clone(&metrics),
        )?;
        let mut policy_watch = None;
        let mut readiness = Readiness::new(Arc::clone(&cache));
        if let Some(files) = psp_files {
            let (psp, watch) = psp_admission(args, files, client)?;
            readiness = readiness.with_policies(Arc::clone(psp.store()));
            admitter = admitter.with_psp(psp);
            policy_watch = watch;
        }

        let addr = SocketAddr::new(args.bind_address, args.secure_port);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let state = Arc::new(AppState {
            admitter,
            metrics,
            readiness,
            body_timeout: args.request_read_timeout,
        });
        Ok(Webhook {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(tls_config)),
            state,
            args: args.clone(),
            certs,
            resolver,
            cache,
            watch_client,
            policy_watch,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and stops the
    /// background tasks.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(tls::watch(
            self.certs,
            self.resolver,
            self.args.tls_reload_interval,
            Arc::clone(&self.state.metrics),
            stop.clone(),
        ));
        if let Some(client) = self.watch_client {
            tasks.spawn(cluster::watch_namespaces(client, self.cache, stop.clone()));
        }
        if let Some((client, store)) = self.policy_watch {
            tasks.spawn(psp::policies::watch_policies(client, store, stop.clone()));
        }
        tracing::info!(address = %self.listener.local_addr()?, "serving admission reviews over HTTPS");

        let state = Arc::clone(&self.state);
        let signalled = async move {
            shutdown.await;
            state.readiness.start_draining();
        };
        let limits = server::Limits {
            read_timeout: self.args.request_read_timeout,
            idle_timeout: self.args.idle_timeout,
            shutdown_delay: self.args.shutdown_delay,
            drain: self.args.shutdown_drain,
            shutdown_timeout: self.args.shutdown_timeout,
        };
        let served = server::serve(
            self.listener,
            self.acceptor,
            http::router(Arc::clone(&self.state)),
            limits,
            signalled,
        )
        .await;
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        served?;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// What the PodSecurityPolicy CRD watch needs: the client and the store it fills.
type PolicyWatch = (kube::Client, Arc<psp::PolicyStore>);

/// PodSecurityPolicy admission from the files and/or the cluster, and the CRD watch to run when
/// policies come from the cluster.
fn psp_admission(
    args: &ServeArgs,
    files: psp::PspFiles,
    client: Option<kube::Client>,
) -> anyhow::Result<(psp::Psp, Option<PolicyWatch>)> {
    let (store, watch) = match &args.psp.psp_file {
        Some(path) => {
            tracing::info!(path = %path.display(), policies = files.policies.len(), "PodSecurityPolicies read from file");
            (Arc::new(psp::PolicyStore::fixed(files.policies)), None)
        }
        None => {
            let client = client.clone().context("no API server client")?;
            let store = Arc::new(psp::PolicyStore::new());
            (Arc::clone(&store), Some((client, store)))
        }
    };
    let authorization = match files.rbac {
        Some(rbac) => {
            tracing::info!("PodSecurityPolicy use decided from the RBAC objects given");
            psp::review::Authorization::Offline(rbac)
        }
        None => {
            let client = client.context("no API server client")?;
            psp::review::Authorization::Cluster(psp::SarAuthorizer::new(
                client,
                args.psp.psp_sar_cache_ttl,
            ))
        }
    };
    Ok((
        psp::Psp::new(store, authorization, args.psp.psp_messages.into()),
        watch,
    ))
}

/// A client for the API server: `--kubeconfig` if given, else kube-rs's discovery
/// ($KUBECONFIG, ~/.kube/config, in-cluster).
async fn kube_client(args: &ServeArgs) -> anyhow::Result<kube::Client> {
    let mut config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .with_context(|| format!("using kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no cluster configuration found (pass --kubeconfig, run in a pod, or use --namespaces-file)")?,
    };
    // Names this component in the API server's audit log and request metrics.
    config.headers.push((
        ::http::header::USER_AGENT,
        ::http::HeaderValue::from_static(concat!(
            "podsec/",
            env!("CARGO_PKG_VERSION"),
            " podsecurity-webhook"
        )),
    ));
    kube::Client::try_from(config).context("building the Kubernetes client")
}
