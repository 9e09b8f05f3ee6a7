//! Fan-out over 50 aliases on several loopback sshd instances: one host down, one whose key changed,
//! one slow; each is reported as such while the others succeed, and identical outputs are grouped.

use std::net::TcpListener;

use sshdeck_core::Deck;
use sshdeck_core::jobs::{JobSpec, JobStatus};
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

use crate::{key_config, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_hosts_with_one_down_one_changed_key_one_slow() {
    let (a, b) = (Sshd::start().unwrap(), Sshd::start().unwrap());
    let slow = Sshd::builder().config_line("SetEnv SSHDECK_SLOW=1").start().unwrap();
    let mut changed = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let deck = Deck::open(settings(data.path(), &[("JOB_AUTO_RETRIES", "0")]), "test").unwrap();

    let mut aliases = Vec::new();
    for i in 0..47 {
        let sshd = if i % 2 == 0 { &a } else { &b };
        let alias = format!("h{i:02}");
        let config = ServerConfig { tags: vec!["fleet".into()], ..key_config(sshd) };
        deck.add_server(&alias, config, false).unwrap();
        aliases.push(alias);
    }
    let down_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for (alias, config) in [
        ("slow", key_config(&slow)),
        ("down", ServerConfig { port: down_port, ..key_config(&a) }),
        ("changed", key_config(&changed)),
    ] {
        deck.add_server(alias, ServerConfig { tags: vec!["fleet".into()], ..config }, false).unwrap();
    }
    // Learn the key of `changed`, then change it.
    deck.exec("changed", "true", deck.exec_options(), &mut |_, _| {}).await.unwrap();
    changed.rotate_host_key().unwrap();

    deck.groups().set("odd", vec!["slow".into(), "down".into(), "changed".into()], &deck.servers().unwrap()).unwrap();
    let targets = deck.resolve_targets(&["tag:fleet".into()]).unwrap();
    assert_eq!(targets.len(), 50);
    assert_eq!(deck.resolve_targets(&["group:odd".into()]).unwrap(), ["slow", "down", "changed"]);

    let cmd = "[ -n \"$SSHDECK_SLOW\" ] && sleep 10; echo same output";
    let spec = JobSpec::Exec { command: cmd.into(), timeout_ms: Some(3000), read: false };
    let (parent, children) = deck.submit_fleet(targets, spec, "test").unwrap();
    assert_eq!(children.len(), 50);
    assert!(children.iter().all(|c| c.parent.as_ref() == Some(&parent.id)));
    let done = deck.wait(&parent.id, Some(std::time::Duration::from_secs(60))).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed, "{done:?}");
    let summary = done.result.as_ref().unwrap().fleet.clone().unwrap();
    assert_eq!(
        (summary.total, summary.ok, summary.timed_out, summary.unreachable, summary.failed),
        (50, 47, 1, 2, 0),
        "{summary:#?}"
    );
    let first = &summary.groups[0];
    assert_eq!(first.aliases.len(), 47, "identical outputs are one group: {summary:#?}");
    assert_eq!(first.output, "same output\n");
    let by_alias = |a: &str| deck.fleet_children(&done).into_iter().find(|c| c.targets[0] == a).unwrap();
    assert_eq!(by_alias("slow").status, JobStatus::TimedOut);
    let code = |a: &str| by_alias(a).result.unwrap().end.error_code.unwrap();
    assert_eq!(code("down"), "CONNECTION_FAILED");
    assert_eq!(code("changed"), "HOST_KEY_MISMATCH");
    // No handshake failed on the healthy hosts: 47 ok with 2 sshd at their default MaxStartups.
    let stats = deck.pool_stats();
    let failures: u64 = stats.servers.iter().filter(|s| s.alias.starts_with('h')).map(|s| s.failures).sum();
    assert_eq!(failures, 0, "{stats:?}");
    drop((a, b, slow));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_parent_cancels_every_host() {
    let a = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let deck = Deck::open(settings(data.path(), &[("FLEET_CONCURRENCY", "2")]), "test").unwrap();
    let mut targets = Vec::new();
    for i in 0..5 {
        deck.add_server(&format!("c{i}"), key_config(&a), false).unwrap();
        targets.push(format!("c{i}"));
    }
    let spec = JobSpec::Exec { command: "sleep 31.5".into(), timeout_ms: None, read: false };
    let (parent, _) = deck.submit_fleet(targets, spec, "test").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    deck.cancel(&parent.id).unwrap();
    let done = deck.wait(&parent.id, Some(std::time::Duration::from_secs(20))).await.unwrap();
    assert_eq!(done.status, JobStatus::Cancelled);
    let summary = done.result.unwrap().fleet.unwrap();
    assert_eq!(summary.cancelled, 5, "running ones killed, waiting ones never started: {summary:?}");
    let out = deck.exec("c0", "pgrep -f 'sleep 31[.]5' | wc -l", deck.exec_options(), &mut |_, _| {}).await.unwrap();
    assert_eq!(out.stdout.text().trim(), "0", "the remote commands were killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_past_max_startups_are_retried() {
    // sshd lets 2 unauthenticated connections in at once and drops the rest; 4 hosts start together.
    let sshd = Sshd::builder().config_line("MaxStartups 2").start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let deck = Deck::open(settings(data.path(), &[("JOB_AUTO_RETRIES", "0")]), "test").unwrap();
    let targets: Vec<String> = (0..4).map(|i| format!("m{i}")).collect();
    for t in &targets {
        deck.add_server(t, key_config(&sshd), false).unwrap();
    }
    let (parent, _) = deck
        .submit_fleet(targets, JobSpec::Exec { command: "true".into(), timeout_ms: None, read: false }, "t")
        .unwrap();
    let done = deck.wait(&parent.id, Some(std::time::Duration::from_secs(30))).await.unwrap();
    let stats = deck.pool_stats();
    assert_eq!(done.status, JobStatus::Completed, "{:?} {stats:?}", done.result);
    let retried: u64 = stats.servers.iter().map(|s| s.handshake_retries).sum();
    let failures: u64 = stats.servers.iter().map(|s| s.failures).sum();
    assert!(retried > 0, "sshd dropped some handshakes and they were retried: {stats:?}");
    assert_eq!(failures, 0, "{stats:?}");
}
