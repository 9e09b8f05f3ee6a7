//! Fleets: server_group_set, server_group_list, server_group_remove, fleet_status, and the fan-out
//! paths used wherever a tool takes `alias`: a list of aliases, `group:NAME`, `tag:NAME` or `all`
//! runs one parent job with a child job per host (commands) or one probe per host (read-only tools).

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sshdeck_core::Error;
use sshdeck_core::jobs::{Job, JobSpec};
use sshdeck_core::ops::{self, Run};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::Targets;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSetParams {
    name: String,
    aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupNameParams {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetStatusParams {
    /// Node's name for the targets (default: all servers).
    #[serde(default)]
    alias: Option<Targets>,
    /// sshdeck's earlier name for the same.
    #[serde(default)]
    targets: Option<Targets>,
    /// Seconds per host (Node's; default 15).
    #[serde(default)]
    timeout_s: Option<f64>,
    /// Milliseconds per host (sshdeck's earlier argument).
    #[serde(default)]
    timeout: Option<u64>,
}

#[tool_router(router = fleet_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Create or replace a server group (use it as alias \"group:NAME\").",
        input_schema = schema::group_set_in(),
        output_schema = schema::group_out(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn server_group_set(&self, Parameters(p): Parameters<GroupSetParams>) -> Result<CallToolResult, ErrorData> {
        let servers = match self.deck.servers() {
            Ok(s) => s,
            Err(e) => return Ok(render::error(&e)),
        };
        Ok(match self.deck.groups().set(&p.name, p.aliases, &servers) {
            Ok(replaced) => {
                let aliases = self.deck.groups().list().ok().and_then(|mut g| g.remove(&p.name)).unwrap_or_default();
                let text = format!("group {} = {}", p.name, aliases.join(", "));
                render::ok(json!({"name": p.name, "aliases": aliases, "replaced": replaced}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Server groups and their aliases.",
        input_schema = schema::empty_in(),
        output_schema = schema::groups_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn server_group_list(&self) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.groups().list() {
            Ok(groups) => {
                let text = groups.iter().map(|(n, a)| format!("{n}: {}", a.join(", "))).collect::<Vec<_>>().join("\n");
                let list: Vec<Value> = groups.iter().map(|(n, a)| json!({"name": n, "aliases": a})).collect();
                render::ok(json!({"groups": list}), if text.is_empty() { "no groups".into() } else { text })
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Remove a server group (its servers stay).",
        input_schema = schema::group_name_in(),
        output_schema = schema::group_out(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn server_group_remove(
        &self,
        Parameters(p): Parameters<GroupNameParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.groups().remove(&p.name) {
            Ok(aliases) => render::ok(json!({"name": p.name, "aliases": aliases}), format!("group {} removed", p.name)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Per host: reachable, latency, and a digest of CPU, memory, load and fullest disk. Targets: aliases, group:NAME, tag:NAME or all.",
        input_schema = schema::fleet_status_in(),
        output_schema = schema::fleet_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn fleet_status(
        &self,
        Parameters(p): Parameters<FleetStatusParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let ms = match crate::tools::common::seconds("timeout_s", p.timeout_s) {
            Ok(s) => s.or(p.timeout).unwrap_or(15_000),
            Err(e) => return Ok(render::error(&e)),
        };
        let limit = Duration::from_millis(ms.clamp(1000, 120_000));
        let deck = self.deck.clone();
        let status = move |alias: String, run: Run| {
            let deck = deck.clone();
            async move {
                let started = Instant::now();
                let mut opts = deck.exec_options();
                opts.timeout = Some(limit);
                opts.cancel = run.cancel.clone();
                deck.exec(&alias, "true", opts, &mut |_, _| {}).await?;
                let latency = started.elapsed().as_secs_f64() * 1000.0;
                let r = ops::system_resources(&deck, &alias, Run { timeout: Some(limit), ..run }).await?;
                let fullest = r.disks.iter().max_by(|a, b| a.usage_percent.total_cmp(&b.usage_percent));
                Ok(json!({
                    "reachable": true, "latencyMs": (latency * 10.0).round() / 10.0,
                    "cpuPercent": r.cpu.usage_percent, "cores": r.cpu.cores, "load1": r.load.one,
                    "memoryPercent": r.memory.usage_percent, "swapPercent": r.memory.swap_usage_percent,
                    "fullestDisk": fullest.map(|d| json!({"mount": d.mount, "usagePercent": d.usage_percent})),
                    "uptimeSeconds": r.uptime_seconds
                }))
            }
        };
        let exprs = p.alias.or(p.targets).map_or_else(|| vec!["all".to_string()], |t| t.exprs());
        let targets = match self.deck.resolve_targets(&exprs) {
            Ok(t) => t,
            Err(e) => return Ok(render::error(&e)),
        };
        Ok(self.fan_probe(&ctx, targets, status, true).await)
    }
}

impl Sshdeck {
    /// The single alias `targets` names, or `None` for a fan-out (a list, `group:`, `tag:`, `all`, or a
    /// bare group name that no server has as its alias).
    pub fn single_target(&self, targets: &Targets) -> Option<String> {
        let alias = targets.single()?;
        let is_group =
            self.deck.server(&alias).is_err() && self.deck.groups().list().is_ok_and(|g| g.contains_key(&alias));
        (!is_group).then_some(alias)
    }

    /// Runs a read-only probe on one server, or on each of many (at most FLEET_CONCURRENCY at once).
    pub async fn probe_targets<T, F, Fut>(
        &self,
        ctx: &RequestContext<RoleServer>,
        targets: &Targets,
        f: F,
    ) -> CallToolResult
    where
        T: Serialize,
        F: Fn(String, Run) -> Fut + Clone,
        Fut: Future<Output = sshdeck_core::Result<T>>,
    {
        if let Some(alias) = self.single_target(targets) {
            return crate::tools::common::probe(ctx, |run| f(alias, run)).await;
        }
        let aliases = match self.deck.resolve_targets(&targets.exprs()) {
            Ok(t) => t,
            Err(e) => return render::error(&e),
        };
        let as_value = move |alias: String, run: Run| {
            let f = f.clone();
            async move { serde_json::to_value(f(alias, run).await?).map_err(|e| Error::InvalidArgument(e.to_string())) }
        };
        self.fan_probe(ctx, aliases, as_value, false).await
    }

    /// One probe per host, bounded concurrency, cancelled with the request; unreachable hosts are
    /// rows with `error` (and `reachable: false` when `reachability` is set).
    async fn fan_probe<F, Fut>(
        &self,
        ctx: &RequestContext<RoleServer>,
        aliases: Vec<String>,
        f: F,
        reachability: bool,
    ) -> CallToolResult
    where
        F: Fn(String, Run) -> Fut,
        Fut: Future<Output = sshdeck_core::Result<Value>>,
    {
        let (rx, _watch) = crate::tools::common::cancel_on_request(ctx);
        let total = aliases.len();
        let token = ctx.meta.get_progress_token();
        let f = &f;
        let mut results = futures_util::stream::iter(aliases.into_iter().enumerate())
            .map(|(i, alias)| {
                let run = Run { cancel: Some(rx.clone()), ..Run::default() };
                async move { (i, alias.clone(), f(alias, run).await) }
            })
            .buffer_unordered(self.deck.settings().fleet_concurrency);
        let mut rows: Vec<(usize, Value)> = Vec::new();
        let mut ok = 0;
        while let Some((i, alias, r)) = results.next().await {
            let row = match r {
                Ok(Value::Object(mut m)) => {
                    ok += 1;
                    m.insert("alias".into(), json!(alias));
                    Value::Object(m)
                }
                Ok(other) => {
                    ok += 1;
                    json!({"alias": alias, "value": other})
                }
                Err(e) => {
                    let mut m = Map::new();
                    m.insert("alias".into(), json!(alias));
                    if reachability {
                        m.insert("reachable".into(), json!(false));
                    }
                    m.insert("error".into(), json!({"code": e.code(), "message": e.to_string()}));
                    Value::Object(m)
                }
            };
            if let Some(token) = token.clone() {
                let p = ProgressNotificationParam::new(token, rows.len() as f64 + 1.0)
                    .with_total(total as f64)
                    .with_message(format!("{alias}: {}", if row.get("error").is_some() { "failed" } else { "ok" }));
                let _ = ctx.peer.notify_progress(p).await;
            }
            rows.push((i, row));
        }
        rows.sort_by_key(|(i, _)| *i);
        let hosts: Vec<Value> = rows.into_iter().map(|(_, v)| v).collect();
        let mut text = format!("{ok} of {total} hosts ok");
        for h in &hosts {
            text.push_str(&format!("\n{}", h));
        }
        render::ok(json!({"total": total, "ok": ok, "failed": total - ok, "hosts": hosts}), text)
    }

    /// Runs a job on the targets: inline on one server, else as a fan-out.
    pub async fn run_targets(
        &self,
        targets: &Targets,
        spec: JobSpec,
        rappel: Option<u64>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        match self.single_target(targets) {
            Some(alias) => self.run_inline(&alias, spec, rappel, ctx).await,
            None => self.run_fleet_inline(targets, spec, ctx).await,
        }
    }

    async fn run_fleet_inline(
        &self,
        targets: &Targets,
        spec: JobSpec,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let submitted = self
            .deck
            .resolve_targets(&targets.exprs())
            .and_then(|aliases| self.deck.submit_fleet(aliases, spec, &crate::tokens::origin()));
        let (parent, children) = match submitted {
            Ok(pc) => pc,
            Err(e) => return render::error(&e),
        };
        let total = children.len();
        let token = ctx.meta.get_progress_token();
        let deadline = Instant::now() + self.deck.settings().sync_timeout;
        let mut reported: HashSet<String> = HashSet::new();
        let mut parent_now = parent.clone();
        loop {
            tokio::select! {
                r = self.deck.wait(&parent.id, Some(Duration::from_millis(300))) => {
                    if let Ok(j) = r { parent_now = j; }
                }
                _ = ctx.ct.cancelled() => {
                    let _ = self.deck.cancel(&parent.id);
                    if let Ok(j) = self.deck.wait(&parent.id, Some(Duration::from_secs(5))).await { parent_now = j; }
                    break;
                }
            }
            if let Some(token) = token.clone() {
                for c in self.deck.fleet_children(&parent_now) {
                    if c.status.is_terminal() && reported.insert(c.id.to_string()) {
                        let p = ProgressNotificationParam::new(token.clone(), reported.len() as f64)
                            .with_total(total as f64)
                            .with_message(format!("{}: {}", c.targets[0], host_outcome(&c)));
                        let _ = ctx.peer.notify_progress(p).await;
                    }
                }
            }
            if parent_now.status.is_terminal() || Instant::now() >= deadline {
                break;
            }
        }
        let children = self.deck.fleet_children(&parent_now);
        let mut m = render::job(&parent_now, None);
        m.insert("hosts".into(), Value::Array(children.iter().map(host_row).collect()));
        if !parent_now.status.is_terminal() {
            let done = children.iter().filter(|c| c.status.is_terminal()).count();
            m.insert(
                "message".into(),
                json!(format!(
                    "{done} of {total} hosts done; the fan-out goes on in the background: task_wait or task_status (id {}), task_cancel stops every host",
                    parent.id
                )),
            );
        }
        let text = render::job_text(&m);
        if render::is_failure(&parent_now) {
            render::failed(Value::Object(m), text)
        } else {
            render::ok(Value::Object(m), text)
        }
    }
}

fn host_outcome(c: &Job) -> String {
    let r = c.result.as_ref();
    match (r.and_then(|r| r.end.exit_code), r.and_then(|r| r.end.error_code.as_deref())) {
        (Some(code), _) => format!("{} (exit {code})", c.status.as_str()),
        (None, Some(e)) => format!("{} ({e})", c.status.as_str()),
        _ => c.status.as_str().to_string(),
    }
}

/// One host of a fan-out: alias, child job id, status, exit code, duration, error.
pub fn host_row(c: &Job) -> Value {
    let mut m = Map::new();
    m.insert("alias".into(), json!(c.targets.first()));
    m.insert("id".into(), json!(c.id));
    m.insert("status".into(), json!(c.status));
    if let Some(r) = &c.result {
        if let Some(code) = r.end.exit_code {
            m.insert("exitCode".into(), json!(code));
        }
        m.insert("durationMs".into(), json!(r.end.duration_ms));
        if let (Some(code), Some(msg)) = (&r.end.error_code, &r.end.error_message) {
            m.insert("error".into(), json!({"code": code, "message": msg}));
        }
    }
    Value::Object(m)
}
