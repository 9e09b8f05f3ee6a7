//! Jobs shared by several processes: the test binary re-runs itself as a child (see
//! [`child_process_helper`]) to submit, run, cancel and be killed.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sshdeck_core::Deck;
use sshdeck_core::jobs::journal::Event;
use sshdeck_core::jobs::{Filter, JobId, JobStatus};
use sshdeck_testkit::Sshd;

use super::jobs::exec;
use crate::{key_config, settings};

const ROLE: &str = "SSHDECK_TEST_CHILD_ROLE";
const DATA: &str = "SSHDECK_TEST_CHILD_DATA";
const ARG: &str = "SSHDECK_TEST_CHILD_ARG";

/// Not a test: the entry point of child processes, which report ids to the parent on stdout.
/// Without `SSHDECK_TEST_CHILD_ROLE` it does nothing.
#[test]
#[allow(clippy::print_stdout)]
fn child_process_helper() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let data = std::env::var(DATA).unwrap();
    let arg = std::env::var(ARG).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let deck = Deck::open(settings(Path::new(&data), &[("MAX_QUEUE_SIZE", "100000")]), "child").unwrap();
        match role.as_str() {
            // Submit `arg` jobs as fast as possible, then wait for all.
            "submit" => {
                let n: usize = arg.parse().unwrap();
                let mut ids = Vec::new();
                for _ in 0..n {
                    let j = deck.submit("t", exec("true"), "child", None).unwrap();
                    println!("ID {}", j.id);
                    ids.push(j.id);
                }
                for id in ids {
                    let j = deck.wait(&id, Some(Duration::from_secs(120))).await.unwrap();
                    assert_eq!(j.status, JobStatus::Completed, "{j:?}");
                }
            }
            // Keep submitting short jobs, printing each id once accepted, until killed.
            "churn" => loop {
                let j = deck.submit("t", exec("sleep 0.2"), "child", None).unwrap();
                println!("ID {}", j.id);
                tokio::time::sleep(Duration::from_millis(15)).await;
            },
            // Cancel job `arg`.
            "cancel" => {
                let id = JobId::parse(&arg).unwrap();
                deck.cancel(&id).unwrap();
            }
            other => panic!("unknown role {other}"),
        }
        deck.shutdown().await;
    });
}

fn spawn_child(role: &str, data: &Path, arg: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "ssh::jobs_cross::child_process_helper", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DATA, data)
        .env(ARG, arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The job id on a child's output line (libtest may print its own text before the first one).
fn id_on(line: &str) -> Option<String> {
    line.split_once("ID ").map(|(_, id)| id.trim().to_string())
}

/// Every journal line must parse.
fn assert_journal_parses(data: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(data.join("jobs/journal.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Event>(l).unwrap_or_else(|e| panic!("unparseable journal line {l:?}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_submit_2000_jobs_each() {
    let sshd = Sshd::builder().config_line("MaxStartups 50").start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let deck = Deck::open(settings(data.path(), &[]), "test").unwrap();
    deck.add_server("t", key_config(&sshd), false).unwrap();
    let children: Vec<Child> = (0..2).map(|_| spawn_child("submit", data.path(), "2000")).collect();
    let mut returned = Vec::new();
    for mut c in children {
        let out = BufReader::new(c.stdout.take().unwrap());
        returned.extend(out.lines().map_while(Result::ok).filter_map(|l| id_on(&l)));
        assert!(c.wait().unwrap().success(), "child failed");
    }
    assert_eq!(returned.len(), 4000);
    let unique: HashSet<_> = returned.iter().collect();
    assert_eq!(unique.len(), 4000, "ids are unique");

    let events = assert_journal_parses(data.path());
    let mut accepted: HashMap<String, usize> = HashMap::new();
    for ev in &events {
        if let Event::Accepted { job } = ev {
            *accepted.entry(job.id.to_string()).or_default() += 1;
        }
    }
    assert_eq!(accepted.len(), 4000);
    assert!(accepted.values().all(|&n| n == 1), "every id accepted exactly once");
    let stats = deck.jobs().stats().unwrap();
    assert_eq!((stats.total, stats.by_status["completed"]), (4000, 4000), "{stats:?}");
    assert_eq!(stats.by_status.values().sum::<usize>(), stats.total);
    assert_eq!(stats.by_kind["exec"], 4000);
    deck.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_campaign_50_kills_lose_no_accepted_job() {
    let sshd = Sshd::builder().config_line("MaxStartups 50").start().unwrap();
    let data = tempfile::tempdir().unwrap();
    {
        let deck = Deck::open(settings(data.path(), &[]), "test").unwrap();
        deck.add_server("t", key_config(&sshd), false).unwrap();
        deck.shutdown().await;
    }
    let mut returned: Vec<String> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    for round in 0..50 {
        let mut child = spawn_child("churn", data.path(), "");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Wait for the first accepted id, then kill at a random moment 0-300 ms later.
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 && id_on(&line).is_none() {
            line.clear();
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 300)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        returned.extend(std::iter::once(line).chain(out.lines().map_while(Result::ok)).filter_map(|l| id_on(&l)));

        // A fresh open sees every returned id, no torn line, and nothing left running.
        let deck = Deck::open(settings(data.path(), &[]), "checker").unwrap();
        assert_journal_parses(data.path());
        for id in &returned {
            let j = deck.jobs().get(&JobId::parse(id).unwrap()).unwrap_or_else(|e| panic!("round {round}: {id}: {e}"));
            assert!(j.status.is_terminal(), "round {round}: {id} is {:?}", j.status);
        }
        let page = deck.jobs().list(&Filter { limit: 100_000, ..Default::default() }).unwrap();
        assert!(page.jobs.iter().all(|j| j.status.is_terminal()));
        deck.shutdown().await;
        for entry in std::fs::read_dir(data.path().join("runtime")).unwrap().flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(), "heartbeat parses");
        }
    }
    let deck = Deck::open(settings(data.path(), &[]), "final").unwrap();
    let stats = deck.jobs().stats().unwrap();
    assert!(stats.by_status["crashed"] >= 1, "some jobs were caught running: {stats:?}");
    assert_eq!(stats.by_status["pending"] + stats.by_status["running"], 0);
    eprintln!("crash campaign: {} ids returned, {stats:?}", returned.len());
    deck.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_another_process_kills_the_remote_command() {
    let sshd = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let deck = Deck::open(settings(data.path(), &[]), "test").unwrap();
    deck.add_server("t", key_config(&sshd), false).unwrap();
    let file = sshd.scratch().join("not-after-cancel");
    let job = deck.submit("t", exec(&format!("sleep 2; touch {}", file.display())), "test", None).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = spawn_child("cancel", data.path(), job.id.as_str()).wait().unwrap();
    assert!(status.success());
    let done = deck.wait(&job.id, Some(Duration::from_secs(3))).await.unwrap();
    assert_eq!(done.status, JobStatus::Cancelled, "{done:?}");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(!file.exists(), "the remote command was killed");
    deck.shutdown().await;
}
