//! work_start, work_log, work_list, work_end (Node's names): one intervention on a server or a
//! project, in Node's `work_sessions.json`. Jobs accepted while it is active on their server carry its
//! id; work_list and work_end list them, and work_end writes the summary into the server's note.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::Error;
use sshdeck_core::jobs::Filter;
use sshdeck_core::notes::NotePatch;
use sshdeck_core::projects;
use sshdeck_core::snapshots::Side;
use sshdeck_core::work::WorkStart;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// Jobs listed per session, at most.
const JOBS_LISTED: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartParams {
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    snapshot: bool,
    #[serde(default)]
    paths: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListParams {
    #[serde(default)]
    include_history: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndParams {
    id: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    note: Option<bool>,
}

fn session_line(s: &Value) -> String {
    let on = s["alias"].as_str().or(s["project"].as_str()).unwrap_or("every server");
    let what = s["message"].as_str().or(s["tag"].as_str()).unwrap_or("");
    let jobs = s["jobs"].as_array().map_or(0, Vec::len);
    let log = s["log"].as_array().map_or(0, Vec::len);
    format!(
        "{} [{}] {on} since {}: {what} ({jobs} jobs, {log} log entries){}",
        s["id"].as_str().unwrap_or(""),
        s["status"].as_str().unwrap_or(""),
        s["startedAt"].as_str().unwrap_or(""),
        s["summary"].as_str().map(|x| format!(" — {x}")).unwrap_or_default()
    )
}

impl Sshdeck {
    /// The session with the jobs that carry its id (newest first, bounded).
    fn with_jobs(&self, mut s: Value) -> Value {
        let id = s["id"].as_str().unwrap_or_default().to_string();
        let filter = Filter { limit: usize::MAX, top_level: true, ..Default::default() };
        let jobs: Vec<Value> = self
            .deck
            .jobs_page(&filter)
            .map(|p| p.jobs)
            .unwrap_or_default()
            .into_iter()
            .filter(|j| j.work.as_deref() == Some(id.as_str()))
            .take(JOBS_LISTED)
            .map(|j| {
                json!({"id": j.id.to_string(), "kind": j.kind, "status": j.status, "targets": j.targets,
                    "summary": j.spec.summary(),
                    "exitCode": j.result.as_ref().and_then(|r| r.end.exit_code)})
            })
            .collect();
        s["jobs"] = json!(jobs);
        s
    }

    async fn start_work(&self, p: StartParams) -> Result<Value, Error> {
        if let Some(a) = &p.alias {
            self.deck.server(a)?;
        }
        let project = p.project.as_deref().map(|n| self.deck.projects().get(n)).transpose()?;
        let roles = project.as_ref().map(projects::roles).unwrap_or_default();
        let mut aliases: Vec<String> = match &p.alias {
            Some(a) => vec![a.clone()],
            None => roles.iter().map(|r| r.alias.clone()).collect(),
        };
        aliases.sort();
        aliases.dedup();
        let snapshot = if p.snapshot {
            // What to snapshot: the paths given, else the project's path on the server.
            let alias = match (&p.alias, aliases.as_slice()) {
                (Some(a), _) => a.clone(),
                (None, [one]) => one.clone(),
                _ => {
                    return Err(Error::InvalidArgument("snapshot: give alias (the server whose paths to keep)".into()));
                }
            };
            let paths = match &p.paths {
                Some(v) if !v.is_empty() => v.clone(),
                _ => roles.iter().filter(|r| r.alias == alias).map(|r| r.path.clone()).collect(),
            };
            if paths.is_empty() {
                return Err(Error::InvalidArgument("snapshot: give paths to keep before the work".into()));
            }
            let mut opts = self.deck.snapshot_options(true, None);
            opts.tag = p.tag.clone();
            opts.message = Some(p.message.clone().unwrap_or_else(|| "before a work session".into()));
            let side = Side { kind: "remote".into(), alias: Some(alias) };
            Some(self.deck.snapshot_create(&side, &paths, &opts).await?.snapshot.id)
        } else {
            None
        };
        self.deck.work_sessions().start(WorkStart {
            alias: p.alias,
            project: p.project,
            tag: p.tag,
            message: p.message,
            aliases,
            snapshot,
        })
    }
}

#[tool_router(router = work_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Start a work session on a server or project (snapshot: keep paths first). Its servers' jobs carry its id until work_end.",
        input_schema = schema::work_start_in(),
        output_schema = schema::work_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    async fn work_start(&self, Parameters(p): Parameters<StartParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.start_work(p).await {
            Ok(s) => {
                let snap = s["snapshot"].as_str().map(|x| format!("\nsnapshot {x} taken first")).unwrap_or_default();
                render::ok(json!({"session": s}), format!("started {}{snap}", session_line(&s)))
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Add an entry to a work session's log (type: edit, command, deploy, note…).",
        input_schema = schema::work_log_in(),
        output_schema = schema::work_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = false)
    )]
    async fn work_log(&self, Parameters(p): Parameters<LogParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.work_sessions().log(&p.id, &p.kind, p.detail, p.path) {
            Ok(s) => render::ok(json!({"session": s}), format!("logged {} in {}", p.kind, p.id)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Active work sessions (includeHistory: ended ones too), each with its log and jobs.",
        input_schema = schema::work_list_in(),
        output_schema = schema::work_list_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn work_list(&self, Parameters(p): Parameters<ListParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.work_sessions().list(p.include_history) {
            Ok(all) => {
                let all: Vec<Value> = all.into_iter().map(|s| self.with_jobs(s)).collect();
                let text = if all.is_empty() {
                    "no work session".to_string()
                } else {
                    all.iter().map(session_line).collect::<Vec<_>>().join("\n")
                };
                render::ok(json!({"total": all.len(), "sessions": all}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "End a work session; the summary becomes its servers' last intervention (note: false skips).",
        input_schema = schema::work_end_in(),
        output_schema = schema::work_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = false)
    )]
    async fn work_end(&self, Parameters(p): Parameters<EndParams>) -> Result<CallToolResult, ErrorData> {
        let s = match self.deck.work_sessions().end(&p.id, p.summary.clone()) {
            Ok(s) => self.with_jobs(s),
            Err(e) => return Ok(render::error(&e)),
        };
        let mut noted = Vec::new();
        if let (true, Some(summary)) = (p.note.unwrap_or(true), &p.summary) {
            for alias in s["aliases"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                let patch = NotePatch { intervention: Some(summary.clone()), ..Default::default() };
                match self.deck.notes().set(alias, patch) {
                    Ok(_) => noted.push(alias.to_string()),
                    Err(e) => tracing::warn!("cannot note the work session on {alias}: {e}"),
                }
            }
        }
        let text = format!(
            "ended {}{}",
            session_line(&s),
            if noted.is_empty() { String::new() } else { format!("\nnoted on {}", noted.join(", ")) }
        );
        Ok(render::ok(json!({"session": s, "noted": noted}), text))
    }
}
