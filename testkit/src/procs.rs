//! Facts about local processes and sockets that tests check: which sshdeck runners serve a data
//! dir, and how many TCP connections reach a port.

use std::fs;
use std::path::Path;

/// Live (not zombie) processes started as a runner (`sshdeck runner`, `sshdeck-mcp --runner`)
/// whose `MCP_DATA_DIR` is `data_dir`.
pub fn runner_pids(data_dir: &Path) -> Vec<u32> {
    let want = format!("MCP_DATA_DIR={}", data_dir.display());
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_runner = args.iter().any(|a| *a == b"runner" || *a == b"--runner");
        let is_ours = args.first().is_some_and(|a| a.ends_with(b"sshdeck") || a.ends_with(b"sshdeck-mcp"));
        if !is_runner || !is_ours {
            continue;
        }
        let zombie = fs::read_to_string(e.path().join("stat"))
            .map(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
            .unwrap_or(true);
        let environ = fs::read(e.path().join("environ")).unwrap_or_default();
        if !zombie && environ.split(|b| *b == 0).any(|v| v == want.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

/// Established TCP connections (IPv4 and IPv6) whose remote end is `port` on this machine: for a
/// loopback sshd, the client side of every SSH connection to it.
pub fn established_to(port: u16) -> usize {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[2].ends_with(&want) && f[3] == "01"
        })
        .count()
}

/// Resident memory of a process, in KiB (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
