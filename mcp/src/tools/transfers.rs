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
    local: String,
    remote: String,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    verify: Option<bool>,
    #[serde(default)]
    rappel: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePair {
    local: String,
    remote: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiParams {
    alias: String,
    direction: String,
    files: Vec<FilePair>,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    verify: Option<bool>,
    #[serde(default)]
    rappel: Option<u64>,
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
        let items = vec![TransferItem { local: p.local, remote: p.remote }];
        Ok(self.transfer(&p.alias, &p.direction, items, p.force, p.verify, p.rappel, ctx).await)
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
        let items = p.files.into_iter().map(|f| TransferItem { local: f.local, remote: f.remote }).collect();
        Ok(self.transfer(&p.alias, &p.direction, items, p.force, p.verify, p.rappel, ctx).await)
    }
}

impl Sshdeck {
    #[allow(clippy::too_many_arguments)] // the tool's arguments, passed through
    async fn transfer(
        &self,
        alias: &str,
        direction: &str,
        items: Vec<TransferItem>,
        force: Option<bool>,
        verify: Option<bool>,
        rappel: Option<u64>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let direction = match Direction::parse(direction) {
            Ok(d) => d,
            Err(e) => return render::error(&e),
        };
        let spec =
            JobSpec::Transfer { direction, items, force: force.unwrap_or(false), verify: verify.unwrap_or(false) };
        self.run_inline(alias, spec, rappel, ctx).await
    }
}
