//! Log sources as remote commands: a bounded read (for tools) and a follow form (for the console's
//! tail view and streaming). Every value is quoted, and passed after `--` where the tool accepts it.

use crate::error::{Error, Result};
use crate::ssh::quote::shell_quote as q;

/// Lines returned when none are asked for.
pub const DEFAULT_LINES: u32 = 100;
/// Most lines one read returns.
pub const MAX_LINES: u32 = 10_000;

fn lines(n: Option<u32>) -> u32 {
    n.unwrap_or(DEFAULT_LINES).clamp(1, MAX_LINES)
}

/// The last lines of a file.
pub fn tail_file(path: &str, n: Option<u32>) -> Result<String> {
    if path.trim().is_empty() {
        return Err(Error::InvalidArgument("filepath is empty".into()));
    }
    Ok(format!("tail -n {} -- {}", lines(n), q(path)))
}

/// journald entries, optionally of one unit, since a time, at or above a priority.
pub fn journal(unit: Option<&str>, since: Option<&str>, priority: Option<&str>, n: Option<u32>) -> Result<String> {
    let mut cmd = format!("journalctl --no-pager -n {}", lines(n));
    if let Some(u) = unit.filter(|u| !u.is_empty()) {
        cmd.push_str(&format!(" -u {}", q(u)));
    }
    if let Some(s) = since.filter(|s| !s.is_empty()) {
        cmd.push_str(&format!(" --since {}", q(s)));
    }
    if let Some(p) = priority.filter(|p| !p.is_empty()) {
        const LEVELS: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
        if !(LEVELS.contains(&p) || matches!(p, "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7")) {
            return Err(Error::InvalidArgument(format!("priority {p:?}: expected 0-7 or emerg..debug")));
        }
        cmd.push_str(&format!(" -p {p}"));
    }
    Ok(cmd)
}

/// A Docker container's logs.
pub fn docker(container: &str, n: Option<u32>, since: Option<&str>, timestamps: bool) -> Result<String> {
    if container.trim().is_empty() {
        return Err(Error::InvalidArgument("container is empty".into()));
    }
    let mut cmd = format!("docker logs --tail {}", lines(n));
    if let Some(s) = since.filter(|s| !s.is_empty()) {
        cmd.push_str(&format!(" --since {}", q(s)));
    }
    if timestamps {
        cmd.push_str(" --timestamps");
    }
    cmd.push_str(&format!(" -- {}", q(container)));
    Ok(cmd)
}

/// PM2 logs of one app (or all), error logs only with `errors`.
pub fn pm2(app: Option<&str>, n: Option<u32>, errors: bool) -> String {
    let mut cmd = format!("pm2 logs --nostream --raw --lines {}", lines(n));
    if errors {
        cmd.push_str(" --err");
    }
    if let Some(a) = app.filter(|a| !a.is_empty()) {
        cmd.push_str(&format!(" -- {}", q(a)));
    }
    cmd
}

/// The command that follows a log source until stopped: a file path, `journal:UNIT`, `docker:NAME`
/// or `pm2:APP`.
pub fn follow(source: &str) -> String {
    if let Some(unit) = source.strip_prefix("journal:") {
        format!("journalctl -f -n 200 --no-pager -u {}", q(unit))
    } else if let Some(name) = source.strip_prefix("docker:") {
        format!("docker logs -f --tail 200 -- {}", q(name))
    } else if let Some(app) = source.strip_prefix("pm2:") {
        format!("pm2 logs --raw --lines 200 -- {}", q(app))
    } else {
        format!("tail -n 200 -F -- {}", q(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_bounded() {
        assert_eq!(tail_file("/var/log/a b.log", Some(5)).unwrap(), "tail -n 5 -- '/var/log/a b.log'");
        assert_eq!(tail_file("x", Some(10_000_000)).unwrap(), "tail -n 10000 -- 'x'");
        assert_eq!(tail_file("x", Some(0)).unwrap(), "tail -n 1 -- 'x'");
        assert_eq!(
            journal(Some("nginx'; rm -rf /"), Some("1 hour ago"), Some("err"), None).unwrap(),
            "journalctl --no-pager -n 100 -u 'nginx'\\''; rm -rf /' --since '1 hour ago' -p err"
        );
        assert_eq!(journal(None, None, Some("$(id)"), None).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(
            docker("--help", Some(3), Some("1h"), true).unwrap(),
            "docker logs --tail 3 --since '1h' --timestamps -- '--help'"
        );
        assert_eq!(pm2(Some("api"), None, true), "pm2 logs --nostream --raw --lines 100 --err -- 'api'");
        assert_eq!(follow("docker:web; rm -rf /"), "docker logs -f --tail 200 -- 'web; rm -rf /'");
        assert!(follow("journal:nginx").starts_with("journalctl -f"));
        assert_eq!(follow("/var/log/a b.log"), "tail -n 200 -F -- '/var/log/a b.log'");
    }
}
