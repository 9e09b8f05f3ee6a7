//! Tunnel throughput: bytes through sshdeck's local forward (`tunnel_create type=local`) against
//! OpenSSH's `ssh -N -L` on the same loopback sshd, in the same run, both to the same sink.
//! `cargo bench -p sshdeck-core --bench tunnel` (`BENCH_MB`, default 1024; `BENCH_RUNS`, default 3).
//! Target: sshdeck ≥ 0.9 × OpenSSH.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::servers::ServerConfig;
use sshdeck_core::tunnels::{TunnelKind, TunnelOp, TunnelSpec};
use sshdeck_testkit::Sshd;

/// A server that reads each connection to its end and answers how many bytes came.
fn sink() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                let mut n = 0u64;
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k as u64,
                    }
                }
                let _ = s.write_all(&n.to_be_bytes());
            });
        }
    });
    port
}

/// Sends `bytes` through `port` and waits for the sink's count.
fn push(port: u16, bytes: u64) -> Duration {
    let chunk = vec![0x5au8; 1 << 20];
    let started = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        s.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = [0u8; 8];
    s.read_exact(&mut got).unwrap();
    assert_eq!(u64::from_be_bytes(got), bytes, "every byte arrived");
    started.elapsed()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mb: u64 = std::env::var("BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let bytes = mb << 20;
    let sshd = Sshd::start()?;
    let target = sink();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let data = tempfile::tempdir()?;
    let ours = free_port();
    let env = HashMap::from([
        ("MCP_DATA_DIR".to_string(), data.path().display().to_string()),
        ("TUNNEL_ALLOWED_PORTS".to_string(), ours.to_string()),
    ]);
    let _inside = rt.enter();
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent"))?, "bench")?;
    deck.add_server(
        "b",
        ServerConfig {
            port: sshd.port(),
            key_path: Some(sshd.keys().ed25519.clone()),
            ..ServerConfig::new(sshd.host(), sshd.user())
        },
        true,
    )?;
    let spec = TunnelSpec {
        name: "bench".into(),
        kind: TunnelKind::Local,
        listen_port: ours,
        target: Some(format!("127.0.0.1:{target}")),
        via: "b".into(),
        bind: None,
    };
    rt.block_on(deck.tunnel(TunnelOp::Create { spec, origin: "bench".into() }))?;

    let theirs = free_port();
    let mut ssh = Command::new("ssh")
        .args(sshd.openssh_options())
        .args(["-N", "-o", "ExitOnForwardFailure=yes", "-L", &format!("{theirs}:127.0.0.1:{target}")])
        .args(["-p", &sshd.port().to_string(), &sshd.destination()])
        .stdin(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", theirs)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "ssh -L did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("tunnel benchmark: {mb} MiB through a local forward, {runs} runs each, loopback sshd");
    // Warm both (the first connection through each sets up its path).
    push(ours, 1 << 20);
    push(theirs, 1 << 20);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(push(ours, bytes));
        b.push(push(theirs, bytes));
    }
    let _ = ssh.kill();
    let _ = ssh.wait();
    let (ma, mb_) = (median(&mut a), median(&mut b));
    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / (1 << 20) as f64;
    println!("  sshdeck tunnel : median {:>7.0} ms  {:>6.0} MiB/s", ma.as_secs_f64() * 1000.0, rate(ma));
    println!("  ssh -L         : median {:>7.0} ms  {:>6.0} MiB/s", mb_.as_secs_f64() * 1000.0, rate(mb_));
    println!("  throughput ratio sshdeck / OpenSSH: {:.2} (target >= 0.9)", rate(ma) / rate(mb_));
    rt.block_on(deck.shutdown());
    Ok(())
}
