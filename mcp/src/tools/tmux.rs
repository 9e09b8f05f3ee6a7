//! tmux_create, tmux_exec, tmux_read, tmux_list, tmux_kill (Node's names): tmux on a server through
//! quoted recipes, each run as a job (so the console, history and audit trail show it).
//! `NOT_INSTALLED` when tmux is missing; `tmux_exec`'s command is what the operator's policy and the
//! destructive-command confirmation see; `tmux_read` returns the pane's last 200 lines at most.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::Error;
use sshdeck_core::jobs::JobSpec;
use sshdeck_core::ssh::quote::shell_quote;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::Targets;
use crate::tools::guard::Guard;

/// Lines of a pane `tmux_read` returns at most.
const READ_LINES: u32 = 200;
/// Exit code of a recipe that found no tmux.
const NO_TMUX: u32 = 90;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateParams {
    alias: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    start_cmd: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    alias: String,
    session: String,
    cmd: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    alias: String,
    session: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasParams {
    alias: String,
}

/// A session name tmux takes as a target without surprises (`.` and `:` separate windows and panes).
fn session_name(name: &str) -> Result<&str, Error> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::InvalidArgument(format!("session name {name:?}: letters, digits, - and _ only")));
    }
    Ok(name)
}

/// The structured content of a result that did not fail, to add to.
fn succeeded(r: &mut CallToolResult) -> Option<&mut Value> {
    if r.is_error == Some(true) { None } else { r.structured_content.as_mut() }
}

/// `script` run only where tmux exists.
fn recipe(script: &str) -> String {
    format!("command -v tmux >/dev/null 2>&1 || exit {NO_TMUX}; {script}")
}

impl Sshdeck {
    /// Runs a tmux recipe as a job and answers with its result; a missing tmux is `NOT_INSTALLED`.
    async fn tmux(&self, alias: &str, script: String, ctx: RequestContext<RoleServer>) -> CallToolResult {
        let spec = JobSpec::Exec { command: recipe(&script), timeout_ms: Some(30_000), read: false };
        let mut r = self.run_inline(alias, spec, None, ctx).await;
        let s = r.structured_content.clone().unwrap_or(Value::Null);
        if s["exitCode"] == NO_TMUX {
            let e = Error::NotInstalled { alias: alias.to_string(), tool: "tmux".into() };
            let mut err = render::error(&e);
            if let Some(v) = err.structured_content.as_mut() {
                v["id"] = s["id"].clone();
            }
            r = err;
        }
        r
    }
}

#[tool_router(router = tmux_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Start a detached tmux session on a server (name, or a generated one; optional start_cmd).",
        input_schema = schema::tmux_create_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    async fn tmux_create(
        &self,
        Parameters(p): Parameters<CreateParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let name =
            p.name.unwrap_or_else(|| format!("sshdeck-{}", &sshdeck_core::jobs::JobId::random().to_string()[..6]));
        if let Err(e) = session_name(&name) {
            return Ok(render::error(&e));
        }
        if let Some(cmd) = &p.start_cmd {
            let spec = JobSpec::Exec { command: cmd.clone(), timeout_ms: None, read: false };
            if let Some(refused) = self.guard(&Targets::One(p.alias.clone()), &spec, &Guard::default(), &ctx).await {
                return Ok(refused);
            }
        }
        let start = p.start_cmd.as_deref().map(|c| format!(" {}", shell_quote(c))).unwrap_or_default();
        let script = format!("tmux new-session -d -s {}{start} && echo {}", shell_quote(&name), shell_quote(&name));
        let mut r = self.tmux(&p.alias, script, ctx).await;
        if let Some(v) = succeeded(&mut r) {
            v["session"] = json!(name);
        }
        Ok(r)
    }

    #[tool(
        description = "Type a command into a tmux session (then Enter); the policy and destructive checks see the command.",
        input_schema = schema::tmux_exec_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn tmux_exec(
        &self,
        Parameters(p): Parameters<ExecParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if let Err(e) = session_name(&p.session) {
            return Ok(render::error(&e));
        }
        // What the operator's policy and the destructive check judge is the command typed, not the wrapper.
        let typed = JobSpec::Exec { command: p.cmd.clone(), timeout_ms: None, read: false };
        if let Some(refused) = self.guard(&Targets::One(p.alias.clone()), &typed, &Guard::default(), &ctx).await {
            return Ok(refused);
        }
        let (s, c) = (shell_quote(&p.session), shell_quote(&p.cmd));
        Ok(self.tmux(&p.alias, format!("tmux send-keys -t {s} -l -- {c} && tmux send-keys -t {s} Enter"), ctx).await)
    }

    #[tool(
        description = "The last 200 lines of a tmux session's pane.",
        input_schema = schema::tmux_session_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn tmux_read(
        &self,
        Parameters(p): Parameters<SessionParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if let Err(e) = session_name(&p.session) {
            return Ok(render::error(&e));
        }
        let script = format!("tmux capture-pane -p -J -t {} -S -{READ_LINES}", shell_quote(&p.session));
        Ok(self.tmux(&p.alias, script, ctx).await)
    }

    #[tool(
        description = "tmux sessions on a server: name, windows, created, attached.",
        input_schema = schema::alias_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn tmux_list(
        &self,
        Parameters(p): Parameters<AliasParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        // No tmux server running means no session, not an error.
        // `:` cannot be in a session name (tmux refuses it); tabs would be printed as `_`.
        let script = "tmux list-sessions -F '#{session_name}:#{session_windows}:#{session_created}:#{session_attached}' 2>/dev/null || true";
        let mut r = self.tmux(&p.alias, script.to_string(), ctx).await;
        if let Some(v) = succeeded(&mut r) {
            let sessions: Vec<Value> = v["stdout"]
                .as_str()
                .unwrap_or("")
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.rsplitn(4, ':').collect();
                    (f.len() == 4).then(|| {
                        json!({"name": f[3], "windows": f[2].parse::<u32>().ok(), "created": f[1].parse::<u64>().ok(),
                            "attached": f[0] != "0"})
                    })
                })
                .collect();
            v["sessions"] = json!(sessions);
        }
        Ok(r)
    }

    #[tool(
        description = "End a tmux session on a server.",
        input_schema = schema::tmux_session_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn tmux_kill(
        &self,
        Parameters(p): Parameters<SessionParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if let Err(e) = session_name(&p.session) {
            return Ok(render::error(&e));
        }
        Ok(self.tmux(&p.alias, format!("tmux kill-session -t {}", shell_quote(&p.session)), ctx).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_plain() {
        assert!(session_name("build-1_x").is_ok());
        for bad in ["", "a.b", "a:b", "a b", "$(x)", "'"] {
            assert_eq!(session_name(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad:?}");
        }
    }
}
