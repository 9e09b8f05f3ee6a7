//! server_inventory (Node's name): what a server is and runs — OS, kernel, architecture, CPU, memory,
//! disks, uptime, listening TCP ports with their processes, systemd services, Docker containers and
//! PM2 apps — all parsed, gathered in parallel round trips (this facts script, the resources and the
//! services recipes), and cached in the data dir's `inventory.json` until `force` or an hour passes.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use super::services::ServicesStatus;
use super::system::SystemResources;
use super::{Run, sections};
use crate::clock::{format_time, now_ms};
use crate::error::Result;
use crate::remote::Remote;
use crate::store::MapFile;

/// The facts script: `@@sshdeck NAME` sections.
pub const SCRIPT: &str = include_str!("inventory.sh");
/// The cache file in the data dir.
pub const CACHE_FILE: &str = "inventory.json";
/// How long a cached inventory is served without `force`.
pub const CACHE_FOR_MS: u64 = 3_600_000;

/// The operating system, from `/etc/os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Os {
    pub name: String,
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
}

/// One listening TCP socket (`ss -lnt`), with its process when `ss -p` may show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub address: String,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What the facts script tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    pub os: Os,
    pub arch: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// `None`: `ss` is not installed.
    pub ports: Option<Vec<Listener>>,
}

/// The whole inventory.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub alias: String,
    pub collected_at: String,
    #[serde(flatten)]
    pub facts: Facts,
    pub resources: SystemResources,
    pub services: ServicesStatus,
}

/// `/etc/os-release` fields (`KEY=value`, values maybe quoted).
pub fn parse_os_release(text: &str) -> Os {
    let mut os = Os::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "NAME" => os.name = v,
            "ID" => os.id = v,
            "VERSION_ID" => os.version_id = v,
            "PRETTY_NAME" => os.pretty_name = v,
            _ => {}
        }
    }
    os
}

/// `ss -Hlnt[p]` lines: `LISTEN 0 128 127.0.0.1:8080 0.0.0.0:* users:(("nginx",pid=12,fd=6))`.
/// Sorted by port, one entry per address and port.
pub fn parse_ss(text: &str) -> Vec<Listener> {
    let mut out: Vec<Listener> = text
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // With a header-less `ss`, the local address is the 4th column (state, recv-q, send-q).
            let local = cols.get(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            let addr = addr.split('%').next().unwrap_or(addr).to_string();
            let users = cols.iter().skip(5).find(|c| c.starts_with("users:"));
            let process = users.and_then(|u| u.split('"').nth(1)).map(str::to_string);
            let pid = users
                .and_then(|u| u.split("pid=").nth(1))
                .and_then(|p| p.split([',', ')']).next())
                .and_then(|p| p.parse().ok());
            Some(Listener { address: addr, port, process, pid })
        })
        .collect();
    out.sort_by(|a, b| (a.port, &a.address).cmp(&(b.port, &b.address)));
    out.dedup_by(|a, b| a.port == b.port && a.address == b.address);
    out
}

/// The facts script's output.
pub fn parse_facts(out: &str) -> Facts {
    let mut f = Facts::default();
    for (name, body) in sections(out) {
        match name {
            "os" => f.os = parse_os_release(body),
            "arch" => f.arch = body.trim().to_string(),
            "cpu" => f.cpu_model = body.split_once(':').map(|(_, m)| m.trim().to_string()).filter(|m| !m.is_empty()),
            "ports" => f.ports = Some(parse_ss(body)),
            _ => {}
        }
    }
    f
}

/// Gathers the inventory of `alias` now.
pub async fn collect(deck: &dyn Remote, alias: &str, run: Run) -> Result<Inventory> {
    let (facts, resources, services) = tokio::join!(
        super::run_script(deck, alias, SCRIPT, &[], run.clone()),
        super::system_resources(deck, alias, run.clone()),
        super::services_status(deck, alias, run),
    );
    let facts = facts?;
    let text = facts.stdout.text();
    if !text.contains("@@sshdeck os") {
        return Err(super::unexpected(alias, "inventory", &facts));
    }
    Ok(Inventory {
        alias: alias.to_string(),
        collected_at: format_time(now_ms()),
        facts: parse_facts(&text),
        resources: resources?,
        services: services?,
    })
}

/// The inventory of `alias`: the cached one when younger than [`CACHE_FOR_MS`] and not `force`d,
/// else gathered and cached. Returns it with whether it came from the cache and its age (s).
pub async fn inventory(
    deck: &dyn Remote,
    root: &Path,
    alias: &str,
    force: bool,
    run: Run,
) -> Result<(Value, bool, u64)> {
    cached(root, alias, "inventory", CACHE_FOR_MS, force, async {
        Ok(serde_json::to_value(collect(deck, alias, run).await?).expect("serializes"))
    })
    .await
}

