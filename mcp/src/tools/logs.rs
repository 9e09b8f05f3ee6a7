//! tail_file, get_journal_logs, get_docker_logs, get_pm2_logs: bounded reads of remote logs, run as
//! jobs so exit code and stderr are reported (a failed `tail` is an error, not an empty log).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use sshdeck_core::jobs::JobSpec;
use sshdeck_core::ops::logs;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::Targets;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailParams {
    alias: Targets,
    filepath: String,
    #[serde(default)]
    lines: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalParams {
    alias: Targets,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    lines: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerParams {
    alias: Targets,
    container: String,
    #[serde(default)]
    lines: Option<u32>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    timestamps: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pm2Params {
    alias: Targets,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    lines: Option<u32>,
    #[serde(default)]
    errors: Option<bool>,
}

#[tool_router(router = logs_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Last lines of a remote file.",
        input_schema = schema::tail_file_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn tail_file(
        &self,
        Parameters(p): Parameters<TailParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.read_log(&p.alias, logs::tail_file(&p.filepath, p.lines), ctx).await)
    }

    #[tool(
        description = "journald entries (unit, since, priority).",
        input_schema = schema::journal_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_journal_logs(
        &self,
        Parameters(p): Parameters<JournalParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cmd = logs::journal(p.unit.as_deref(), p.since.as_deref(), p.priority.as_deref(), p.lines);
        Ok(self.read_log(&p.alias, cmd, ctx).await)
    }

    #[tool(
        description = "A Docker container's logs.",
        input_schema = schema::docker_logs_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_docker_logs(
        &self,
        Parameters(p): Parameters<DockerParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cmd = logs::docker(&p.container, p.lines, p.since.as_deref(), p.timestamps.unwrap_or(false));
        Ok(self.read_log(&p.alias, cmd, ctx).await)
    }

    #[tool(
        description = "PM2 logs of an app (or all).",
        input_schema = schema::pm2_logs_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_pm2_logs(
        &self,
        Parameters(p): Parameters<Pm2Params>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cmd = Ok(logs::pm2(p.app.as_deref(), p.lines, p.errors.unwrap_or(false)));
        Ok(self.read_log(&p.alias, cmd, ctx).await)
    }
}

impl Sshdeck {
    async fn read_log(
        &self,
        alias: &Targets,
        command: sshdeck_core::Result<String>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        match command {
            Ok(command) => {
                self.run_targets(alias, JobSpec::Exec { command, timeout_ms: Some(60_000), read: true }, None, ctx)
                    .await
            }
            Err(e) => render::error(&e),
        }
    }
}
