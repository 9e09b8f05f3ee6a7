//! get_system_resources: CPU (two /proc/stat samples), load, memory and swap, every filesystem, uptime,
//! gathered by one script in one round trip and parsed here. Only /proc and POSIX `df -P` are used, so
//! it works the same on glibc and busybox hosts.

use serde::Serialize;

use super::sections;

/// The script: every section after a `@@sshdeck NAME` marker line; the CPU is sampled twice, half a
/// second apart.
pub const SCRIPT: &str = include_str!("system.sh");

/// What `get_system_resources` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemResources {
    /// `uname -n`.
    pub hostname: String,
    /// `uname -r`.
    pub kernel: String,
    /// Seconds since boot.
    pub uptime_seconds: f64,
    /// CPU usage over the sample interval.
    pub cpu: Cpu,
    /// Load averages.
    pub load: Load,
    /// Memory and swap.
    pub memory: Memory,
    /// Every mounted filesystem with a size (`df -P`).
    pub disks: Vec<Disk>,
    /// Sections that could not be read (the rest is still reported).
    pub warnings: Vec<String>,
}

/// CPU usage between the two samples, in percent of all cores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// Cores available to processes (`nproc`).
    pub cores: u32,
    /// Busy time: everything but idle and iowait.
    pub usage_percent: f64,
    /// Waiting for I/O.
    pub iowait_percent: f64,
    /// Stolen by the hypervisor.
    pub steal_percent: f64,
}

/// `/proc/loadavg`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Load {
    /// 1-minute load average.
    pub one: f64,
    /// 5-minute load average.
    pub five: f64,
    /// 15-minute load average.
    pub fifteen: f64,
    /// Runnable scheduling entities now.
    pub running: u32,
    /// Scheduling entities in all.
    pub total: u32,
}

/// `/proc/meminfo`, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// MemTotal.
    pub total_bytes: u64,
    /// Total minus available.
    pub used_bytes: u64,
    /// MemAvailable (estimated from free + buffers + cache on kernels before 3.14).
    pub available_bytes: u64,
    /// Used over total.
    pub usage_percent: f64,
    /// SwapTotal.
    pub swap_total_bytes: u64,
    /// SwapTotal minus SwapFree.
    pub swap_used_bytes: u64,
    /// Swap used over swap total (0 without swap).
    pub swap_usage_percent: f64,
}

/// One filesystem from `df -P -k`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// Device or filesystem name.
    pub filesystem: String,
    /// Mount point.
    pub mount: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Used bytes.
    pub used_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// Used over (used + available), as df computes it.
    pub usage_percent: f64,
}

/// Parses the output of [`script`]; `None` when it is not that script's output (not a Linux host).
pub fn parse(out: &str) -> Option<SystemResources> {
    let secs = sections(out);
    let get = |name: &str| secs.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
    let mut warnings = Vec::new();
    let (s1, s2) = (get("stat1")?, get("stat2")?);
    let cores = get("nproc").and_then(|b| b.trim().parse().ok()).unwrap_or_else(|| {
        warnings.push("cores: nproc and /proc/cpuinfo unreadable".to_string());
        0
    });
    let cpu = match (cpu_times(s1), cpu_times(s2)) {
        (Some(a), Some(b)) => cpu_usage(&a, &b, cores),
        _ => {
            warnings.push("cpu: /proc/stat unreadable".to_string());
            Cpu { cores, usage_percent: 0.0, iowait_percent: 0.0, steal_percent: 0.0 }
        }
    };
    let load = get("loadavg").and_then(parse_loadavg).unwrap_or_else(|| {
        warnings.push("load: /proc/loadavg unreadable".to_string());
        Load { one: 0.0, five: 0.0, fifteen: 0.0, running: 0, total: 0 }
    });
    let memory = get("meminfo").and_then(parse_meminfo).unwrap_or_else(|| {
        warnings.push("memory: /proc/meminfo unreadable".to_string());
        Memory {
            total_bytes: 0,
            used_bytes: 0,
            available_bytes: 0,
            usage_percent: 0.0,
            swap_total_bytes: 0,
            swap_used_bytes: 0,
            swap_usage_percent: 0.0,
        }
    });
    let uptime_seconds = get("uptime").and_then(|b| b.split_whitespace().next()?.parse().ok()).unwrap_or_else(|| {
        warnings.push("uptime: /proc/uptime unreadable".to_string());
        0.0
    });
    let mut uname = get("uname").unwrap_or("").lines();
    let hostname = uname.next().unwrap_or("").trim().to_string();
    let kernel = uname.next().unwrap_or("").trim().to_string();
    let disks = get("df").map(parse_df).unwrap_or_default();
    if disks.is_empty() {
        warnings.push("disks: df -P printed no filesystem".to_string());
    }
    Some(SystemResources { hostname, kernel, uptime_seconds, cpu, load, memory, disks, warnings })
}

