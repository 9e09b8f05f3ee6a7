//! shell_create, shell_exec, shell_list, shell_close (Node's names and arguments): persistent shells
//! held where jobs run (the runner), so `cd`, `export` and a sourced virtualenv last between commands
//! and outlive this MCP server. Each `shell_exec` is a `shell` job (console, history, audit); the
//! operator's policy and the destructive-command confirmation see the command typed.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::jobs::JobSpec;
use sshdeck_core::shells::{ShellInfo, ShellOp, Shells};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::Targets;
use crate::tools::guard::Guard;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateParams {
    alias: String,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "cmdTimeout")]
    cmd_timeout: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    #[serde(rename = "sessionId")]
    session_id: String,
    command: String,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    skip_policy: bool,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdParams {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// Milliseconds from Node's number (a fraction is rounded; negative is refused).
fn millis(v: Option<f64>, name: &str) -> Result<Option<u64>, sshdeck_core::Error> {
    match v {
        Some(ms) if !ms.is_finite() || ms < 0.0 => {
            Err(sshdeck_core::Error::InvalidArgument(format!("{name} must be a number of milliseconds ≥ 0")))
        }
        Some(ms) => Ok(Some(ms.round() as u64)),
        None => Ok(None),
    }
}

fn line(i: &ShellInfo) -> String {
    format!(
        "{} on {} in {}: {} command{}{}",
        i.session_id,
        i.alias,
        if i.cwd.is_empty() { "?" } else { &i.cwd },
        i.commands,
        if i.commands == 1 { "" } else { "s" },
        if i.busy { ", busy" } else { "" }
    )
}

impl Sshdeck {
    async fn one_shell(&self, id: &str) -> Result<ShellInfo, sshdeck_core::Error> {
        self.deck.shell(ShellOp::List).await?.into_iter().find(|s| s.session_id == id).ok_or_else(|| {
            sshdeck_core::Error::NotFound {
                what: "shell session",
                name: format!("{id} (shell_list shows the open ones)"),
            }
        })
    }
}

#[tool_router(router = shells_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Open a persistent shell on a server (workdir, env exported): cd, export and source last between shell_exec calls. Closed after SHELL_IDLE_TIMEOUT_S unused.",
        input_schema = schema::shell_create_in(),
        output_schema = schema::shell_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    async fn shell_create(&self, Parameters(p): Parameters<CreateParams>) -> Result<CallToolResult, ErrorData> {
        let cmd_timeout_ms = match millis(p.cmd_timeout, "cmdTimeout") {
            Ok(v) => v,
            Err(e) => return Ok(render::error(&e)),
        };
        let op = ShellOp::Create {
            alias: p.alias,
            workdir: p.workdir,
            env: p.env.into_iter().collect(),
            cmd_timeout_ms,
            origin: crate::tokens::origin(),
        };
        Ok(match self.deck.shell(op).await {
            Ok(mut v) if !v.is_empty() => {
                let info = v.remove(0);
                let text = format!("shell session {} open on {} in {}", info.session_id, info.alias, info.cwd);
                render::ok(serde_json::to_value(&info).unwrap_or(Value::Null), text)
            }
            Ok(_) => render::error(&sshdeck_core::Error::RunnerUnavailable("no session came back".into())),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Run a command in a shell session (one at a time per session): stdout+stderr as on a terminal, exitCode, timedOut. At the timeout the command gets Ctrl-C and the session stays.",
        input_schema = schema::shell_exec_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn shell_exec(
        &self,
        Parameters(p): Parameters<ExecParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let timeout_ms = match millis(p.timeout, "timeout") {
            Ok(v) => v,
            Err(e) => return Ok(render::error(&e)),
        };
        if let Err(e) = Shells::check_command(&p.command) {
            return Ok(render::error(&e));
        }
        let info = match self.one_shell(&p.session_id).await {
            Ok(i) => i,
            Err(e) => return Ok(render::error(&e)),
        };
        // The policy and the destructive check judge the command typed, not the session's wrapper.
        let typed = JobSpec::Exec { command: p.command.clone(), timeout_ms: None, read: false };
        let guard = Guard { skip_policy: p.skip_policy, force: p.force, dry_run: false };
        if let Some(refused) = self.guard(&Targets::One(info.alias.clone()), &typed, &guard, &ctx).await {
            return Ok(refused);
        }
        let spec = JobSpec::Shell { session: p.session_id.clone(), command: p.command, timeout_ms };
        let mut r = self.run_inline(&info.alias, spec, None, ctx).await;
        let after = self.one_shell(&p.session_id).await.ok();
        if let Some(v) = r.structured_content.as_mut() {
            v["sessionId"] = json!(p.session_id);
            v["timedOut"] = json!(v["error"]["code"] == "COMMAND_TIMEOUT");
            v["sessionOpen"] = json!(after.is_some());
            if let Some(a) = after {
                v["cwd"] = json!(a.cwd);
            }
        }
        Ok(r)
    }

    #[tool(
        description = "Open shell sessions: id, server, working directory, commands run, busy, idle close.",
        input_schema = schema::empty_in(),
        output_schema = schema::shells_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn shell_list(&self) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.shell(ShellOp::List).await {
            Ok(v) => {
                let text = if v.is_empty() {
                    "no shell session is open".to_string()
                } else {
                    v.iter().map(line).collect::<Vec<_>>().join("\n")
                };
                render::ok(json!({"sessions": v}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Close a shell session (a command still running in it ends with it).",
        input_schema = schema::shell_id_in(),
        output_schema = schema::shell_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn shell_close(&self, Parameters(p): Parameters<IdParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.shell(ShellOp::Close { id: p.session_id }).await {
            Ok(v) if !v.is_empty() => {
                let mut value = serde_json::to_value(&v[0]).unwrap_or(Value::Null);
                value["closed"] = json!(true);
                render::ok(value, format!("closed {}", line(&v[0])))
            }
            Ok(_) => render::error(&sshdeck_core::Error::RunnerUnavailable("no session came back".into())),
            Err(e) => render::error(&e),
        })
    }
}
