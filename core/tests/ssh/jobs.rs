use std::time::Duration;

use sshdeck_core::jobs::{Filter, JobSpec, JobStatus};
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

use crate::{env, env_with, key_config};

pub fn exec(cmd: &str) -> JobSpec {
    JobSpec::Exec { command: cmd.into(), timeout_ms: None, read: false }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_runs_records_result_and_output() {
    let e = env();
    let job = e.deck.submit("t", exec("echo hello; echo oops >&2; exit 4"), "test", None).unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.id.as_str().len(), 13);
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    let r = done.result.unwrap();
    assert_eq!((r.end.exit_code, r.end.stdout_bytes, r.end.stderr_bytes), (Some(4), 6, 5));
    let log = std::fs::read_to_string(e.deck.jobs().output_path(&job.id)).unwrap();
    assert!(log.contains("hello\n") && log.contains("oops\n"), "{log}");

    let ok = e.deck.submit("t", exec("true"), "test", None).unwrap();
    assert_eq!(e.deck.wait(&ok.id, None).await.unwrap().status, JobStatus::Completed);
    let stats = e.deck.jobs().stats().unwrap();
    assert_eq!((stats.total, stats.by_status["completed"], stats.by_status["failed"]), (2, 1, 1));
    assert_eq!(stats.success_rate, 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_cancel_statuses() {
    let e = env();
    let spec = JobSpec::Exec { command: "sleep 5".into(), timeout_ms: Some(500), read: false };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(done.status, JobStatus::TimedOut);
    assert_eq!(done.result.unwrap().end.error_code.as_deref(), Some("COMMAND_TIMEOUT"));

    let job = e.deck.submit("t", exec("sleep 5"), "test", None).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    e.deck.cancel(&job.id).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(done.status, JobStatus::Cancelled);
    assert!(done.cancel_requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_links_attempts_and_never_runs_twice() {
    let e = env();
    let job = e.deck.submit("t", exec("exit 1"), "test", None).unwrap();
    e.deck.wait(&job.id, None).await.unwrap();
    let retry = e.deck.retry(&job.id, "test", None).unwrap();
    assert_eq!(retry.retry_of.as_ref(), Some(&job.id));
    assert_eq!(e.deck.jobs().get(&job.id).unwrap().retried_by.as_ref(), Some(&retry.id));
    let err = e.deck.retry(&job.id, "test", None).unwrap_err();
    assert_eq!(err.code(), "ALREADY_RETRIED", "{err}");
    assert!(err.to_string().contains(retry.id.as_str()));
    e.deck.wait(&retry.id, None).await.unwrap();

    let ok = e.deck.submit("t", exec("true"), "test", None).unwrap();
    e.deck.wait(&ok.id, None).await.unwrap();
    assert_eq!(e.deck.retry(&ok.id, "test", None).unwrap_err().code(), "INVALID_ARGUMENT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_failures_retry_automatically_but_exit_codes_do_not() {
    let e = env_with(Sshd::start().unwrap(), &[("JOB_AUTO_RETRIES", "2")]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    e.deck.add_server("down", ServerConfig { port, ..key_config(&e.sshd) }, false).unwrap();
    let job = e.deck.submit("down", exec("true"), "test", None).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(20))).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.attempt, 3, "1 try + 2 automatic retries");
    assert_eq!(done.result.unwrap().end.error_code.as_deref(), Some("CONNECTION_FAILED"));

    let marker = e.sshd.scratch().join("ran-count");
    let cmd = format!("echo x >> {}; exit 9", marker.display());
    let job = e.deck.submit("t", exec(&cmd), "test", None).unwrap();
    let done = e.deck.wait(&job.id, None).await.unwrap();
    assert_eq!((done.status, done.attempt), (JobStatus::Failed, 1));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "x\n", "ran exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_full_and_bad_submissions_record_nothing() {
    let e = env_with(Sshd::start().unwrap(), &[("MAX_QUEUE_SIZE", "2")]);
    let a = e.deck.submit("t", exec("sleep 1"), "test", None).unwrap();
    let _b = e.deck.submit("t", exec("sleep 1"), "test", None).unwrap();
    let err = e.deck.submit("t", exec("sleep 1"), "test", None).unwrap_err();
    assert_eq!(err.code(), "QUEUE_FULL", "{err}");
    assert_eq!(e.deck.submit("nope", exec("true"), "test", None).unwrap_err().code(), "NOT_FOUND");
    assert_eq!(e.deck.submit("t", exec(" "), "test", None).unwrap_err().code(), "INVALID_ARGUMENT");
    assert_eq!(e.deck.jobs().list(&Filter { limit: 100, ..Default::default() }).unwrap().total, 2);
    e.deck.wait(&a.id, None).await.unwrap();
    assert!(e.deck.submit("t", exec("true"), "test", None).is_ok(), "room again once one finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_filter_and_page() {
    let e = env();
    let mut ids = Vec::new();
    for i in 0..5 {
        let j = e.deck.submit("t", exec(&format!("exit {}", i % 2)), "test", None).unwrap();
        e.deck.wait(&j.id, None).await.unwrap();
        ids.push(j.id);
    }
    let all = e.deck.jobs().list(&Filter { limit: 2, offset: 1, ..Default::default() }).unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(
        all.jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        [ids[3].clone(), ids[2].clone()],
        "newest first"
    );
    let failed = e
        .deck
        .jobs()
        .list(&Filter { statuses: vec![JobStatus::Failed], alias: Some("t".into()), limit: 10, ..Default::default() })
        .unwrap();
    assert_eq!(failed.total, 2);
    let none = e.deck.jobs().list(&Filter { alias: Some("other".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(none.total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_drops_old_history_and_followers_survive_it() {
    let e = env_with(Sshd::start().unwrap(), &[("HISTORY_RETENTION", "1000")]);
    let old = e.deck.submit("t", exec("echo old"), "test", None).unwrap();
    e.deck.wait(&old.id, None).await.unwrap();
    assert!(e.deck.jobs().output_path(&old.id).exists());
    // A second store on the same data dir follows the journal.
    let other = sshdeck_core::Deck::open(crate::settings(e.data.path(), &[]), "other").unwrap();
    assert!(other.jobs().get(&old.id).is_ok());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = e.deck.submit("t", exec("echo new"), "test", None).unwrap();
    e.deck.wait(&fresh.id, None).await.unwrap();
    e.deck.jobs().compact().unwrap();
    assert_eq!(e.deck.jobs().get(&old.id).unwrap_err().code(), "NOT_FOUND");
    assert!(!e.deck.jobs().output_path(&old.id).exists(), "its output went with it");
    assert_eq!(other.jobs().get(&old.id).unwrap_err().code(), "NOT_FOUND", "the follower reloaded");
    assert_eq!(other.jobs().get(&fresh.id).unwrap().status, JobStatus::Completed);
    // Appends after compaction land in the new file and are seen by both.
    let after = other.submit("t", exec("true"), "test", None).unwrap();
    other.wait(&after.id, None).await.unwrap();
    assert_eq!(e.deck.jobs().get(&after.id).unwrap().status, JobStatus::Completed);
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_stop_at_a_failure_unless_told_to_go_on() {
    use sshdeck_core::jobs::Step;
    let step = |c: &str| Step { command: c.into(), timeout_ms: None, continue_on_error: None };
    let e = env();
    let spec = JobSpec::Sequence {
        steps: vec![step("echo one"), step("exit 4"), step("echo three")],
        continue_on_error: false,
        timeout_ms: None,
    };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, None).await.unwrap();
    let r = done.result.unwrap();
    assert_eq!((done.status, r.end.exit_code, r.steps.len()), (JobStatus::Failed, Some(4), 2));
    let log = std::fs::read_to_string(e.deck.jobs().output_path(&job.id)).unwrap();
    assert_eq!(log, "[step 1/3] $ echo one\none\n[step 2/3] $ exit 4\n");

    let spec = JobSpec::Sequence {
        steps: vec![step("echo one"), step("exit 4"), step("echo three")],
        continue_on_error: true,
        timeout_ms: None,
    };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, None).await.unwrap();
    let r = done.result.unwrap();
    // Failures that were allowed to go on do not fail the sequence (as in the Node orchestrator), but
    // every step keeps its own exit code.
    assert_eq!((done.status, r.steps.len()), (JobStatus::Completed, 3));
    assert_eq!(r.steps.iter().map(|s| s.end.exit_code).collect::<Vec<_>>(), [Some(0), Some(4), Some(0)]);
    assert!(r.end.error_code.is_none());
    assert_eq!(r.steps[2].end.stdout_bytes, 6);

    // One step allowed to fail, a later one not: that later one decides.
    let lenient = Step { command: "exit 2".into(), timeout_ms: None, continue_on_error: Some(true) };
    let spec = JobSpec::Sequence {
        steps: vec![lenient, step("exit 5"), step("echo never")],
        continue_on_error: false,
        timeout_ms: None,
    };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, None).await.unwrap();
    assert_eq!((done.status, done.result.unwrap().end.exit_code), (JobStatus::Failed, Some(5)));

    // The sequence's own limit covers all its steps; a step's `0` means no limit of its own.
    let unlimited = Step { command: "sleep 0.4".into(), timeout_ms: Some(0), continue_on_error: None };
    let spec = JobSpec::Sequence {
        steps: vec![unlimited.clone(), step("sleep 5"), step("echo never")],
        continue_on_error: false,
        timeout_ms: Some(1_000),
    };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, None).await.unwrap();
    let r = done.result.unwrap();
    assert_eq!((done.status, r.steps.len()), (JobStatus::TimedOut, 2));
    assert_eq!(r.steps[0].end.exit_code, Some(0), "a 0 timeout is no limit, not an instant kill");

    let timed = Step { command: "sleep 3".into(), timeout_ms: Some(300), continue_on_error: None };
    let spec = JobSpec::Sequence {
        steps: vec![step("true"), timed, step("echo never")],
        continue_on_error: false,
        timeout_ms: None,
    };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, None).await.unwrap();
    assert_eq!((done.status, done.result.unwrap().steps.len()), (JobStatus::TimedOut, 2));

    let spec =
        JobSpec::Sequence { steps: vec![step("true"), step("echo ok")], continue_on_error: false, timeout_ms: None };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    assert_eq!(e.deck.wait(&job.id, None).await.unwrap().status, JobStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_prompts_are_answered_and_answers_never_recorded() {
    use sshdeck_core::jobs::PromptRule;
    use sshdeck_core::secret::Secret;
    let e = env();
    let script = r#"read -p "Continue? [y/N] " a; echo "got:$a"; read -p "Name: " n; echo "name:$n"; read -p "Name: " m; echo "again:$m"; read -s -p "Password: " p; echo; echo "pwlen:${#p}"; printf '\033[1;32mgreen\033[0m\n'; exit 3"#;
    let spec = JobSpec::Interactive {
        command: script.into(),
        timeout_ms: Some(15_000),
        prompts: vec![
            PromptRule { pattern: "Name: ".into(), max: None },
            PromptRule { pattern: "Password: ".into(), max: Some(1) },
        ],
        auto_respond: true,
    };
    let answers = vec![Secret::new("bob"), Secret::new("Pw-Zebra-123")];
    let job = e.deck.submit_with_answers("t", spec, "test", None, answers).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(20))).await.unwrap();
    assert_eq!((done.status, done.result.as_ref().unwrap().end.exit_code), (JobStatus::Failed, Some(3)), "{done:?}");
    let log = std::fs::read_to_string(e.deck.jobs().output_path(&job.id)).unwrap();
    for want in ["got:y", "name:bob", "again:bob", "pwlen:12", "green\n"] {
        assert!(log.contains(want), "{want} missing from transcript {log:?}");
    }
    assert!(!log.contains('\x1b') && !log.contains('\r'), "escapes stripped: {log:?}");
    for entry in walk(e.data.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains("Pw-Zebra-123"), "answer leaked into {}", entry.display());
    }
    assert_eq!(e.deck.retry(&job.id, "test", None).unwrap_err().code(), "INVALID_ARGUMENT", "answers are not kept");

    // A password prompt nobody answers stops the command at once instead of hanging until the timeout.
    let spec = JobSpec::Interactive {
        command: r#"read -s -p "[sudo] password for bob: " p; echo never"#.into(),
        timeout_ms: Some(60_000),
        prompts: vec![],
        auto_respond: true,
    };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(20))).await.unwrap();
    // Stopped at the prompt, not by its 60 s timeout (which would be COMMAND_TIMEOUT).
    assert_eq!(done.result.unwrap().end.error_code.as_deref(), Some("PROMPT_UNANSWERED"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() { v.extend(walk(&e.path())) } else { v.push(e.path()) }
    }
    v
}
