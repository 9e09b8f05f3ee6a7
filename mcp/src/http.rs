//! `sshdeck-mcp --http ADDR:PORT`: MCP over Streamable HTTP (rmcp's server transport) at `/mcp`, for
//! agents on other machines; every session shares this process's deck (and the data dir's runner).
//!
//! - Binds loopback unless told otherwise, and refuses a non-loopback address without a token.
//! - With tokens (`sshdeck-mcp token create`), `/mcp` needs `Authorization: Bearer TOKEN` (401
//!   otherwise); a read-only token's calls of mutating tools are refused; the token's name is the
//!   origin of the jobs it starts (`mcp:NAME`).
//! - `Host` must be loopback or the bound address, and an `Origin` header must be an allowed origin
//!   (DNS-rebinding protection): 403 otherwise.
//! - `GET /health` (no auth): status, version, uptime, whether the data dir is writable.
//!   `GET /ready`: 200 when the data dir is writable, 503 otherwise.
//! - Request bodies are capped (4 MiB), idle sessions expire (5 min), at most 256 sessions at once.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use sshdeck_core::{Deck, Error};

use crate::server::Sshdeck;
use crate::tokens;

/// How long an idle session lives.
const SESSION_IDLE: Duration = Duration::from_secs(300);
/// Sessions open at once; a new one past it gets 503.
const MAX_SESSIONS: usize = 256;

type Body = BoxBody<Bytes, Infallible>;

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())).boxed());
    *r.status_mut() = status;
    r
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Body> {
    let mut r = plain(status, &v.to_string());
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

fn writable(deck: &Deck) -> bool {
    let probe = deck.data_root().join("runtime").join(format!(".health.{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// Serves until the process is stopped.
pub async fn serve(deck: Deck, listed: BTreeSet<&'static str>, addr: SocketAddr) -> anyhow::Result<()> {
    let data = deck.data_root().to_path_buf();
    let has_tokens = !tokens::load(&data)?.is_empty();
    if !addr.ip().is_loopback() && !has_tokens {
        return Err(Error::InvalidArgument(format!(
            "refusing to serve on {addr} without authentication: create a token first (sshdeck-mcp token create NAME)"
        ))
        .into());
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let hosts =
        vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into(), bound.ip().to_string(), bound.to_string()];
    let origins = vec![
        format!("http://localhost:{}", bound.port()),
        format!("http://127.0.0.1:{}", bound.port()),
        format!("http://{bound}"),
    ];
    let mut config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts);
    config.allowed_origins = origins;
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(SESSION_IDLE);
    let factory_deck = deck.clone();
    let sessions = Arc::new(sessions);
    let mcp = StreamableHttpService::new(
        move || Ok(Sshdeck::new(factory_deck.clone(), listed.clone())),
        sessions.clone(),
        config,
    );
    let started = Instant::now();
    tracing::info!(%bound, tokens = has_tokens, "MCP over HTTP serving at /mcp");
    // The port in use, for whoever started us with port 0 (tests): stderr, never stdout.
    eprintln!("sshdeck-mcp: serving MCP at http://{bound}/mcp");
    let deck = Arc::new(deck);
    loop {
        let (stream, _) = listener.accept().await?;
        let (mcp, deck, data, sessions) = (mcp.clone(), deck.clone(), data.clone(), sessions.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let (mcp, deck, data, sessions) = (mcp.clone(), deck.clone(), data.clone(), sessions.clone());
                async move {
                    let new_session =
                        req.method() == http::Method::POST && !req.headers().contains_key("mcp-session-id");
                    if new_session && req.uri().path() == "/mcp" && sessions.sessions.read().await.len() >= MAX_SESSIONS
                    {
                        return Ok::<_, Infallible>(plain(StatusCode::SERVICE_UNAVAILABLE, "too many sessions\n"));
                    }
                    Ok::<_, Infallible>(route(req, &mcp, &deck, &data, started).await)
                }
            });
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = conn.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %e, "HTTP connection ended");
            }
        });
    }
}

async fn route(
    mut req: Request<hyper::body::Incoming>,
    mcp: &StreamableHttpService<Sshdeck, LocalSessionManager>,
    deck: &Deck,
    data: &std::path::Path,
    started: Instant,
) -> Response<Body> {
    match req.uri().path() {
        "/health" => json(
            StatusCode::OK,
            serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"),
                "uptimeS": started.elapsed().as_secs(), "dataDirWritable": writable(deck)}),
        ),
        "/ready" if writable(deck) => plain(StatusCode::OK, "ready\n"),
        "/ready" => plain(StatusCode::SERVICE_UNAVAILABLE, "data dir not writable\n"),
        "/mcp" => {
            // Tokens are read on every request, so a revoked one stops working at once.
            let tokens = match tokens::load(data) {
                Ok(t) => t,
                Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
            };
            if !tokens.is_empty() {
                let presented = req
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim);
                match presented.and_then(|t| tokens::verify(&tokens, t)) {
                    Some(caller) => {
                        req.extensions_mut().insert(caller);
                    }
                    None => {
                        let mut r = plain(StatusCode::UNAUTHORIZED, "a valid bearer token is required\n");
                        r.headers_mut()
                            .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
                        return r;
                    }
                }
            }
            let delete = req.method() == http::Method::DELETE;
            let r = tower_service::Service::call(&mut mcp.clone(), req).await;
            let mut r = match r {
                Ok(r) => r,
                Err(e) => match e {},
            };
            // A session ended by DELETE: 204, which clients (the Python SDK) take as done; rmcp says 202.
            if delete && r.status() == StatusCode::ACCEPTED {
                *r.status_mut() = StatusCode::NO_CONTENT;
            }
            r
        }
        _ => plain(StatusCode::NOT_FOUND, "not found: MCP is at /mcp\n"),
    }
}
