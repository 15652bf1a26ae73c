//! The webhook's TLS: the rustls server configuration and the serving certificate, re-read when
//! its files change.
//!
//! Kubernetes mounts a Secret as a directory whose files are symlinks into a timestamped
//! directory (`tls.crt -> ..data/tls.crt`, `..data -> ..2024_01_01_00_00_00.123`); an update
//! swaps the `..data` symlink atomically. Inotify on the visible path sees nothing of that, so
//! [`watch`](fn@watch) polls: it resolves both paths through every symlink and compares the resolved
//! target, inode, size and modification time. A change is loaded and checked (the key must match
//! the certificate) before it replaces the served one, so a half-written pair never reaches a
//! handshake; established connections keep the certificate they were opened with and are never
//! dropped.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// Why a certificate pair could not be loaded.
///
/// Each message includes its cause, which is therefore not also a `source()`: errors are
/// printed with their chain (`{:#}`) and would otherwise say it twice.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: no PEM certificate found")]
    NoCertificate { path: PathBuf },
    #[error("{path}: invalid PEM certificate: {error}")]
    BadCertificate {
        path: PathBuf,
        error: rustls_pki_types::pem::Error,
    },
    #[error("{path}: no usable PEM private key: {error}")]
    BadKey {
        path: PathBuf,
        error: rustls_pki_types::pem::Error,
    },
    #[error("{path}: unsupported private key: {error}")]
    UnsupportedKey { path: PathBuf, error: rustls::Error },
    #[error("{path}: invalid certificate: {error}")]
    InvalidCertificate { path: PathBuf, error: rustls::Error },
    #[error("the private key in {key} does not match the certificate in {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

/// Lowest TLS protocol version the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MinTlsVersion {
    /// TLS 1.2 and 1.3 (what the Kubernetes API server speaks to webhooks).
    #[value(name = "VersionTLS12")]
    Tls12,
    /// TLS 1.3 only.
    #[value(name = "VersionTLS13")]
    Tls13,
}

/// Where the serving certificate and key live.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    /// Reads and checks the pair.
    pub fn load(&self) -> Result<LoadedCert, TlsError> {
        // Taken before reading: a change while reading shows up as a difference next time.
        let fingerprint = self.fingerprint();
        let cert_pem = read(&self.cert)?;
        let key_pem = read(&self.key)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsError::BadCertificate {
                path: self.cert.clone(),
                error,
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: self.cert.clone(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| TlsError::BadKey {
            path: self.key.clone(),
            error,
        })?;
        let signer =
            ring::sign::any_supported_type(&key).map_err(|error| TlsError::UnsupportedKey {
                path: self.key.clone(),
                error,
            })?;
        let certified = CertifiedKey::new(chain, signer);
        match certified.keys_match() {
            // `Unknown` means the key type cannot tell its public half; rustls then finds out
            // at the handshake, as it would without this check.
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
                Ok(LoadedCert {
                    key: certified,
                    fingerprint,
                })
            }
            Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::KeyMismatch {
                cert: self.cert.clone(),
                key: self.key.clone(),
            }),
            Err(error) => Err(TlsError::InvalidCertificate {
                path: self.cert.clone(),
                error,
            }),
        }
    }

    /// What identifies the current content of both files without reading them.
    fn fingerprint(&self) -> Option<(FileStamp, FileStamp)> {
        Some((FileStamp::of(&self.cert)?, FileStamp::of(&self.key)?))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_path_buf(),
        error,
    })
}

/// A file's identity after following every symlink: a Secret update changes the resolved path
/// (and inode); an in-place rewrite (`cp`, `openssl ... -out`) changes size or mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    resolved: PathBuf,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let resolved = fs::canonicalize(path).ok()?;
        let meta = fs::metadata(&resolved).ok()?;
        Some(FileStamp {
            resolved,
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// A certificate pair as loaded, with the identity of the files it was read from.
pub struct LoadedCert {
    key: CertifiedKey,
    fingerprint: Option<(FileStamp, FileStamp)>,
}

/// Hands every TLS handshake the certificate loaded last.
#[derive(Debug)]
pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    /// What the files looked like when `current` was read from them. Kept here, not in the
    /// watcher, so that a change between start-up and the watcher's first look is not missed.
    loaded_from: Mutex<Option<(FileStamp, FileStamp)>>,
}

impl ReloadingCert {
    pub fn new(initial: LoadedCert) -> Self {
        ReloadingCert {
            current: RwLock::new(Arc::new(initial.key)),
            loaded_from: Mutex::new(initial.fingerprint),
        }
    }

    // A poisoned lock only means a writer panicked between two plain assignments; the values
    // inside are still whole.
    fn replace(&self, next: LoadedCert) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next.key);
        *self
            .loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = next.fingerprint;
    }

    fn loaded_from(&self) -> Option<(FileStamp, FileStamp)> {
        self.loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

/// The rustls configuration: the given minimum version, ring's cipher suites, no client
/// certificates, HTTP/2 and HTTP/1.1 offered through ALPN.
pub fn server_config(
    resolver: Arc<ReloadingCert>,
    min: MinTlsVersion,
) -> Result<ServerConfig, TlsError> {
    let versions: &[&'static SupportedProtocolVersion] = match min {
        MinTlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        MinTlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_protocol_versions(versions)
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Polls the certificate files every `interval` and swaps in a changed pair once it loads
/// cleanly. Runs until `stop` flips to true.
pub async fn watch(
    files: CertFiles,
    resolver: Arc<ReloadingCert>,
    interval: Duration,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    // The fingerprint of the last pair that failed to load, so a broken pair is reported once
    // rather than on every tick (it is still retried: it may be half-written).
    let mut failed = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let now = files.fingerprint();
        if now.is_none() || now == resolver.loaded_from() {
            continue;
        }
        let files = files.clone();
        let result = tokio::task::spawn_blocking(move || files.load()).await;
        match result {
            Ok(Ok(pair)) => {
                resolver.replace(pair);
                failed = None;
                metrics.certificate_reloaded(true);
                tracing::info!("serving certificate changed on disk and was reloaded");
            }
            Ok(Err(error)) => {
                if failed != now {
                    metrics.certificate_reloaded(false);
                    tracing::warn!(%error, "serving certificate changed but cannot be loaded; still serving the previous one");
                    failed = now;
                }
            }
            Err(error) => tracing::error!(%error, "certificate reload task failed"),
        }
    }
}
