//! Exec latency: sshdeck's pool against OpenSSH on the same loopback sshd, in the same run.
//!
//! `cargo bench -p sshdeck-core --bench exec` (set `BENCH_N` to change the sample count).
//! Prints p50/p95 for warm exec (pooled vs `ssh` with ControlMaster), cold connect + exec (fresh pool
//! vs plain `ssh`), the wall time of 20 concurrent `sleep 0.5; echo x`, and what a durable job's
//! bookkeeping adds to one command.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{JobSpec, JobStatus};
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let sshd = Sshd::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let data = tempfile::tempdir()?;
    let cfg = ServerConfig {
        port: sshd.port(),
        key_path: Some(sshd.keys().ed25519.clone()),
        ..ServerConfig::new(sshd.host(), sshd.user())
    };
    let new_deck = |dir: &Path| -> anyhow::Result<Deck> {
        let env = HashMap::from([("MCP_DATA_DIR".to_string(), dir.display().to_string())]);
        let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent"))?, "bench")?;
        deck.add_server("b", cfg.clone(), true)?;
        Ok(deck)
    };

    println!("sshdeck exec benchmark: loopback sshd on port {}, user {}, n = {n}", sshd.port(), sshd.user());

    // Warm: one pooled connection, then n commands.
    let warm_ours = rt.block_on(async {
        let deck = new_deck(data.path())?;
        for _ in 0..10 {
            exec(&deck, "true").await?;
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            exec(&deck, "true").await?;
            v.push(t.elapsed());
        }
        deck.shutdown().await;
        anyhow::Ok(v)
    })?;

    // Job bookkeeping: the same warm command as a durable job (accept + fsync, start, output file,
    // finish + fsync, wait), interleaved with plain pooled exec so both see the same noise.
    let (plain, as_job, journal_bytes_per_job) = rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let deck = new_deck(dir.path())?;
        exec(&deck, "true").await?;
        let (mut plain, mut as_job) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let t = Instant::now();
            exec(&deck, "true").await?;
            plain.push(t.elapsed());
            let t = Instant::now();
            let spec = JobSpec::Exec { command: "true".into(), timeout_ms: None, read: false };
            let job = deck.submit("b", spec, "bench", None)?;
            let done = deck.wait(&job.id, None).await?;
            as_job.push(t.elapsed());
            anyhow::ensure!(done.status == JobStatus::Completed, "{done:?}");
        }
        let bytes = std::fs::metadata(dir.path().join("jobs/journal.jsonl"))?.len() as f64 / n as f64;
        deck.shutdown().await;
        anyhow::Ok((plain, as_job, bytes))
    })?;

    // Warm OpenSSH: a ControlMaster, then n `ssh … true` through it.
    let cm_dir = tempfile::tempdir()?;
    let control = |c: &mut Command| {
        c.args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60", "-o"])
            .arg(format!("ControlPath={}/cm-%C", cm_dir.path().display()));
    };
    let ssh_true = |with_master: bool| -> anyhow::Result<Duration> {
        let mut c = sshd.ssh_command();
        if with_master {
            control(&mut c);
        }
        c.arg("true").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let t = Instant::now();
        let st = c.status()?;
        let took = t.elapsed();
        anyhow::ensure!(st.success(), "ssh exited with {st}");
        Ok(took)
    };
    for _ in 0..5 {
        ssh_true(true)?;
    }
    let warm_openssh = (0..n).map(|_| ssh_true(true)).collect::<anyhow::Result<Vec<_>>>()?;
    let mut stop = sshd.ssh_command();
    control(&mut stop);
    let _ = stop.args(["-O", "exit"]).stdout(Stdio::null()).stderr(Stdio::null()).status();

    // Cold: a fresh pool (new TCP connection, handshake, auth) per command.
    let cold_n = (n / 10).max(10);
    let cold_ours = rt.block_on(async {
        let mut v = Vec::with_capacity(cold_n);
        for _ in 0..cold_n {
            let deck = new_deck(data.path())?;
            let t = Instant::now();
            exec(&deck, "true").await?;
            v.push(t.elapsed());
            deck.shutdown().await;
        }
        anyhow::Ok(v)
    })?;
    let cold_openssh = (0..cold_n).map(|_| ssh_true(false)).collect::<anyhow::Result<Vec<_>>>()?;

    // Burst: 20 concurrent `sleep 0.5; echo x` on a fresh pool.
    let (burst, opened) = rt.block_on(async {
        let deck = new_deck(data.path())?;
        let t = Instant::now();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let d = deck.clone();
                tokio::spawn(async move { exec(&d, "sleep 0.5; echo x").await })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        let took = t.elapsed();
        let opened = deck.pool_stats().servers[0].opened;
        deck.shutdown().await;
        anyhow::Ok((took, opened))
    })?;

    println!();
    println!("{:<34} {:>10} {:>10}", "", "p50 ms", "p95 ms");
    let row = |name: &str, v: &[Duration]| {
        println!("{name:<34} {:>10.2} {:>10.2}", ms(pct(v, 50)), ms(pct(v, 95)));
    };
    row("warm exec, sshdeck pool", &warm_ours);
    row("warm exec, OpenSSH ControlMaster", &warm_openssh);
    row("cold connect+exec, sshdeck", &cold_ours);
    row("cold connect+exec, OpenSSH ssh", &cold_openssh);
    println!();
    println!(
        "ratio warm p50 sshdeck / OpenSSH ControlMaster: {:.3} (target <= 0.5)",
        ms(pct(&warm_ours, 50)) / ms(pct(&warm_openssh, 50))
    );
    println!(
        "ratio cold p50 sshdeck / OpenSSH ssh:            {:.3}",
        ms(pct(&cold_ours, 50)) / ms(pct(&cold_openssh, 50))
    );
    println!("20 concurrent `sleep 0.5; echo x`, fresh pool:  {:.0} ms wall, {opened} connections", ms(burst));
    println!();
    row("warm exec, plain (interleaved)", &plain);
    row("warm exec as a durable job", &as_job);
    println!(
        "job bookkeeping adds p50 {:.0} us (target <= 2000), p95 {:.0} us; journal {journal_bytes_per_job:.0} bytes/job",
        (ms(pct(&as_job, 50)) - ms(pct(&plain, 50))) * 1000.0,
        (ms(pct(&as_job, 95)) - ms(pct(&plain, 95))) * 1000.0,
    );
    Ok(())
}

async fn exec(deck: &Deck, cmd: &str) -> anyhow::Result<()> {
    let out = deck.exec("b", cmd, deck.exec_options(), &mut |_, _| {}).await?;
    anyhow::ensure!(out.success(), "{cmd} failed: {:?}", out.exit_code);
    Ok(())
}

fn pct(v: &[Duration], p: usize) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s[((s.len() - 1) * p) / 100]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
