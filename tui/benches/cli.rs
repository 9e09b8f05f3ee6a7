//! `sshdeck exec` through the data dir's runner, against OpenSSH on the same loopback sshd in the
//! same run: a warm runner vs `ssh` through a warm ControlMaster, the runner's first start counted
//! separately, and the idle runner's resident memory. `cargo bench -p sshdeck --bench cli`
//! (BENCH_N sets samples).
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sshdeck_testkit::Sshd;
use sshdeck_testkit::procs::runner_pids;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let sshd = Sshd::start()?;
    let data = tempfile::tempdir()?;
    let bin = Path::new(env!("CARGO_BIN_EXE_sshdeck"));
    let sshdeck = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.args(args).env("MCP_DATA_DIR", data.path()).env_remove("SSH_AUTH_SOCK").stdin(Stdio::null());
        c
    };
    let port = sshd.port().to_string();
    let key = sshd.keys().ed25519.display().to_string();
    let st =
        sshdeck(&["servers", "add", "b", "--host", "127.0.0.1", "--port", &port, "--user", sshd.user(), "--key", &key])
            .output()?;
    anyhow::ensure!(st.status.success(), "servers add: {}", String::from_utf8_lossy(&st.stderr));
    let exec = || -> anyhow::Result<Duration> {
        let t = Instant::now();
        let out = sshdeck(&["exec", "b", "--", "echo hi"]).output()?;
        let took = t.elapsed();
        anyhow::ensure!(out.stdout == b"hi\n", "exec: {}", String::from_utf8_lossy(&out.stderr));
        Ok(took)
    };

    // First start: no runner yet (it starts, connects, runs the job).
    let first = exec()?;
    for _ in 0..10 {
        exec()?;
    }
    let ours = (0..n).map(|_| exec()).collect::<anyhow::Result<Vec<_>>>()?;

    let cm = tempfile::tempdir()?;
    let ssh = || -> anyhow::Result<Duration> {
        let mut cmd = sshd.ssh_command();
        cmd.args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60", "-o"])
            .arg(format!("ControlPath={}/cm-%C", cm.path().display()))
            .arg("echo hi")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t = Instant::now();
        anyhow::ensure!(cmd.status()?.success(), "ssh failed");
        Ok(t.elapsed())
    };
    for _ in 0..5 {
        ssh()?;
    }
    let openssh = (0..n).map(|_| ssh()).collect::<anyhow::Result<Vec<_>>>()?;

    // stdin: `cat FILE | sshdeck exec b -- 'cat > /dev/null'` vs the same through ssh (a fresh `ssh`,
    // as a user types it; its handshake is a small part of a 1 GB run).
    let mb: usize = std::env::var("BENCH_STDIN_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let file = tempfile::NamedTempFile::new()?;
    {
        use std::io::Write;
        let block: Vec<u8> = (0u32..1 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut w = std::io::BufWriter::new(file.as_file());
        for _ in 0..mb {
            w.write_all(&block)?;
        }
        w.flush()?;
    }
    let piped = |mut cmd: Command| -> anyhow::Result<Duration> {
        let t = Instant::now();
        let st = cmd.stdin(std::fs::File::open(file.path())?).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        anyhow::ensure!(st.success(), "stdin run failed");
        Ok(t.elapsed())
    };
    let mut ours_in = Vec::new();
    let mut theirs_in = Vec::new();
    for _ in 0..3 {
        ours_in.push(piped(sshdeck(&["exec", "b", "--", "cat > /dev/null"]))?);
        let mut ssh = sshd.ssh_command();
        ssh.arg("cat > /dev/null");
        theirs_in.push(piped(ssh)?);
    }
    let mbps = |d: Duration| mb as f64 / d.as_secs_f64();

    // Idle runner memory: after the jobs, with its pooled connection still open.
    std::thread::sleep(Duration::from_secs(2));
    let rss_kib = runner_pids(data.path()).first().map_or(0, |pid| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
            .unwrap_or(0)
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |v: &[Duration], p: usize| {
        let mut s = v.to_vec();
        s.sort();
        s[(s.len() - 1) * p / 100]
    };
    println!("sshdeck CLI benchmark (through the runner), n = {n}, loopback sshd port {}", sshd.port());
    println!("{:<48} {:>8} {:>8}", "", "p50 ms", "p95 ms");
    println!("{:<48} {:>8.2} {:>8.2}", "sshdeck exec `echo hi`, warm runner", ms(pct(&ours, 50)), ms(pct(&ours, 95)));
    println!(
        "{:<48} {:>8.2} {:>8.2}",
        "ssh `echo hi`, warm ControlMaster",
        ms(pct(&openssh, 50)),
        ms(pct(&openssh, 95))
    );
    println!("{:<48} {:>8.2}", "sshdeck exec `echo hi`, runner's first start", ms(first));
    println!(
        "ratio warm p50 sshdeck exec / ssh ControlMaster: {:.3} (target <= 0.5)",
        ms(pct(&ours, 50)) / ms(pct(&openssh, 50))
    );
    println!("idle runner RSS: {:.1} MiB (target <= 20 MB)", rss_kib as f64 / 1024.0);
    let (a, b) = (pct(&ours_in, 50), pct(&theirs_in, 50));
    println!(
        "stdin {mb} MiB into `cat > /dev/null`, median of 3: sshdeck {:.0} MiB/s, ssh {:.0} MiB/s, ratio {:.2} (target >= 0.9)",
        mbps(a),
        mbps(b),
        mbps(a) / mbps(b)
    );
    if let Some(secs) = std::env::var("BENCH_HOLD_S").ok().and_then(|v| v.parse().ok()) {
        // For profiling by hand: the data dir (server `b`) and its runner stay up this long.
        println!("holding {secs} s: MCP_DATA_DIR={}", data.path().display());
        std::thread::sleep(Duration::from_secs(secs));
    }
    // Leave no runner behind.
    for pid in runner_pids(data.path()) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    Ok(())
}
