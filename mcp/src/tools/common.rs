//! Helpers every tool module shares: the `alias` argument (one alias or a fan-out expression),
//! Node's seconds, and running a probe that the client can cancel.

use std::future::Future;

use rmcp::RoleServer;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use serde::{Deserialize, Serialize};
use sshdeck_core::Error;
use sshdeck_core::fleet::is_fleet;
use sshdeck_core::ops::Run;
use tokio::sync::watch;

use crate::render;

/// An `alias` argument: one alias (or expression), or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Targets {
    One(String),
    Many(Vec<String>),
}

impl Targets {
    pub fn exprs(&self) -> Vec<String> {
        match self {
            Targets::One(s) => vec![s.clone()],
            Targets::Many(v) => v.clone(),
        }
    }

    /// The single alias, when this names exactly one server.
    pub fn single(&self) -> Option<String> {
        let e = self.exprs();
        (!is_fleet(&e)).then(|| e.into_iter().next()).flatten()
    }
}

/// A `timeout` or `rappel` in seconds (fractions allowed) as milliseconds; `0` stays `0` (no limit).
pub fn seconds(name: &str, v: Option<f64>) -> Result<Option<u64>, sshdeck_core::Error> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && (0.0..=31_536_000.0).contains(&s) => Ok(Some((s * 1000.0).round() as u64)),
        Some(s) => Err(sshdeck_core::Error::InvalidArgument(format!(
            "{name} is in seconds: 0 (no limit) to 31536000, not {s}"
        ))),
    }
}

/// Runs a probe, cancelled (the remote command killed) when the client cancels the request, and
/// renders its structure, or its typed error.
pub async fn probe<T, F, Fut>(ctx: &RequestContext<RoleServer>, f: F) -> CallToolResult
where
    T: Serialize,
    F: FnOnce(Run) -> Fut,
    Fut: Future<Output = sshdeck_core::Result<T>>,
{
    let (cancel, _watch) = cancel_on_request(ctx);
    let result = f(Run { cancel: Some(cancel), ..Run::default() }).await;
    match result.and_then(|v| serde_json::to_value(v).map_err(|e| Error::InvalidArgument(e.to_string()))) {
        Ok(v) => {
            let text = v.to_string();
            render::ok(v, text)
        }
        Err(e) => render::error(&e),
    }
}

/// Aborts its task when dropped.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A cancel signal that turns true when the client cancels the request (the remote commands that
/// watch it are killed); it stops watching when the guard drops.
pub fn cancel_on_request(ctx: &RequestContext<RoleServer>) -> (watch::Receiver<bool>, AbortOnDrop) {
    let (tx, rx) = watch::channel(false);
    let ct = ctx.ct.clone();
    let task = tokio::spawn(async move {
        ct.cancelled().await;
        let _ = tx.send(true);
    });
    (rx, AbortOnDrop(task))
}
