//! The hybrid wait every tool that runs something shares: submit a job, capture its output as it
//! arrives, wait up to the sync timeout (progress notifications, cancel on request), and answer with
//! the result or the running job's id (with its `rappel` reminder).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rmcp::RoleServer;
use rmcp::model::{CallToolResult, ProgressNotificationParam};
use rmcp::service::RequestContext;
use serde_json::{Value, json};
use sshdeck_core::capture::Captured;
use sshdeck_core::deck::Live;
use sshdeck_core::jobs::{JobId, JobSpec};
use sshdeck_core::secret::Secret;

use crate::render::{self, Inline};
use crate::server::Sshdeck;

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
        let job = match self.deck.submit_with_answers(alias, spec, &crate::tokens::origin(), Some(live.sink()), answers)
        {
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
                        None => live.map_or(0, Live::bytes),
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
        let guard = live.map(Live::steps);
        let mut m = match &job.spec {
            JobSpec::Sequence { .. } => {
                let mut m = render::job(&job, None);
                let outputs: &[(Captured, Captured)] = guard.as_deref().map_or(&[], |v| v.as_slice());
                m.insert("steps".into(), render::steps(&job, outputs));
                m
            }
            // The per-file lines are in the output file; the structured report is in the result.
            JobSpec::Transfer { .. } | JobSpec::File { .. } => render::job(&job, None),
            JobSpec::Exec { .. } | JobSpec::Interactive { .. } | JobSpec::Shell { .. } => {
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
