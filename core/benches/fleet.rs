//! Fan-out: `true` on 100 aliases (spread over 4 loopback sshd instances, default MaxStartups)
//! with sshdeck against `parallel-ssh -p 32` (Debian's pssh) on the same hosts, in the same run.
//!
//! `cargo bench -p sshdeck-core --bench fleet` (`BENCH_RUNS` sets the number of interleaved runs,
//! default 5; needs `parallel-ssh`: `apt-get install pssh`). Both start cold: a new deck (no pooled
//! connection) against new `ssh` processes. Prints medians, the ratio, and failures on each side.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[path = "support/hosts.rs"]
mod hosts;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use hosts::{Hosts, list, median, ms};
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{JobSpec, JobStatus};

const HOSTS: usize = 100;
const DAEMONS: usize = 4;

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let hosts = Hosts::start(HOSTS, DAEMONS)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    println!(
        "fleet benchmark: `true` on {HOSTS} aliases over {DAEMONS} loopback sshd, {runs} interleaved runs, pssh -p 32, sshdeck FLEET_CONCURRENCY 32"
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_failures, mut their_failures) = (0usize, 0usize);
    for run in 0..runs {
        // sshdeck, cold: a new data dir and deck.
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("known_hosts"), std::fs::read(hosts.known_hosts())?)?;
        let t = Instant::now();
        let (status, failed) = rt.block_on(async {
            let env = HashMap::from([("MCP_DATA_DIR".to_string(), dir.path().display().to_string())]);
            let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent"))?, "bench")?;
            let aliases = hosts.register(&deck)?;
            let spec = JobSpec::Exec { command: "true".into(), timeout_ms: Some(60_000), read: false };
            let (parent, _) = deck.submit_fleet(aliases, spec, "bench")?;
            let done = deck.wait(&parent.id, Some(Duration::from_secs(120))).await?;
            let failed = done.result.as_ref().and_then(|r| r.fleet.as_ref()).map_or(HOSTS, |f| f.total - f.ok);
            deck.shutdown().await;
            anyhow::Ok((done.status, failed))
        })?;
        let elapsed = t.elapsed();
        if status != JobStatus::Completed {
            println!("  run {run}: sshdeck: {failed} hosts failed");
        }
        our_failures += failed;
        ours.push(elapsed);

        // parallel-ssh, cold.
        let (elapsed, failed) = hosts.pssh("true")?;
        theirs.push(elapsed);
        if failed > 0 {
            println!("  run {run}: pssh: {failed} hosts failed");
        }
        their_failures += failed;
    }
    let (o, p) = (median(&mut ours), median(&mut theirs));
    println!("  sshdeck fan-out   median {:>8.1} ms  (runs: {})", ms(o), list(&ours));
    println!("  parallel-ssh -p32 median {:>8.1} ms  (runs: {})", ms(p), list(&theirs));
    println!("  ratio sshdeck / pssh: {:.2}   (target <= 0.33)", o.as_secs_f64() / p.as_secs_f64());
    println!("  failed hosts over all runs: sshdeck {our_failures}, pssh {their_failures}");
    Ok(())
}
