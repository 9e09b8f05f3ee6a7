//! task_logs, pool_stats, system_diagnostics.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::jobs::format_time;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsParams {
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    /// Node's `compact` (default true): each line cut to 300 characters.
    #[serde(default)]
    compact: Option<bool>,
}

/// Characters of a log line a compact listing keeps.
const COMPACT_LINE: usize = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsParams {
    #[serde(default)]
    verbose: Option<bool>,
}

#[tool_router(router = service_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "sshdeck's own log lines (all its processes), newest last.",
        input_schema = schema::logs_in(),
        output_schema = schema::logs_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn task_logs(&self, Parameters(p): Parameters<LogsParams>) -> Result<CallToolResult, ErrorData> {
        let limit = p.limit.unwrap_or(50).clamp(1, 1000);
        let lines = match self.deck.log_lines(p.level.as_deref(), p.search.as_deref(), limit) {
            Ok(l) => l,
            Err(e) => return Ok(render::error(&e)),
        };
        let mut lines = lines;
        if p.compact.unwrap_or(true) {
            for l in &mut lines {
                if let Some((i, _)) = l.char_indices().nth(COMPACT_LINE) {
                    l.truncate(i);
                    l.push('…');
                }
            }
        }
        let text = if lines.is_empty() { "no matching log lines".to_string() } else { lines.join("\n") };
        Ok(render::ok(json!({"lines": lines}), text))
    }

    #[tool(
        description = "SSH connection pools of this and every other live sshdeck process.",
        input_schema = schema::empty_in(),
        output_schema = schema::pool_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn pool_stats(&self) -> Result<CallToolResult, ErrorData> {
        let mine = self.deck.pool_stats();
        let processes: Vec<_> = self
            .deck
            .processes()
            .into_iter()
            .map(|hb| {
                json!({"pid": hb.owner.pid, "program": hb.owner.program, "lastBeat": format_time(hb.last_beat), "servers": hb.pool.servers})
            })
            .collect();
        let mut text = String::new();
        for s in &mine.servers {
            text.push_str(&format!(
                "{}: {} connections, {} channels in use, {} opened, {} reused, {} failures, connect avg {:.0} ms\n",
                s.alias, s.connections, s.channels_in_use, s.opened, s.reused, s.failures, s.connect_ms_avg
            ));
        }
        text.push_str(&format!("{} sshdeck processes running", processes.len()));
        Ok(render::ok(json!({"servers": mine.servers, "processes": processes}), text))
    }

    #[tool(
        description = "Health of sshdeck itself: version, data dir, servers, jobs, processes.",
        input_schema = schema::diagnostics_in(),
        output_schema = schema::diagnostics_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn system_diagnostics(
        &self,
        Parameters(p): Parameters<DiagnosticsParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let servers = self.deck.servers().map(|l| l.len());
        let stats = self.deck.job_stats();
        let (servers, stats) = match (servers, stats) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Ok(render::error(&e)),
        };
        let processes: Vec<_> = self
            .deck
            .processes()
            .into_iter()
            .map(
                |hb| json!({"pid": hb.owner.pid, "program": hb.owner.program, "startedAt": format_time(hb.started_at)}),
            )
            .collect();
        let s = self.deck.settings();
        let mut v = json!({
            "version": env!("CARGO_PKG_VERSION"),
            "dataDir": self.deck.data_root().display().to_string(),
            "readOnly": s.readonly,
            "servers": servers,
            "jobs": {"total": stats.total, "byStatus": stats.by_status, "successRate": stats.success_rate},
            "processes": processes,
        });
        if p.verbose.unwrap_or(false) {
            v["settings"] = json!({
                "syncTimeoutS": s.sync_timeout.as_secs(),
                "defaultCmdTimeoutMs": s.default_cmd_timeout.as_millis() as u64,
                "maxConnectionsPerServer": s.max_connections_per_server,
                "minConnectionsPerServer": s.min_connections_per_server,
                "channelsPerConnection": s.channels_per_connection,
                "idleTimeoutMs": s.idle_timeout.as_millis() as u64,
                "maxQueueSize": s.max_queue_size,
                "inlineOutputBytes": s.inline_output,
                "logLevel": s.log_level.as_str(),
            });
        }
        let text = format!(
            "sshdeck {} — data dir {}, {} servers, {} jobs ({} running), {} processes{}",
            env!("CARGO_PKG_VERSION"),
            self.deck.data_root().display(),
            servers,
            stats.total,
            stats.by_status.get("running").copied().unwrap_or(0),
            v["processes"].as_array().map_or(0, Vec::len),
            if s.readonly { ", read-only" } else { "" }
        );
        Ok(render::ok(v, text))
    }
}
