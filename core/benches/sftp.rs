//! SFTP throughput: sshdeck against OpenSSH `sftp -b` and `scp` on the same loopback sshd, in the same
//! run, all warm (sshdeck's pool is open; OpenSSH goes through a ControlMaster).
//! `cargo bench -p sshdeck-core --bench sftp` (BENCH_MB sets the big file's size, default 100).
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{JobSpec, JobStatus};
use sshdeck_core::servers::ServerConfig;
use sshdeck_core::sftp::{Direction, TransferItem};
use sshdeck_testkit::Sshd;

const RUNS: usize = 5;

fn main() -> anyhow::Result<()> {
    let mb: usize = std::env::var("BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let sshd = Sshd::start()?;
    let work = tempfile::tempdir()?;
    let big = work.path().join("big.bin");
    std::fs::write(&big, pseudo_random(mb << 20))?;
    let tree = work.path().join("tree");
    for d in 0..20 {
        for f in 0..100 {
            let p = tree.join(format!("d{d:02}/f{f:03}.txt"));
            std::fs::create_dir_all(p.parent().unwrap())?;
            std::fs::write(p, pseudo_random(1024 + (d * 100 + f) % 3072))?;
        }
    }
    let remote = sshd.scratch().to_path_buf();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let data = tempfile::tempdir()?;
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.path().display().to_string())]);
    let deck =
        rt.block_on(async { Deck::open(Settings::load_from(&env, Path::new("/nonexistent")).unwrap(), "bench") })?;
    deck.add_server(
        "b",
        ServerConfig {
            port: sshd.port(),
            key_path: Some(sshd.keys().ed25519.clone()),
            ..ServerConfig::new(sshd.host(), sshd.user())
        },
        true,
    )?;
    rt.block_on(deck.exec("b", "true", deck.exec_options(), &mut |_, _| {}))?;

    let ours = |dir: Direction, local: &Path, remote: &Path| -> anyhow::Result<Duration> {
        let items = vec![TransferItem { local: local.display().to_string(), remote: remote.display().to_string() }];
        let t = Instant::now();
        let done = rt.block_on(async {
            let job = deck.submit(
                "b",
                JobSpec::Transfer { direction: dir, items, force: true, verify: false, source_alias: None },
                "bench",
                None,
            )?;
            deck.wait(&job.id, None).await
        })?;
        anyhow::ensure!(done.status == JobStatus::Completed, "{done:?}");
        Ok(t.elapsed())
    };

    let cm = tempfile::tempdir()?;
    let mut opts = sshd.openssh_options();
    opts.extend(["-o".into(), "ControlMaster=auto".into(), "-o".into(), "ControlPersist=120".into()]);
    opts.extend(["-o".into(), format!("ControlPath={}/cm-%C", cm.path().display())]);
    let port = sshd.port().to_string();
    let run = |mut c: Command| -> anyhow::Result<Duration> {
        let t = Instant::now();
        let out = c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
        anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Ok(t.elapsed())
    };
    let mut master = Command::new("ssh");
    master.args(&opts).args(["-p", &port, &sshd.destination(), "true"]);
    run(master)?;
    let sftp_batch = |batch: &str| -> anyhow::Result<Duration> {
        let file = work.path().join("batch");
        std::fs::write(&file, batch)?;
        let mut c = Command::new("sftp");
        c.args(&opts).args(["-P", &port, "-b"]).arg(&file).arg(sshd.destination());
        run(c)
    };
    let scp = |args: &[String]| -> anyhow::Result<Duration> {
        let mut c = Command::new("scp");
        c.args(&opts).args(["-q", "-P", &port]).args(args);
        run(c)
    };
    let dest = |p: &Path| format!("{}:{}", sshd.destination(), p.display());
    let clean = |p: &Path| {
        let _ = std::fs::remove_dir_all(p);
        let _ = std::fs::remove_file(p);
    };

    let down = work.path().join("down");
    std::fs::create_dir_all(&down)?;
    let r_big = remote.join("big.bin");
    let r_tree = remote.join("tree");
    let mut rows: Vec<(&str, f64, f64, f64)> = Vec::new();
    // The three tools take turns within each run, so drift on this shared machine hits all alike.
    let race = |fs: [&mut dyn FnMut() -> anyhow::Result<Duration>; 3]| -> anyhow::Result<[f64; 3]> {
        let mut times: [Vec<Duration>; 3] = Default::default();
        let mut fs = fs;
        for _ in 0..RUNS {
            for (i, f) in fs.iter_mut().enumerate() {
                times[i].push(f()?);
            }
        }
        Ok(times.map(|mut v| {
            v.sort();
            v[v.len() / 2].as_secs_f64()
        }))
    };
    let mbytes = (mb << 20) as f64 / 1e6;
    let t = race([
        &mut || ours(Direction::Upload, &big, &r_big),
        &mut || sftp_batch(&format!("put {} {}\n", big.display(), r_big.display())),
        &mut || scp(&[big.display().to_string(), dest(&r_big)]),
    ])?;
    rows.push(("100 MB upload (MB/s)", mbytes / t[0], mbytes / t[1], mbytes / t[2]));
    let d_big = down.join("big.bin");
    let t = race([
        &mut || ours(Direction::Download, &d_big, &r_big),
        &mut || sftp_batch(&format!("get {} {}\n", r_big.display(), d_big.display())),
        &mut || scp(&[dest(&r_big), d_big.display().to_string()]),
    ])?;
    rows.push(("100 MB download (MB/s)", mbytes / t[0], mbytes / t[1], mbytes / t[2]));
    // 2,000 small files: a fresh target each time.
    let t = race([
        &mut || {
            clean(&r_tree);
            ours(Direction::Upload, &tree, &r_tree)
        },
        &mut || {
            clean(&r_tree);
            sftp_batch(&format!("put -r {} {}\n", tree.display(), r_tree.display()))
        },
        &mut || {
            clean(&r_tree);
            scp(&["-r".into(), tree.display().to_string(), dest(&r_tree)])
        },
    ])?;
    rows.push(("2,000 files upload (files/s)", 2000.0 / t[0], 2000.0 / t[1], 2000.0 / t[2]));
    let d_tree = down.join("tree");
    let t = race([
        &mut || {
            clean(&d_tree);
            ours(Direction::Download, &d_tree, &r_tree)
        },
        &mut || {
            clean(&d_tree);
            sftp_batch(&format!("get -r {} {}\n", r_tree.display(), d_tree.display()))
        },
        &mut || {
            clean(&d_tree);
            scp(&["-r".into(), dest(&r_tree), d_tree.display().to_string()])
        },
    ])?;
    rows.push(("2,000 files download (files/s)", 2000.0 / t[0], 2000.0 / t[1], 2000.0 / t[2]));

    println!("SFTP benchmark: loopback sshd, {mb} MB file, median of {RUNS} interleaved runs, all warm");
    println!("{:<32} {:>10} {:>10} {:>10} {:>12} {:>12}", "", "sshdeck", "sftp -b", "scp", "vs sftp", "vs scp");
    for (name, ours, sftp, scp) in rows {
        println!("{name:<32} {ours:>10.1} {sftp:>10.1} {scp:>10.1} {:>12.2} {:>12.2}", ours / sftp, ours / scp);
    }
    println!("targets: >= 0.90 x sftp for the big file both ways, >= 1.0 x for the 2,000-file tree");
    rt.block_on(deck.shutdown());
    Ok(())
}

fn pseudo_random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ n as u64;
    for b in v.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    v
}
