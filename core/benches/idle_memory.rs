//! Memory of idle pooled connections: the RSS this process gains per connection kept open after a
//! fan-out (`cargo bench -p sshdeck-core --bench idle_memory`; `HOSTS` aliases, default 300, over 2
//! loopback sshd). Target: at most 64 KiB per idle connection.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{JobSpec, JobStatus};
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let hosts: usize = std::env::var("HOSTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let daemons: Vec<Sshd> = (0..2).map(|_| Sshd::start()).collect::<Result<_, _>>()?;
    let data = tempfile::tempdir()?;
    let env = HashMap::from([
        ("MCP_DATA_DIR".to_string(), data.path().display().to_string()),
        ("IDLE_TIMEOUT".to_string(), "3600000".to_string()),
    ]);
    let settings = Settings::load_from(&env, Path::new("/nonexistent"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let deck = Deck::open(settings, "bench")?;
        let mut aliases = Vec::new();
        for i in 0..hosts {
            let d = &daemons[i % daemons.len()];
            let cfg = ServerConfig {
                port: d.port(),
                key_path: Some(d.keys().ed25519.clone()),
                ..ServerConfig::new(d.host(), d.user())
            };
            let alias = format!("m{i:04}");
            deck.add_server(&alias, cfg, false)?;
            aliases.push(alias);
        }
        // Warm up allocator and code paths with one host, then measure the rest.
        let spec = || JobSpec::Exec { command: "true".into(), timeout_ms: Some(60_000), read: false };
        let (p, _) = deck.submit_fleet(aliases[..1].to_vec(), spec(), "bench")?;
        deck.wait(&p.id, None).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = rss_kib();
        let (p, _) = deck.submit_fleet(aliases[1..].to_vec(), spec(), "bench")?;
        let done = deck.wait(&p.id, None).await?;
        anyhow::ensure!(done.status == JobStatus::Completed, "fan-out failed: {:?}", done.result);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib();
        let open = deck.pool_stats().servers.iter().map(|s| s.connections).sum::<usize>();
        let per = (after.saturating_sub(before)) as f64 / (hosts - 1) as f64;
        println!("idle connections: {open} open after a fan-out to {} hosts", hosts - 1);
        println!("RSS {before} KiB -> {after} KiB: {per:.1} KiB per idle connection (target <= 64)");
        Ok::<_, anyhow::Error>(())
    })
}
