//! task_exec (and the hybrid wait shared by every tool that runs something).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::capture::Captured;
use sshdeck_core::exec::Stream;
use sshdeck_core::jobs::{JobId, JobSpec, PromptRule, Step};
use sshdeck_core::secret::Secret;

use crate::render::{self, Inline};
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

/// Output of a job run for this call, captured as it arrives, per step (a plain command is step 0).
#[derive(Clone)]
pub struct Live {
    steps: Arc<Mutex<Vec<(Captured, Captured)>>>,
    limit: usize,
    bytes: Arc<AtomicU64>,
}

impl Live {
    pub fn new(limit: usize) -> Self {
        Live { steps: Arc::default(), limit, bytes: Arc::default() }
    }

    pub fn sink(&self) -> sshdeck_core::OutputSink {
        let me = self.clone();
        Box::new(move |step, s, d| {
            let mut steps = me.steps.lock().expect("lock");
            while steps.len() <= step {
                steps.push((Captured::new(me.limit), Captured::new(me.limit)));
            }
            match s {
                Stream::Stdout => steps[step].0.push(d),
                Stream::Stderr => steps[step].1.push(d),
            }
            me.bytes.fetch_add(d.len() as u64, Ordering::Relaxed);
        })
    }
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

impl Sshdeck {
    /// Submits a job, waits up to the sync timeout (sending progress when asked, cancelling the job
    /// when the request is cancelled), and answers with the result or the running job's id.
    pub async fn run_inline(
        &self,
        alias: &str,
        spec: JobSpec,
        rappel: Option<u64>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run_inline_with_answers(alias, spec, Vec::new(), rappel, ctx).await
    }

    pub async fn run_inline_with_answers(
        &self,
        alias: &str,
        spec: JobSpec,
        answers: Vec<Secret>,
        rappel: Option<u64>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let live = Live::new(self.deck.settings().inline_output);
        let job = match self.deck.submit_with_answers(alias, spec, "mcp", Some(live.sink()), answers) {
            Ok(j) => j,
            Err(e) => return render::error(&e),
        };
        if let Some(secs) = rappel {
            self.reminders.lock().expect("lock").insert(job.id.clone(), (Instant::now(), secs));
        }
        self.wait_inline(&job.id, Some(&live), ctx).await
    }

    pub async fn wait_inline(
        &self,
        id: &JobId,
        live: Option<&Live>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let sync = self.deck.settings().sync_timeout;
        let token = ctx.meta.get_progress_token();
        let wait = self.deck.wait(id, Some(sync));
        tokio::pin!(wait);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let started = Instant::now();
        let mut sent = u64::MAX;
        let job = loop {
            tokio::select! {
                r = &mut wait => break r,
                _ = ctx.ct.cancelled() => {
                    // The client gave up on this request: the job must not go on unseen.
                    let _ = self.deck.cancel(id);
                    break self.deck.wait(id, Some(Duration::from_secs(3))).await;
                }
                _ = tick.tick(), if token.is_some() => {
                    let transfer = self.deck.transfer_progress(id);
                    let bytes = match &transfer {
                        Some(t) => t.bytes.load(Ordering::Relaxed) + t.files_done.load(Ordering::Relaxed),
                        None => live.map_or(0, |l| l.bytes.load(Ordering::Relaxed)),
                    };
                    let elapsed = started.elapsed().as_secs_f64();
                    if bytes != sent {
                        sent = bytes;
                        let message = match &transfer {
                            Some(t) => format!("job {id}: {} after {elapsed:.1}s", t.summary()),
                            None => format!("job {id}: {bytes} bytes of output after {elapsed:.1}s"),
                        };
                        let p = ProgressNotificationParam::new(token.clone().expect("checked"), elapsed.max(0.001))
                            .with_message(message);
                        let _ = ctx.peer.notify_progress(p).await;
                    }
                }
            }
        };
        let job = match job {
            Ok(j) => j,
            Err(e) => return render::error(&e),
        };
        let empty = (Captured::new(0), Captured::new(0));
        let guard = live.map(|l| l.steps.lock().expect("lock"));
        let mut m = match &job.spec {
            JobSpec::Sequence { .. } => {
                let mut m = render::job(&job, None);
                let outputs: &[(Captured, Captured)] = guard.as_deref().map_or(&[], |v| v.as_slice());
                m.insert("steps".into(), render::steps(&job, outputs));
                m
            }
            // The per-file lines are in the output file; the structured report is in the result.
            JobSpec::Transfer { .. } => render::job(&job, None),
            JobSpec::Exec { .. } | JobSpec::Interactive { .. } => {
                let first = guard.as_ref().and_then(|g| g.first()).unwrap_or(&empty);
                render::job(&job, live.map(|_| Inline { stdout: &first.0, stderr: &first.1 }))
            }
        };
        if !job.status.is_terminal() {
            m.insert(
                "message".into(),
                json!(format!(
                    "still running after {}s; it goes on in the background: follow it with task_wait or task_status (id {id}), stop it with task_cancel",
                    sync.as_secs()
                )),
            );
        }
        self.add_reminder(&job, &mut m);
        let text = render::job_text(&m);
        if render::is_failure(&job) {
            render::failed(Value::Object(m), text)
        } else {
            render::ok(Value::Object(m), text)
        }
    }

    /// Adds the `rappel` reminder of a job that runs past the time its caller asked to be reminded.
    pub fn add_reminder(&self, job: &sshdeck_core::jobs::Job, m: &mut serde_json::Map<String, Value>) {
        let reminders = self.reminders.lock().expect("lock");
        if let Some((at, secs)) = reminders.get(&job.id)
            && !job.status.is_terminal()
            && at.elapsed().as_secs() >= *secs
        {
            m.insert(
                "reminder".into(),
                json!(format!("job {} is still running after {}s (rappel {secs}s)", job.id, at.elapsed().as_secs())),
            );
        }
    }
}
