//! get_services_status: systemd services (running and failed), Docker containers and PM2 apps, in
//! one round trip. A missing or unusable tool makes its section `not_installed` or `unavailable`,
//! never an error.

use serde::Serialize;

use super::sections;

/// The script: one `@@sshdeck NAME RC|missing` section per tool.
pub const SCRIPT: &str = include_str!("services.sh");

/// Whether a section could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionStatus {
    /// The tool answered.
    Ok,
    /// The tool is not on the PATH of a non-interactive shell.
    NotInstalled,
    /// The tool is there but could not answer (no daemon, no permission, not booted with systemd…).
    Unavailable,
}

/// systemd services.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Systemd {
    /// Section status.
    pub status: SectionStatus,
    /// Why it is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Names of the running services.
    pub running: Vec<String>,
    /// Failed services, in full.
    pub failed: Vec<Unit>,
}

/// One systemd unit line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    /// Unit name (`nginx.service`).
    pub unit: String,
    /// LOAD column.
    pub load: String,
    /// ACTIVE column.
    pub active: String,
    /// SUB column.
    pub sub: String,
    /// DESCRIPTION column.
    pub description: String,
}

/// Docker containers (`docker ps -a`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Docker {
    /// Section status.
    pub status: SectionStatus,
    /// Why it is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every container, running or not.
    pub containers: Vec<Container>,
}

/// One container.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Short id.
    pub id: String,
    /// Image.
    pub image: String,
    /// running, paused, restarting, exited, created or dead (from the status text).
    pub state: String,
    /// Docker's status text (`Up 3 hours (healthy)`).
    pub status: String,
}

/// PM2 apps (`pm2 jlist`; only these fields are kept: the process environment pm2 prints is dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pm2 {
    /// Section status.
    pub status: SectionStatus,
    /// Why it is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every app pm2 knows.
    pub apps: Vec<Pm2App>,
}

/// One PM2 app.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pm2App {
    /// App name.
    pub name: String,
    /// pm2 id.
    pub id: i64,
    /// online, stopped, errored…
    pub status: String,
    /// Process id (0 when stopped).
    pub pid: i64,
    /// Restart count.
    pub restarts: i64,
    /// CPU percent.
    pub cpu_percent: f64,
    /// Resident memory.
    pub memory_bytes: u64,
    /// Start time, milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
}

/// What `get_services_status` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesStatus {
    /// systemd section.
    pub systemd: Systemd,
    /// Docker section.
    pub docker: Docker,
    /// PM2 section.
    pub pm2: Pm2,
}

/// Most items kept per section.
const MAX_ITEMS: usize = 1000;

