//! infra_audit (Node's name): one read of everything sshdeck knows about the fleet, for an agent that
//! starts a conversation — servers (no secrets), groups, notes, the API catalog (no credentials), the
//! queue, recent crashed and failed jobs, the pools of live processes.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::jobs::{Filter, JobReport, JobStatus};
use sshdeck_core::servers::ServerSummary;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    #[serde(default)]
    compact: Option<bool>,
}

#[tool_router(router = insight_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Everything sshdeck knows, in one read: servers, groups, notes, APIs, queue, recent failures, pools (secrets never shown). compact (default true) gives counts and one line each.",
        input_schema = schema::infra_audit_in(),
        output_schema = schema::infra_audit_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn infra_audit(&self, Parameters(p): Parameters<AuditParams>) -> Result<CallToolResult, ErrorData> {
        let compact = p.compact.unwrap_or(true);
        let d = &self.deck;
        let servers: Vec<ServerSummary> = d.servers().unwrap_or_default().iter().map(ServerSummary::from).collect();
        let groups = d.groups().list().unwrap_or_default();
        let notes = d.notes().list().unwrap_or_default();
        let apis: Vec<Value> =
            d.api_catalog().list().unwrap_or_default().iter().map(|(alias, api)| api.public(alias)).collect();
        let stats = d.job_stats().ok();
        let bad = Filter {
            statuses: vec![JobStatus::Crashed, JobStatus::Failed, JobStatus::TimedOut],
            limit: if compact { 5 } else { 50 },
            top_level: true,
            ..Filter::default()
        };
        let failures: Vec<JobReport> =
            d.jobs_page(&bad).map(|p| p.jobs.iter().map(JobReport::of).collect()).unwrap_or_default();
        let pools = d.processes();
        let mut text = format!(
            "{} servers, {} groups, {} notes, {} APIs; jobs: {}; {} live sshdeck processes",
            servers.len(),
            groups.len(),
            notes.len(),
            apis.len(),
            stats.as_ref().map_or("-".to_string(), |s| format!(
                "{} on record, success rate {:.0}%",
                s.total,
                s.success_rate * 100.0
            )),
            pools.len()
        );
        for s in &servers {
            let note = notes
                .get(&s.alias)
                .and_then(sshdeck_core::notes::one_line)
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
            text.push_str(&format!("\n{}: {}@{}:{} ({}){note}", s.alias, s.user, s.host, s.port, s.auth));
        }
        for f in &failures {
            text.push_str(&format!("\n{} {} {} {}", f.id, f.status.as_str(), f.alias, f.command));
        }
        let v = if compact {
            json!({"servers": servers, "groups": groups, "notes": notes.len(), "apis": apis.len(),
                "jobs": stats, "recentFailures": failures, "processes": pools.len()})
        } else {
            json!({"servers": servers, "groups": groups, "notes": notes, "apis": apis, "jobs": stats,
                "recentFailures": failures, "processes": pools})
        };
        Ok(render::ok(v, text))
    }
}
