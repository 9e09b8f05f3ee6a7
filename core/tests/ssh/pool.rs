use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

use crate::{code, env, env_with, key_config, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_commands_stay_within_max_connections() {
    let e = env();
    let max = e.deck.settings().max_connections_per_server;
    let peak = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (deck, peak, done) = (e.deck.clone(), peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                for s in deck.pool_stats().servers {
                    peak.fetch_max(s.connections + s.connecting, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let deck = e.deck.clone();
            tokio::spawn(async move { run(&deck, "t", "sleep 0.5; echo x").await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let out = t.await.unwrap().expect("every command succeeds");
        assert_eq!(out.stdout.kept_bytes(), b"x\n");
        ok += 1;
    }
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    assert_eq!(ok, 20);
    let stats = e.deck.pool_stats();
    let s = &stats.servers[0];
    assert!(peak.load(Ordering::Relaxed) <= max, "peak {} > max {max}", peak.load(Ordering::Relaxed));
    assert!(s.opened as usize <= max, "{s:?}");
    assert_eq!(s.failures, 0);
    eprintln!("20 concurrent `sleep 0.5; echo x`: {wall:?} wall, {} connections opened", s.opened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_commands_reuse_one_connection() {
    let e = env();
    for _ in 0..5 {
        run(&e.deck, "t", "true").await.unwrap();
    }
    let s = &e.deck.pool_stats().servers[0];
    assert_eq!((s.opened, s.reused, s.connections), (1, 4, 1), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_killed_mid_command_then_pool_recovers() {
    let mut e = env();
    run(&e.deck, "t", "true").await.unwrap();
    let deck = e.deck.clone();
    let task = tokio::spawn(async move { run(&deck, "t", "sleep 5; echo late").await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    e.sshd.kill_all();
    let err = tokio::time::timeout(Duration::from_secs(10), task).await.expect("fails promptly").unwrap().unwrap_err();
    assert_eq!(err.code(), "CONNECTION_LOST", "{err}");

    // While sshd is down: a clear connection error.
    assert_eq!(code(run(&e.deck, "t", "true").await), "CONNECTION_FAILED");

    e.sshd.restart().unwrap();
    let out = run(&e.deck, "t", "echo back").await.unwrap();
    assert_eq!(out.stdout.kept_bytes(), b"back\n");
    let s = &e.deck.pool_stats().servers[0];
    assert_eq!(s.opened, 2, "a fresh connection replaced the dead one: {s:?}");
    assert_eq!(s.connections, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_settings_never_reuse_an_old_connection() {
    let e = env();
    run(&e.deck, "t", "true").await.unwrap();
    let cfg = ServerConfig { tags: vec!["changed".into()], ..key_config(&e.sshd) };
    e.deck.add_server("t", cfg, true).unwrap();
    run(&e.deck, "t", "true").await.unwrap();
    let s = &e.deck.pool_stats().servers[0];
    assert_eq!(s.opened, 2, "{s:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let conns = e.sshd.log().matches("Accepted publickey").count();
    assert_eq!(conns, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_reaped_down_to_the_minimum() {
    let e = env_with(Sshd::start().unwrap(), &[("IDLE_TIMEOUT", "1000"), ("MIN_CONNECTIONS_PER_SERVER", "0")]);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let deck = e.deck.clone();
            tokio::spawn(async move { run(&deck, "t", "sleep 0.3").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(e.deck.pool_stats().servers[0].connections >= 2, "12 at once needs 2 connections of 8 channels");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let s = &e.deck.pool_stats().servers[0];
    assert_eq!(s.connections, 0, "{s:?}");
    assert!(s.reaped >= 2, "{s:?}");

    let keep = env_with(Sshd::start().unwrap(), &[("IDLE_TIMEOUT", "1000"), ("MIN_CONNECTIONS_PER_SERVER", "1")]);
    run(&keep.deck, "t", "true").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(keep.deck.pool_stats().servers[0].connections, 1, "the minimum is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_server_is_evicted() {
    let e = env();
    run(&e.deck, "t", "true").await.unwrap();
    e.deck.remove_server("t").unwrap();
    assert!(e.deck.pool_stats().servers.is_empty());
    assert_eq!(code(run(&e.deck, "t", "true").await), "NOT_FOUND");
}