/// Parses the output of [`SCRIPT`].
pub fn parse(out: &str) -> ServicesStatus {
    let secs = sections(out);
    let find = |name: &str| {
        secs.iter().find_map(|(head, body)| {
            let (n, rc) = head.split_once(' ')?;
            (n == name).then_some((rc, *body))
        })
    };
    let state = |name: &str| match find(name) {
        None | Some(("missing", _)) => (SectionStatus::NotInstalled, None, ""),
        Some(("0", body)) => (SectionStatus::Ok, None, body),
        Some((_, body)) => (SectionStatus::Unavailable, Some(first_lines(body)), ""),
    };

    let (status, message, body) = state("systemd");
    let mut running = Vec::new();
    let mut failed = Vec::new();
    for unit in body.lines().filter_map(parse_unit).take(MAX_ITEMS) {
        if unit.active == "failed" {
            failed.push(unit);
        } else if unit.sub == "running" {
            running.push(unit.unit);
        }
    }
    let systemd = Systemd { status, message, running, failed };

    let (status, message, body) = state("docker");
    let containers = body.lines().filter_map(parse_container).take(MAX_ITEMS).collect();
    let docker = Docker { status, message, containers };

    let (mut status, mut message, body) = state("pm2");
    let apps = if status == SectionStatus::Ok {
        match parse_pm2(body) {
            Some(apps) => apps,
            None => {
                status = SectionStatus::Unavailable;
                message = Some(format!("pm2 jlist printed no JSON list: {}", first_lines(body)));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    ServicesStatus { systemd, docker, pm2: Pm2 { status, message, apps } }
}

fn first_lines(body: &str) -> String {
    let text: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).take(3).collect();
    let text = text.join(" / ");
    if text.len() > 300 { format!("{}…", super::prefix(&text, 300)) } else { text }
}

fn parse_unit(line: &str) -> Option<Unit> {
    let line = line.trim_start().trim_start_matches(['●', '*']).trim_start();
    let mut rest = line.split_whitespace();
    let unit = rest.next()?.to_string();
    let load = rest.next()?.to_string();
    let active = rest.next()?.to_string();
    let sub = rest.next()?.to_string();
    let description = rest.collect::<Vec<_>>().join(" ");
    Some(Unit { unit, load, active, sub, description })
}

fn parse_container(line: &str) -> Option<Container> {
    let mut f = line.split('\t');
    let id: String = f.next()?.chars().take(12).collect();
    let name = f.next()?.to_string();
    let image = f.next()?.to_string();
    let status = f.next()?.trim().to_string();
    let state = if status.starts_with("Up") {
        if status.contains("(Paused)") { "paused" } else { "running" }
    } else if status.starts_with("Restarting") {
        "restarting"
    } else if status.starts_with("Exited") {
        "exited"
    } else if status.starts_with("Created") {
        "created"
    } else if status.starts_with("Dead") {
        "dead"
    } else if status.starts_with("Removal") {
        "removing"
    } else {
        "unknown"
    };
    Some(Container { name, id, image, state: state.to_string(), status })
}

pub(crate) fn parse_pm2(body: &str) -> Option<Vec<Pm2App>> {
    // pm2 may print banner lines (daemon spawned…) before the JSON list.
    let json = body.lines().rev().find(|l| l.trim_start().starts_with('['))?;
    let list: Vec<serde_json::Value> = serde_json::from_str(json.trim()).ok()?;
    Some(
        list.iter()
            .take(MAX_ITEMS)
            .map(|p| {
                let env = &p["pm2_env"];
                Pm2App {
                    name: p["name"].as_str().unwrap_or("").to_string(),
                    id: p["pm_id"].as_i64().unwrap_or(-1),
                    status: env["status"].as_str().unwrap_or("unknown").to_string(),
                    pid: p["pid"].as_i64().unwrap_or(0),
                    restarts: env["restart_time"].as_i64().unwrap_or(0),
                    cpu_percent: p["monit"]["cpu"].as_f64().unwrap_or(0.0),
                    memory_bytes: p["monit"]["memory"].as_u64().unwrap_or(0),
                    started_at_ms: env["pm_uptime"].as_i64(),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_with_all_three_parses() {
        let s = parse(include_str!("fixtures/services-host.txt"));
        assert_eq!(s.systemd.status, SectionStatus::Ok);
        assert_eq!(s.systemd.running, ["cron.service", "dbus.service", "ssh.service", "systemd-journald.service"]);
        assert_eq!(s.systemd.failed.len(), 1);
        assert_eq!(s.systemd.failed[0].unit, "nginx.service");
        assert_eq!(s.systemd.failed[0].description, "A high performance web server and a reverse proxy server");
        let states: Vec<_> = s.docker.containers.iter().map(|c| (c.name.as_str(), c.state.as_str())).collect();
        assert_eq!(states, [("web", "running"), ("migrate", "exited"), ("cache", "paused"), ("job", "restarting")]);
        // pm2 jlist captured from pm2 6 (banner lines first); the environment it prints is not kept.
        assert_eq!(s.pm2.status, SectionStatus::Ok);
        let apps: Vec<_> = s.pm2.apps.iter().map(|a| (a.name.as_str(), a.status.as_str(), a.id)).collect();
        assert_eq!(apps, [("api", "online", 0), ("worker", "stopped", 1)]);
        assert_eq!(s.pm2.apps[0].memory_bytes, 53_878_784);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("hunter2"), "pm2's process environment leaked: {json}");
    }

    #[test]
    fn a_container_without_systemd_or_docker_daemon_or_pm2() {
        // Captured on Debian 12 in a container: systemctl present but PID 1 is not systemd, the docker
        // CLI present without a daemon, no pm2.
        let s = parse(include_str!("fixtures/services-container.txt"));
        assert_eq!(s.systemd.status, SectionStatus::Unavailable);
        assert!(s.systemd.message.as_deref().unwrap().contains("not been booted with systemd"));
        assert_eq!(s.docker.status, SectionStatus::Unavailable);
        assert!(s.docker.message.as_deref().unwrap().contains("Cannot connect to the Docker daemon"));
        assert_eq!(s.pm2.status, SectionStatus::NotInstalled);
        assert!(s.pm2.apps.is_empty());
    }

    #[test]
    fn bullets_and_garbage_lines() {
        let u = parse_unit("● nginx.service loaded failed failed Nginx").unwrap();
        assert_eq!((u.unit.as_str(), u.active.as_str(), u.description.as_str()), ("nginx.service", "failed", "Nginx"));
        assert!(parse_unit("").is_none());
        assert!(parse_container("no tabs here").is_none());
        let s = parse("@@sshdeck pm2 0\nnot json\n");
        assert_eq!(s.pm2.status, SectionStatus::Unavailable);
        assert_eq!(s.systemd.status, SectionStatus::NotInstalled, "an absent section counts as not installed");
    }
}
