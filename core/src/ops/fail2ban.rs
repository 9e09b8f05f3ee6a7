//! get_fail2ban_status: jails with failed and banned counts and banned addresses. Runs
//! `fail2ban-client` directly as root, else through `sudo -n` so it never waits on a password prompt.

use serde::Serialize;

use super::sections;
use crate::error::Error;

/// The script; `$1` is the jail (empty for all).
pub const SCRIPT: &str = include_str!("fail2ban.sh");

/// What `get_fail2ban_status` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fail2ban {
    /// `ok`, `not_installed` or `not_running`.
    pub status: &'static str,
    /// Why it is not running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The jails asked for (all of them without a `jail` argument).
    pub jails: Vec<Jail>,
}

/// One jail's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Jail {
    /// Jail name.
    pub name: String,
    /// Currently failed.
    pub currently_failed: u64,
    /// Total failed.
    pub total_failed: u64,
    /// Currently banned.
    pub currently_banned: u64,
    /// Total banned.
    pub total_banned: u64,
    /// Banned addresses.
    pub banned_ips: Vec<String>,
}

/// Parses the output of [`SCRIPT`]; errors are typed: PERMISSION_DENIED (sudo refused), NOT_FOUND
/// (no such jail), COMMAND_FAILED (anything else).
pub fn parse(alias: &str, out: &str) -> Result<Fail2ban, Error> {
    let secs = sections(out);
    let mut jails = Vec::new();
    for (head, body) in &secs {
        let (kind, rc) = head.split_once(' ').unwrap_or((head, ""));
        match kind {
            "not-installed" => return Ok(Fail2ban { status: "not_installed", message: None, jails }),
            "no-sudo" => {
                return Err(Error::PermissionDenied {
                    alias: alias.to_string(),
                    reason: "fail2ban-client needs root, and sudo is not installed".into(),
                });
            }
            _ if rc != "0" => {
                let text = body.trim();
                if text.contains("password is required")
                    || text.contains("not in the sudoers")
                    || text.contains("not allowed to execute")
                    || text.contains("may not run sudo")
                {
                    let reason = format!("sudo -n refused fail2ban-client: {}", last_line(text));
                    return Err(Error::PermissionDenied { alias: alias.to_string(), reason });
                }
                if let Some(name) = text.lines().find_map(|l| l.strip_prefix("Sorry but the jail '")) {
                    let name = name.trim_end_matches("' does not exist").to_string();
                    return Err(Error::NotFound { what: "fail2ban jail", name });
                }
                if text.contains("Failed to access socket") || text.contains("Is fail2ban running") {
                    let message = Some(last_line(text).to_string());
                    return Ok(Fail2ban { status: "not_running", message, jails });
                }
                return Err(Error::RemoteFailed {
                    alias: alias.to_string(),
                    what: "fail2ban-client status".into(),
                    exit: rc.parse().unwrap_or(-1),
                    stderr: last_line(text).to_string(),
                });
            }
            "jail" => jails.push(parse_jail(body)),
            _ => {}
        }
    }
    if secs.is_empty() {
        return Err(Error::UnexpectedOutput {
            alias: alias.to_string(),
            what: "fail2ban status".into(),
            excerpt: out.chars().take(200).collect(),
        });
    }
    Ok(Fail2ban { status: "ok", message: None, jails })
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

/// One `fail2ban-client status JAIL` tree.
fn parse_jail(body: &str) -> Jail {
    let mut jail = Jail::default();
    for line in body.lines() {
        let line = line.trim_start_matches(['|', '`', '-', ' ']);
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let n = || value.parse().unwrap_or(0);
        match key.trim() {
            "Status for the jail" => jail.name = value.to_string(),
            "Currently failed" => jail.currently_failed = n(),
            "Total failed" => jail.total_failed = n(),
            "Currently banned" => jail.currently_banned = n(),
            "Total banned" => jail.total_banned = n(),
            "Banned IP list" => jail.banned_ips = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    jail
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fixtures were captured from fail2ban 1.0.2 on Debian 12 with two jails.
    #[test]
    fn all_jails_parse() {
        let f = parse("web1", include_str!("fixtures/fail2ban-debian12.txt")).unwrap();
        assert_eq!(f.status, "ok");
        assert_eq!(f.jails.len(), 2);
        let sshd = &f.jails[1];
        assert_eq!(sshd.name, "sshd");
        assert_eq!((sshd.currently_failed, sshd.total_failed), (1, 6));
        assert_eq!((sshd.currently_banned, sshd.total_banned), (2, 2));
        assert_eq!(sshd.banned_ips, ["203.0.113.7", "198.51.100.23"]);
        assert!(f.jails[0].banned_ips.is_empty(), "an empty list is empty");
    }

    #[test]
    fn failures_are_typed() {
        let e = parse("web1", include_str!("fixtures/fail2ban-nojail.txt")).unwrap_err();
        assert_eq!(e.code(), "NOT_FOUND");
        assert!(e.to_string().contains("nope"), "{e}");
        let f = parse("web1", include_str!("fixtures/fail2ban-notrunning.txt")).unwrap();
        assert_eq!(f.status, "not_running");
        assert!(f.message.unwrap().contains("Is fail2ban running?"));
        let e = parse("web1", "@@sshdeck status 1\nsudo: a password is required\n").unwrap_err();
        assert_eq!(e.code(), "PERMISSION_DENIED");
        assert_eq!(parse("web1", "@@sshdeck no-sudo\n").unwrap_err().code(), "PERMISSION_DENIED");
        assert_eq!(parse("web1", "@@sshdeck not-installed\n").unwrap().status, "not_installed");
        assert_eq!(parse("web1", "@@sshdeck status 2\nboom\n").unwrap_err().code(), "COMMAND_FAILED");
        assert_eq!(parse("web1", "rbash: restricted\n").unwrap_err().code(), "UNEXPECTED_OUTPUT");
    }
}
