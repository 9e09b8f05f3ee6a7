//! Fleet drift: one file on 100 aliases (over 4 loopback sshd) compared by content, as
//! `compare_all_sources` does ("which web server's nginx.conf drifted?"), with a warm pool; against
//! `parallel-ssh -p 32 sha256sum FILE` (OpenSSH, cold, hashes only) on the same hosts in the same run.
//!
//! `cargo bench -p sshdeck-core --bench drift` (`BENCH_RUNS`, default 5; needs `parallel-ssh`).
//! Target: ≤ 1.5 s for the 100 aliases. All copies are the same file here (one machine), so the
//! comparison ends with one group; the work (100 reads, hashes, grouping) is that of a real check.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[path = "support/hosts.rs"]
mod hosts;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use hosts::{Hosts, list, median, ms};
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::files::Source;
use sshdeck_core::files::compare::{CompareOptions, compare_all};

const HOSTS: usize = 100;
const DAEMONS: usize = 4;

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let hosts = Hosts::start(HOSTS, DAEMONS)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let file = dir.path().join("nginx.conf");
    let conf: String =
        (0..60).map(|i| format!("    location /app{i} {{ proxy_pass http://127.0.0.1:{}; }}\n", 3000 + i)).collect();
    std::fs::write(&file, format!("server {{\n    listen 80;\n{conf}}}\n"))?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    let path = file.display().to_string();
    let data = tempfile::tempdir()?;
    std::fs::write(data.path().join("known_hosts"), std::fs::read(hosts.known_hosts())?)?;
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.path().display().to_string())]);
    let _inside = rt.enter();
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent"))?, "bench")?;
    let aliases = hosts.register(&deck)?;
    let sources: Vec<(String, Source)> = aliases
        .iter()
        .map(|a| (format!("{a}:{path}"), Source::Remote { alias: a.clone(), path: path.clone() }))
        .collect();
    let opts = CompareOptions { content: false, diff: true, max: 64 * 1024, read_max: 8 << 20 };
    println!(
        "drift benchmark: one {}-byte file on {HOSTS} aliases over {DAEMONS} loopback sshd, {runs} runs",
        std::fs::metadata(&file)?.len()
    );
    // The first comparison connects the pool; the measured ones find it warm.
    let warmup = Instant::now();
    let first = rt.block_on(compare_all(&deck, sources.clone(), opts));
    println!(
        "  first (cold pool): {:.0} ms, {} groups, {} errors",
        ms(warmup.elapsed()),
        first.groups.len(),
        first.errors.len()
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_errors, mut their_failures) = (0, 0);
    for _ in 0..runs {
        let t = Instant::now();
        let c = rt.block_on(compare_all(&deck, sources.clone(), opts));
        ours.push(t.elapsed());
        our_errors += c.errors.len();
        let (elapsed, failed) = hosts.pssh(&format!("sha256sum {path}"))?;
        theirs.push(elapsed);
        their_failures += failed;
    }
    rt.block_on(deck.shutdown());
    let (o, p) = (median(&mut ours), median(&mut theirs));
    println!("  sshdeck compare (warm pool) median {:>8.1} ms  (runs: {})  target <= 1500 ms", ms(o), list(&ours));
    println!("  pssh -p32 sha256sum (cold)  median {:>8.1} ms  (runs: {})", ms(p), list(&theirs));
    println!("  ratio sshdeck / pssh: {:.2}", o.as_secs_f64() / p.as_secs_f64());
    println!("  errors over all runs: sshdeck {our_errors}, pssh {their_failures}");
    Ok(())
}