/// The jiffies of the aggregate `cpu` line: user nice system idle iowait irq softirq steal.
fn cpu_times(body: &str) -> Option<Vec<u64>> {
    let line = body.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    (v.len() >= 4).then_some(v)
}

fn cpu_usage(a: &[u64], b: &[u64], cores: u32) -> Cpu {
    let field = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    // guest and guest_nice (fields 9, 10) are already counted in user and nice.
    let total = |v: &[u64]| (0..8).map(|i| field(v, i)).sum::<u64>();
    let dt = total(b).saturating_sub(total(a)) as f64;
    let d = |i: usize| field(b, i).saturating_sub(field(a, i)) as f64;
    let pct = |x: f64| if dt > 0.0 { round1(x * 100.0 / dt) } else { 0.0 };
    Cpu { cores, usage_percent: pct(dt - d(3) - d(4)), iowait_percent: pct(d(4)), steal_percent: pct(d(7)) }
}

fn parse_loadavg(body: &str) -> Option<Load> {
    let mut f = body.split_whitespace();
    let one = f.next()?.parse().ok()?;
    let five = f.next()?.parse().ok()?;
    let fifteen = f.next()?.parse().ok()?;
    let (running, total) = f.next()?.split_once('/')?;
    Some(Load { one, five, fifteen, running: running.parse().ok()?, total: total.parse().ok()? })
}

fn parse_meminfo(body: &str) -> Option<Memory> {
    let kb = |key: &str| {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.split_whitespace().next()?.parse::<u64>().ok()).flatten()
        })
    };
    let total = kb("MemTotal")?;
    let available = kb("MemAvailable").unwrap_or_else(|| {
        kb("MemFree").unwrap_or(0)
            + kb("Buffers").unwrap_or(0)
            + kb("Cached").unwrap_or(0)
            + kb("SReclaimable").unwrap_or(0)
    });
    let available = available.min(total);
    let swap_total = kb("SwapTotal").unwrap_or(0);
    let swap_used = swap_total.saturating_sub(kb("SwapFree").unwrap_or(swap_total));
    let pct = |part: u64, whole: u64| if whole > 0 { round1(part as f64 * 100.0 / whole as f64) } else { 0.0 };
    Some(Memory {
        total_bytes: total * 1024,
        used_bytes: (total - available) * 1024,
        available_bytes: available * 1024,
        usage_percent: pct(total - available, total),
        swap_total_bytes: swap_total * 1024,
        swap_used_bytes: swap_used * 1024,
        swap_usage_percent: pct(swap_used, swap_total),
    })
}

