//! Fan-out: `true` on 100 aliases (spread over 4 loopback sshd instances, default MaxStartups)
//! with sshdeck against `parallel-ssh -p 32` (Debian's pssh) on the same hosts, in the same run.
//!
//! `cargo bench -p sshdeck-core --bench fleet` (`BENCH_RUNS` sets the number of interleaved runs,
//! default 5; needs `parallel-ssh`: `apt-get install pssh`). Both start cold: a new deck (no pooled
//! connection) against new `ssh` processes. Prints medians, the ratio, and failures on each side.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{JobSpec, JobStatus};
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

const HOSTS: usize = 100;
const DAEMONS: usize = 4;

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let pssh = ["parallel-ssh", "parallel-ssh.pssh", "pssh"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .ok_or_else(|| anyhow::anyhow!("parallel-ssh not found: apt-get install pssh"))?;
    let daemons: Vec<Sshd> = (0..DAEMONS).map(|_| Sshd::start()).collect::<anyhow::Result<_>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let work = tempfile::tempdir()?;

    // pssh: one line per alias (user@127.0.0.1:port), every daemon's host key known.
    let hosts_file = work.path().join("hosts");
    let known = work.path().join("known_hosts");
    let lines: Vec<String> =
        (0..HOSTS).map(|i| &daemons[i % DAEMONS]).map(|d| format!("{}:{}", d.destination(), d.port())).collect();
    std::fs::write(&hosts_file, lines.join("\n") + "\n")?;
    std::fs::write(&known, daemons.iter().map(|d| d.known_hosts_line()).collect::<Vec<_>>().join(""))?;
    let key = daemons[0].keys().ed25519.clone();

    println!(
        "fleet benchmark: `true` on {HOSTS} aliases over {DAEMONS} loopback sshd, {runs} interleaved runs, pssh -p 32, sshdeck FLEET_CONCURRENCY 32"
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_failures, mut their_failures) = (0usize, 0usize);
    for run in 0..runs {
        // sshdeck, cold: a new data dir and deck.
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("known_hosts"), std::fs::read(&known)?)?;
        let t = Instant::now();
        let (status, failed) = rt.block_on(async {
            let env = HashMap::from([("MCP_DATA_DIR".to_string(), dir.path().display().to_string())]);
            let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent"))?, "bench")?;
            let mut aliases = Vec::new();
            for i in 0..HOSTS {
                let d = &daemons[i % DAEMONS];
                let cfg = ServerConfig {
                    port: d.port(),
                    key_path: Some(key.clone()),
                    ..ServerConfig::new(d.host(), d.user())
                };
                let alias = format!("h{i:03}");
                deck.add_server(&alias, cfg, true)?;
                aliases.push(alias);
            }
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
        let t = Instant::now();
        let out = Command::new(pssh)
            .args(["-h", &hosts_file.display().to_string(), "-p", "32", "-t", "60"])
            .args(["-x", &format!("-F /dev/null -i {}", key.display())])
            .args(["-O", "BatchMode=yes", "-O", "IdentitiesOnly=yes", "-O", "StrictHostKeyChecking=yes"])
            .args(["-O", sshdeck_testkit::KEX])
            .args(["-O", &format!("UserKnownHostsFile={}", known.display())])
            .arg("true")
            .output()?;
        theirs.push(t.elapsed());
        let text = String::from_utf8_lossy(&out.stdout);
        let failed = text.lines().filter(|l| l.contains("[FAILURE]")).count();
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

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn list(v: &[Duration]) -> String {
    v.iter().map(|d| format!("{:.0}", ms(*d))).collect::<Vec<_>>().join(" ")
}
