//! task_transfer, task_transfer_multi.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use sshdeck_core::jobs::JobSpec;
use sshdeck_core::sftp::{Direction, TransferItem};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferParams {
    alias: String,
    direction: String,
    /// Local path (upload, download); for server_to_server, the path on `alias` (default: `remote`).
    #[serde(default)]
    local: Option<String>,
    remote: String,
    /// server_to_server: the server the files come from.
    #[serde(default)]
    source_alias: Option<String>,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    verify: Option<bool>,
    #[serde(default)]
    rappel: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePair {
    local: String,
    remote: String,
    #[serde(default)]
    source_alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiParams {
    alias: String,
    direction: String,
    #[serde(default)]
    source_alias: Option<String>,
    files: Vec<FilePair>,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    verify: Option<bool>,
    #[serde(default)]
    rappel: Option<f64>,
}

#[tool_router(router = transfers_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "SFTP a file, directory or glob (*.log, **/*.json) up or down. Written under a temp name and renamed when complete; force to overwrite.",
        input_schema = schema::transfer_in(),
        output_schema = schema::transfer_out(),
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = true)
    )]
    async fn task_transfer(
        &self,
        Parameters(p): Parameters<TransferParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let s2s = p.direction.eq_ignore_ascii_case("server_to_server");
        let local = match (p.local, s2s) {
            (Some(l), _) => l,
            (None, true) => String::new(),
            (None, false) => {
                let e = sshdeck_core::Error::InvalidArgument(format!("local is required for {}", p.direction));
                return Ok(render::error(&e));
            }
        };
        let items = vec![TransferItem { local, remote: p.remote }];
        let how = How { direction: p.direction, source_alias: p.source_alias, force: p.force, verify: p.verify };
        Ok(self.transfer(&p.alias, how, items, p.rappel, ctx).await)
    }

    #[tool(
        description = "SFTP several files, directories or globs in one job; per-file results.",
        input_schema = schema::transfer_multi_in(),
        output_schema = schema::transfer_out(),
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = true)
    )]
    async fn task_transfer_multi(
        &self,
        Parameters(p): Parameters<MultiParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if p.files.is_empty() {
            return Ok(render::error(&sshdeck_core::Error::InvalidArgument("files must not be empty".into())));
        }
        let mut source_alias = p.source_alias;
        for f in &p.files {
            match (&source_alias, &f.source_alias) {
                (_, None) => {}
                (None, Some(s)) => source_alias = Some(s.clone()),
                (Some(a), Some(b)) if a == b => {}
                (Some(_), Some(_)) => {
                    let e = sshdeck_core::Error::InvalidArgument("one source_alias per call".into());
                    return Ok(render::error(&e));
                }
            }
        }
        let items = p.files.into_iter().map(|f| TransferItem { local: f.local, remote: f.remote }).collect();
        let how = How { direction: p.direction, source_alias, force: p.force, verify: p.verify };
        Ok(self.transfer(&p.alias, how, items, p.rappel, ctx).await)
    }
}

/// How a transfer goes: direction (`upload`, `download`, `server_to_server`), source server, options.
struct How {
    direction: String,
    source_alias: Option<String>,
    force: Option<bool>,
    verify: Option<bool>,
}

impl Sshdeck {
    async fn transfer(
        &self,
        alias: &str,
        how: How,
        items: Vec<TransferItem>,
        rappel: Option<f64>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let (direction, source_alias) = match (how.direction.to_ascii_lowercase().as_str(), how.source_alias) {
            ("server_to_server", Some(src)) => (Direction::Upload, Some(src)),
            ("server_to_server", None) => {
                let e = sshdeck_core::Error::InvalidArgument("server_to_server needs source_alias".into());
                return render::error(&e);
            }
            (d, None) => match Direction::parse(d) {
                Ok(d) => (d, None),
                Err(e) => return render::error(&e),
            },
            (d, Some(_)) => {
                let e = sshdeck_core::Error::InvalidArgument(format!(
                    "source_alias goes with direction server_to_server, not {d}"
                ));
                return render::error(&e);
            }
        };
        let rappel = match crate::tools::common::seconds("rappel", rappel) {
            Ok(ms) => ms.map(|ms| ms.div_ceil(1000)),
            Err(e) => return render::error(&e),
        };
        let spec = JobSpec::Transfer {
            direction,
            items,
            force: how.force.unwrap_or(false),
            verify: how.verify.unwrap_or(false),
            source_alias,
        };
        self.run_inline(alias, spec, rappel, ctx).await
    }
}
