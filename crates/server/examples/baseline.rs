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
//! With `--batching` it drives hyper as `podsec serve` does (`podsec_server::batching`: HTTP/2
//! streams run on their connection's task, so answers ready together share a write): the
//! yardstick for what the admission work costs when both servers do their I/O alike. It is
//! not the minimal server, which uses hyper as it comes.
//!
//!     cargo run --release -p podsec-server --example baseline -- CERT KEY PORT [--validate] [--batching]

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use podsec_server::batching::Streams;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const ALLOWED: &str = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"0d5b7c1e-91c4-4a4e-8f0e-2b9a6c1d7e33\",\"allowed\":true}}\n";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: baseline CERT KEY PORT [--validate] [--batching]";
    let [cert, key, port, flags @ ..] = args.as_slice() else {
        anyhow::bail!(usage);
    };
    let (mut validate, mut batching) = (false, false);
    for flag in flags {
        match flag.as_str() {
            "--validate" => validate = true,
            "--batching" => batching = true,
            _ => anyhow::bail!(usage),
        }
    }
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
            let what = match (validate, batching) {
                (false, false) => "baseline",
                (true, false) => "validating baseline",
                (false, true) => "batching baseline",
                (true, true) => "validating batching baseline",
            };
            eprintln!("{what} listening on 127.0.0.1:{port}");
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let io = TokioIo::new(stream);
                    if batching {
                        let mut streams = Streams::default();
                        let builder = auto::Builder::new(streams.executor());
                        let connection = builder.serve_connection(io, service);
                        let _ = streams.drive(std::pin::pin!(connection)).await;
                    } else {
                        let builder = auto::Builder::new(TokioExecutor::new());
                        let _ = builder.serve_connection(io, service).await;
                    }
                });
            }
        })
}
