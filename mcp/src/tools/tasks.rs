//! task_exec (and the hybrid wait shared by every tool that runs something).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::Value;
use sshdeck_core::jobs::{JobSpec, PromptRule, Step};
use sshdeck_core::secret::Secret;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::{Targets, seconds};
use crate::tools::guard::Guard;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    alias: Targets,
    cmd: String,
    /// Seconds (fractions allowed); 0: no limit.
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    rappel: Option<f64>,
    #[serde(default, rename = "skip_policy")]
    skip_policy: bool,
    #[serde(default, rename = "dry_run")]
    dry_run: bool,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CommandItem {
    Plain(String),
    Detailed(DetailedCommand),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DetailedCommand {
    command: String,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    continue_on_error: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SequenceParams {
    alias: Targets,
    commands: Vec<CommandItem>,
    #[serde(default)]
    continue_on_error: Option<bool>,
    /// Seconds for the whole sequence; 0: no limit.
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    rappel: Option<f64>,
    #[serde(default, rename = "skip_policy")]
    skip_policy: bool,
    #[serde(default, rename = "dry_run")]
    dry_run: bool,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Answer(String),
    Detailed {
        answer: String,
        #[serde(default)]
        max: Option<u32>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InteractiveParams {
    alias: String,
    cmd: String,
    /// Node's `interactive` (default true): false runs the command as task_exec does (no PTY, no answers).
    #[serde(default)]
    interactive: Option<bool>,
    #[serde(default)]
    responses: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    auto_respond: Option<bool>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    rappel: Option<f64>,
    #[serde(default, rename = "skip_policy")]
    skip_policy: bool,
    #[serde(default, rename = "dry_run")]
    dry_run: bool,
    #[serde(default)]
    force: bool,
}

/// `timeout` (ms, `0`: none) and `rappel` (whole seconds) from Node's seconds.
fn timing(timeout: Option<f64>, rappel: Option<f64>) -> Result<(Option<u64>, Option<u64>), sshdeck_core::Error> {
    Ok((seconds("timeout", timeout)?, rappel_secs(rappel)?))
}

/// The guard arguments of a command tool's parameters.
macro_rules! guard_of {
    ($($t:ty),*) => {$(
        impl $t {
            fn guard(&self) -> Guard {
                Guard { skip_policy: self.skip_policy, dry_run: self.dry_run, force: self.force }
            }
        }
    )*};
}
guard_of!(ExecParams, SequenceParams, InteractiveParams);

/// `rappel`, in whole seconds.
fn rappel_secs(v: Option<f64>) -> Result<Option<u64>, sshdeck_core::Error> {
    Ok(seconds("rappel", v)?.map(|ms| ms.div_ceil(1000)))
}

#[tool_router(router = tasks_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Run a shell command on servers: exit code, stdout, stderr; past the sync wait, the job goes on and its id is returned.",
        input_schema = schema::exec_in(),
        output_schema = schema::job_out(),
        annotations(destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn task_exec(
        &self,
        Parameters(p): Parameters<ExecParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let guard = p.guard();
        let (timeout_ms, rappel) = match timing(p.timeout, p.rappel) {
            Ok(t) => t,
            Err(e) => return Ok(render::error(&e)),
        };
        let spec = JobSpec::Exec { command: p.cmd, timeout_ms, read: false };
        if let Some(answer) = self.guard(&p.alias, &spec, &guard, &ctx).await {
            return Ok(answer);
        }
        Ok(self.run_targets(&p.alias, spec, rappel, ctx).await)
    }

    #[tool(
        description = "Run commands in order on a server, with per-step exit code and output.",
        input_schema = schema::sequence_in(),
        output_schema = schema::sequence_out(),
        annotations(destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn task_exec_sequence(
        &self,
        Parameters(p): Parameters<SequenceParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let guard = p.guard();
        if p.commands.is_empty() {
            let e = sshdeck_core::Error::InvalidArgument("commands must hold at least one command".into());
            return Ok(render::error(&e));
        }
        let mut steps = Vec::new();
        for c in p.commands {
            steps.push(match c {
                CommandItem::Plain(command) => Step { command, timeout_ms: None, continue_on_error: None },
                CommandItem::Detailed(d) => match seconds("timeout", d.timeout) {
                    Ok(timeout_ms) => Step { command: d.command, timeout_ms, continue_on_error: d.continue_on_error },
                    Err(e) => return Ok(render::error(&e)),
                },
            });
        }
        let (timeout_ms, rappel) = match timing(p.timeout, p.rappel) {
            Ok(t) => t,
            Err(e) => return Ok(render::error(&e)),
        };
        let spec = JobSpec::Sequence { steps, continue_on_error: p.continue_on_error.unwrap_or(false), timeout_ms };
        if let Some(answer) = self.guard(&p.alias, &spec, &guard, &ctx).await {
            return Ok(answer);
        }
        Ok(self.run_targets(&p.alias, spec, rappel, ctx).await)
    }

    #[tool(
        description = "Run a command on a PTY, answering its prompts (responses, autoRespond).",
        input_schema = schema::interactive_in(),
        output_schema = schema::job_out(),
        annotations(destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn task_exec_interactive(
        &self,
        Parameters(p): Parameters<InteractiveParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let guard = p.guard();
        let (timeout_ms, rappel) = match timing(p.timeout, p.rappel) {
            Ok(t) => t,
            Err(e) => return Ok(render::error(&e)),
        };
        let target = Targets::One(p.alias.clone());
        if p.interactive == Some(false) {
            let spec = JobSpec::Exec { command: p.cmd, timeout_ms, read: false };
            if let Some(answer) = self.guard(&target, &spec, &guard, &ctx).await {
                return Ok(answer);
            }
            return Ok(self.run_inline(&p.alias, spec, rappel, ctx).await);
        }
        let mut prompts = Vec::new();
        let mut answers = Vec::new();
        for (pattern, value) in p.responses.unwrap_or_default() {
            let (answer, max) = match serde_json::from_value::<Response>(value) {
                Ok(Response::Answer(a)) => (a, None),
                Ok(Response::Detailed { answer, max }) => (answer, max),
                Err(_) => {
                    let e = sshdeck_core::Error::InvalidArgument(format!(
                        "response for {pattern:?} must be a string or {{answer, max}}"
                    ));
                    return Ok(render::error(&e));
                }
            };
            prompts.push(PromptRule { pattern, max });
            answers.push(Secret::new(answer));
        }
        let spec = JobSpec::Interactive {
            command: p.cmd,
            timeout_ms,
            prompts,
            // Node answers standard confirmations unless told not to.
            auto_respond: p.auto_respond.unwrap_or(true),
        };
        if let Some(answer) = self.guard(&target, &spec, &guard, &ctx).await {
            return Ok(answer);
        }
        Ok(self.run_inline_with_answers(&p.alias, spec, answers, rappel, ctx).await)
    }
}