/// `df -P -k` lines: name, 1024-blocks, used, available, capacity, mount point (which may hold spaces).
/// Filesystems of size 0 (proc-like) are left out.
pub(crate) fn parse_df(body: &str) -> Vec<Disk> {
    body.lines()
        .filter(|l| !l.starts_with("Filesystem"))
        .filter_map(|line| {
            let mut rest = line.trim_start();
            let mut field = || {
                let end = rest.find(char::is_whitespace)?;
                let f = &rest[..end];
                rest = rest[end..].trim_start();
                Some(f)
            };
            let filesystem = field()?.to_string();
            let size: u64 = field()?.parse().ok()?;
            let used: u64 = field()?.parse().ok()?;
            let available: u64 = field()?.parse().ok()?;
            let _capacity = field()?;
            let mount = rest.trim_end().to_string();
            if size == 0 || mount.is_empty() {
                return None;
            }
            let usage_percent =
                if used + available > 0 { round1(used as f64 * 100.0 / (used + available) as f64) } else { 0.0 };
            Some(Disk {
                filesystem,
                mount,
                size_bytes: size * 1024,
                used_bytes: used * 1024,
                available_bytes: available * 1024,
                usage_percent,
            })
        })
        .collect()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_capture_parses() {
        let r = parse(include_str!("fixtures/resources-debian12.txt")).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.cpu.cores, 2);
        assert!(r.cpu.usage_percent > 0.0 && r.cpu.usage_percent <= 100.0, "{:?}", r.cpu);
        assert_eq!(r.memory.total_bytes, 24_684_084 * 1024);
        assert!(r.memory.available_bytes < r.memory.total_bytes);
        assert_eq!(r.memory.swap_total_bytes, 0);
        assert_eq!(r.memory.swap_usage_percent, 0.0);
        let root = r.disks.iter().find(|d| d.mount == "/").expect("root fs");
        assert_eq!(root.filesystem, "/dev/vda");
        assert_eq!(root.size_bytes, 264_212_084 * 1024);
        assert_eq!(root.usage_percent, 26.8);
        assert!(r.disks.iter().any(|d| d.filesystem == "tmpfs"), "tmpfs is a mounted filesystem too");
        assert!(r.uptime_seconds > 0.0);
        assert_eq!(r.load.total, 80);
    }

    #[test]
    fn busybox_df_and_old_kernel_meminfo_parse() {
        // busybox 1.35 `df -P -k` (captured) and a 2.6-era /proc/meminfo without MemAvailable.
        let r = parse(include_str!("fixtures/resources-busybox-oldkernel.txt")).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.disks.len(), 4, "{:?}", r.disks);
        assert_eq!(r.disks[3].mount, "/mnt/with space");
        // Available = MemFree + Buffers + Cached when MemAvailable is missing.
        assert_eq!(r.memory.available_bytes, (120_000 + 30_000 + 250_000) * 1024);
        assert_eq!(r.memory.swap_used_bytes, (1_048_572 - 1_000_000) * 1024);
        assert_eq!(r.cpu.cores, 1);
        // 7 fields only (no steal): still parsed.
        assert_eq!(r.cpu.steal_percent, 0.0);
        assert_eq!(r.cpu.usage_percent, 50.0);
        assert_eq!(r.load.one, 0.08);
    }

    #[test]
    fn cpu_usage_counts_iowait_as_idle_and_reports_steal() {
        let a = [100, 0, 100, 700, 50, 0, 0, 50];
        let b = [150, 0, 150, 800, 100, 0, 0, 100];
        let c = cpu_usage(&a, &b, 4);
        // dt = 300: busy = 300 - 100 idle - 50 iowait = 150.
        assert_eq!(c.usage_percent, 50.0);
        assert_eq!(c.iowait_percent, 16.7);
        assert_eq!(c.steal_percent, 16.7);
        assert_eq!(cpu_usage(&a, &a, 4).usage_percent, 0.0, "no time passed: no division by zero");
    }

    #[test]
    fn missing_sections_are_warnings_and_garbage_is_an_error() {
        let out = "@@sshdeck stat1\ncpu  1 0 1 8 0 0 0 0\n@@sshdeck stat2\ncpu  2 0 2 16 0 0 0 0\n";
        let r = parse(out).unwrap();
        assert_eq!(r.cpu.usage_percent, 20.0);
        assert!(r.warnings.iter().any(|w| w.starts_with("memory")));
        assert!(r.warnings.iter().any(|w| w.starts_with("disks")));
        assert!(parse("sh: head: not found\n").is_none());
    }

    #[test]
    fn a_marker_inside_a_line_is_not_a_section() {
        let s = sections("@@sshdeck a\nx @@sshdeck b\n@@sshdeck c\nz\n");
        assert_eq!(s, vec![("a", "x @@sshdeck b\n"), ("c", "z\n")]);
    }
}
