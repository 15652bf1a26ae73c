//! The load benchmark's yardstick: the smallest axum + rustls server that answers every POST
//! with a constant allowed AdmissionReview. Same TLS stack, runtime and HTTP settings as the
//! webhook, but no decoding, no decision and no metrics, so the ratio between the two is the
//! cost of the admission work itself. It does receive the request body (as any webhook must
//! before it can answer): dropping it unread would let HTTP/2 skip the body's flow control
//! and make the yardstick cheaper than any real webhook could be.
//!
//! With `--validate` it also checks that the body is JSON (serde_json skipping it as
//! `IgnoredAny`, a 400 when it is not) before the same constant answer: the most a webhook
//! that refuses malformed reviews could do if it checked them with serde_json, and so a second
//! yardstick. On a realistic review this alone costs a large share of the throughput, before
//! anything is decoded or decided.
//!
//!     cargo run --release -p podsec-server --example baseline -- CERT KEY PORT [--validate]

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const ALLOWED: &str = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"0d5b7c1e-91c4-4a4e-8f0e-2b9a6c1d7e33\",\"allowed\":true}}\n";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cert, key, port, validate) = match args.as_slice() {
        [cert, key, port] => (cert, key, port, false),
        [cert, key, port, flag] if flag == "--validate" => (cert, key, port, true),
        _ => anyhow::bail!("usage: baseline CERT KEY PORT [--validate]"),
    };
    let chain = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let app = Router::new().fallback(any(move |body: axum::body::Bytes| async move {
        if validate && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
            return (http::StatusCode::BAD_REQUEST, "malformed JSON\n").into_response();
        }
        std::hint::black_box(body);
        ([(http::header::CONTENT_TYPE, "application/json")], ALLOWED).into_response()
    }));
    let port: u16 = port.parse()?;

    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            let what = if validate {
                "validating baseline"
            } else {
                "baseline"
            };
            eprintln!("{what} listening on 127.0.0.1:{port}");
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                });
            }
        })
}