/// `kind` of `alias` from the cache when younger than `max_age_ms` and not `fresh`, else made by
/// `make` and stored (other kinds of the alias's entry kept). Returns it, whether it was cached, and
/// its age in seconds.
pub(crate) async fn cached(
    root: &Path,
    alias: &str,
    kind: &str,
    max_age_ms: u64,
    fresh: bool,
    make: impl std::future::Future<Output = Result<Value>>,
) -> Result<(Value, bool, u64)> {
    let cache: MapFile<Value> = MapFile::new(root.join(CACHE_FILE));
    let now = now_ms();
    let at_key = format!("{kind}AtMs");
    if !fresh
        && let Some(hit) = cache.load()?.remove(alias)
        && let Some(at) = hit[&at_key].as_u64()
        && now.saturating_sub(at) < max_age_ms
        && !hit[kind].is_null()
    {
        return Ok((hit[kind].clone(), true, now.saturating_sub(at) / 1000));
    }
    let value = make.await?;
    cache.modify(|m| {
        let entry = m.entry(alias.to_string()).or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        entry[&at_key] = json!(now);
        entry[kind] = value.clone();
        Ok(())
    })?;
    Ok((value, false, 0))
}

/// The `key` (or the string) of each item of a list.
pub fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x[key].as_str().or(x.as_str()).map(str::to_string)).collect()
}

/// What owns a port or a backend, for people: `container NAME`, `pm2 NAME` or the process's name.
pub fn owner(b: &Value) -> Option<String> {
    [("container", "container "), ("pm2", "pm2 "), ("process", "")]
        .iter()
        .find_map(|(k, label)| b[*k].as_str().map(|v| format!("{label}{v}")))
}

/// `port(owner)`, or the bare port when its owner is not known.
pub fn port_owner(p: &Value) -> String {
    let port = p["port"].as_u64().unwrap_or(0);
    owner(p).map_or_else(|| port.to_string(), |o| format!("{port}({o})"))
}

/// The inventory in a few lines.
pub fn summary(inv: &Value) -> String {
    let r = &inv["resources"];
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / 1_073_741_824.0);
    let mem = &r["memory"];
    let disks: Vec<String> = r["disks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{} {}%", d["mount"].as_str().unwrap_or("?"), d["usagePercent"]))
        .collect();
    let ports: Vec<String> = inv["ports"].as_array().into_iter().flatten().map(port_owner).collect();
    let s = &inv["services"];
    format!(
        "{} ({}): {} {}, kernel {}, {} cores{}, up {:.1} d\nmemory {} of {}, disks: {}\nports: {}\nsystemd running: {}\ndocker: {}\npm2: {}",
        inv["alias"].as_str().unwrap_or(""),
        r["hostname"].as_str().unwrap_or(""),
        inv["os"]["prettyName"].as_str().unwrap_or("unknown OS"),
        inv["arch"].as_str().unwrap_or(""),
        r["kernel"].as_str().unwrap_or(""),
        r["cpu"]["cores"],
        inv["cpuModel"].as_str().map(|m| format!(" ({m})")).unwrap_or_default(),
        r["uptimeSeconds"].as_f64().unwrap_or(0.0) / 86_400.0,
        gib(mem["usedBytes"].as_u64().unwrap_or(0)),
        gib(mem["totalBytes"].as_u64().unwrap_or(0)),
        disks.join(", "),
        if ports.is_empty() { "-".into() } else { ports.join(" ") },
        names(&s["systemd"]["running"], "unit").len(),
        section(&s["docker"], "containers", "name"),
        section(&s["pm2"], "apps", "name"),
    )
}

fn section(v: &Value, list: &str, key: &str) -> String {
    match v["status"].as_str() {
        Some("ok") => {
            let n = names(&v[list], key);
            if n.is_empty() { "none".into() } else { n.join(", ") }
        }
        Some(other) => other.replace('_', " "),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss_output_captured_on_debian_12() {
        let ports = parse_ss(include_str!("fixtures/ss-lntp.txt"));
        assert_eq!(ports.len(), 3);
        assert_eq!(ports[0], Listener { address: "0.0.0.0".into(), port: 2024, process: None, pid: None });
        assert_eq!(
            ports[1],
            Listener { address: "127.0.0.1".into(), port: 18431, process: Some("python3".into()), pid: Some(17044) }
        );
        assert_eq!((ports[2].address.as_str(), ports[2].port), ("::1", 18432));
        assert!(parse_ss("garbage\n\n").is_empty());
        let scoped = parse_ss("LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*\nLISTEN 0 511 *:80 *:*\n");
        assert_eq!((scoped[0].address.as_str(), scoped[1].address.as_str()), ("127.0.0.53", "*"));
    }

    #[test]
    fn facts_sections() {
        let out = "@@sshdeck os\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n\
                   @@sshdeck arch\nx86_64\n@@sshdeck cpu\nmodel name\t: AMD EPYC 7B13\n@@sshdeck ports missing\n";
        let f = parse_facts(out);
        assert_eq!((f.os.id.as_str(), f.os.version_id.as_str()), ("debian", "12"));
        assert_eq!(f.os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!((f.arch.as_str(), f.cpu_model.as_deref()), ("x86_64", Some("AMD EPYC 7B13")));
        assert_eq!(f.ports, None, "ss is missing: no port list rather than an empty one");
    }
}
