//! Faults: a frozen sshd, sshd killed in the middle of a login. Every job ends within its time, and a
//! failure before the command started is retried.

use std::time::{Duration, Instant};

use sshdeck_core::jobs::{JobSpec, JobStatus};

use crate::{env, env_with};

fn exec(command: &str, timeout_ms: u64) -> JobSpec {
    JobSpec::Exec { command: command.into(), timeout_ms: Some(timeout_ms), read: false }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_ends_a_job_within_its_timeout_warm_pool_or_cold() {
    let e = env();
    // Warm pool: a connection is open when the server freezes (keep-alives have not noticed yet).
    let job = e.deck.submit("t", exec("true", 10_000), "test", None).unwrap();
    assert_eq!(e.deck.wait(&job.id, None).await.unwrap().status, JobStatus::Completed);
    e.sshd.freeze();
    let started = Instant::now();
    let job = e.deck.submit("t", exec("echo never", 4_000), "test", None).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(30))).await.unwrap();
    let took = started.elapsed();
    assert!(done.status.is_terminal() && done.status != JobStatus::Completed, "{done:?}");
    assert!(took < Duration::from_secs(5), "a 4 s job ended after {took:?} (timeout + 1 s at most)");
    assert!(e.deck.pool_stats().servers[0].lost >= 1, "the dead connection was dropped");

    // Cold: a fresh deck (another process, as it were) whose connects hang in the handshake; retries
    // stay inside the job's time too.
    let data = tempfile::tempdir().unwrap();
    let fresh =
        sshdeck_core::Deck::open(crate::settings(data.path(), &[("SSH_CONNECT_TIMEOUT_MS", "1500")]), "t2").unwrap();
    fresh.add_server("t", crate::key_config(&e.sshd), false).unwrap();
    let started = Instant::now();
    let job = fresh.submit("t", exec("echo never", 3_000), "test", None).unwrap();
    let done = fresh.wait(&job.id, Some(Duration::from_secs(30))).await.unwrap();
    let took = started.elapsed();
    assert!(done.status.is_terminal() && done.status != JobStatus::Completed, "{done:?}");
    assert!(took < Duration::from_secs(4), "a 3 s job with retries ended after {took:?}");

    e.sshd.thaw();
    let job = e.deck.submit("t", exec("echo back", 10_000), "test", None).unwrap();
    assert_eq!(e.deck.wait(&job.id, None).await.unwrap().status, JobStatus::Completed, "a fresh connection works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_killed_during_a_login_is_a_connection_failure_and_the_job_is_retried() {
    let mut e = env_with(sshdeck_testkit::Sshd::start().unwrap(), &[("JOB_AUTO_RETRIES", "3")]);
    // Logins hang while sshd is frozen; killing it then cuts them mid-handshake.
    e.sshd.freeze();
    let job = e.deck.submit("t", exec("echo made-it", 30_000), "test", None).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    e.sshd.kill_all(); // SIGKILL reaches stopped processes: the pending login is cut
    tokio::time::sleep(Duration::from_millis(300)).await;
    e.sshd.restart().unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(30))).await.unwrap();
    let r = done.result.clone().unwrap();
    assert_eq!(done.status, JobStatus::Completed, "retried once sshd was back: {r:?}");
    let stats = &e.deck.pool_stats().servers[0];
    assert!(
        done.attempt >= 2 || stats.handshake_retries >= 1,
        "the cut login was retried (job attempt {}, handshake retries {})",
        done.attempt,
        stats.handshake_retries
    );
}
