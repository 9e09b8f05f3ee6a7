//! infra_overview (Node's name): the graph domain → proxy → port → process, container or PM2 app of
//! one server, from `ss -lntp`, `nginx -T` (through `sudo -n` when needed), `docker ps` and
//! `pm2 jlist`, in one round trip. Bounded: at most [`MAX_SITES`] sites and the script's output cut.

use serde::Serialize;

use super::inventory::{Listener, parse_ss};
use super::nginx::{self, Site};
use super::services::parse_pm2;
use super::{Run, sections};
use crate::error::Result;
use crate::remote::Remote;

/// The script: `@@sshdeck NAME [missing|unavailable]` sections.
pub const SCRIPT: &str = include_str!("overview.sh");
/// Sites kept per server.
pub const MAX_SITES: usize = 200;

/// What a port leads to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    /// `host:port` as the proxy names it.
    pub target: String,
    pub port: Option<u16>,
    /// Something listens on that port on this server.
    pub listening: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pm2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// One route of a site, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub domains: Vec<String>,
    pub location: String,
    pub proxy_pass: String,
    pub backends: Vec<Backend>,
}

/// One server's overview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// `ok`, `missing` or `unavailable`, per source.
    pub sources: std::collections::BTreeMap<String, String>,
    pub links: Vec<Link>,
    pub sites: Vec<Site>,
    /// Every listening port, with what it belongs to.
    pub ports: Vec<Backend>,
}

/// `0.0.0.0:8080->80/tcp, :::8080->80/tcp` → host ports.
pub fn docker_host_ports(ports: &str) -> Vec<u16> {
    let mut out: Vec<u16> = ports
        .split(',')
        .filter_map(|p| p.split_once("->"))
        .filter_map(|(host, _)| host.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .collect();
    out.dedup();
    out
}

fn port_of(target: &str) -> Option<u16> {
    target.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// Builds the overview from the script's output.
pub fn parse(out: &str) -> Overview {
    let mut o = Overview::default();
    let mut listeners: Vec<Listener> = Vec::new();
    // Container name → its published host ports; PM2 app name → pid.
    let mut containers: Vec<(String, Vec<u16>)> = Vec::new();
    let mut apps: Vec<(String, u32)> = Vec::new();
    for (head, body) in sections(out) {
        let (name, state) = head.split_once(' ').unwrap_or((head, "ok"));
        o.sources.insert(name.to_string(), state.to_string());
        if state != "ok" {
            continue;
        }
        match name {
            "ports" => listeners = parse_ss(body),
            "nginx" => o.sites = nginx::parse(body, MAX_SITES),
            "docker" => {
                containers = body
                    .lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(n, p)| (n.to_string(), docker_host_ports(p)))
                    .collect()
            }
            "pm2" => {
                apps = parse_pm2(body)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| a.pid > 0)
                    .map(|a| (a.name, a.pid as u32))
                    .collect()
            }
            _ => {}
        }
    }
    let backend = |target: String, port: Option<u16>| {
        let l = port.and_then(|p| listeners.iter().find(|l| l.port == p));
        let pid = l.and_then(|l| l.pid);
        Backend {
            listening: l.is_some(),
            process: l.and_then(|l| l.process.clone()),
            pid,
            pm2: pid.and_then(|pid| apps.iter().find(|(_, p)| *p == pid).map(|(n, _)| n.clone())),
            container: port.and_then(|p| containers.iter().find(|(_, ps)| ps.contains(&p)).map(|(n, _)| n.clone())),
            target,
            port,
        }
    };
    for site in &o.sites {
        for r in &site.routes {
            o.links.push(Link {
                domains: site.server_names.clone(),
                location: r.location.clone(),
                proxy_pass: r.proxy_pass.clone(),
                backends: r.targets.iter().map(|t| backend(t.clone(), port_of(t))).collect(),
            });
        }
    }
    // One row per port (the listeners come sorted by port).
    for same_port in listeners.chunk_by(|a, b| a.port == b.port) {
        let l = &same_port[0];
        o.ports.push(backend(format!("{}:{}", l.address, l.port), Some(l.port)));
    }
    o
}

/// How long a cached overview is served without `live` or `force`.
pub const CACHE_FOR_MS: u64 = 300_000;

/// The overview of `alias`, from the data dir's cache when younger than [`CACHE_FOR_MS`] and not
/// `fresh`. Returns it, whether it was cached, and its age in seconds.
pub async fn overview_cached(
    deck: &dyn Remote,
    root: &std::path::Path,
    alias: &str,
    fresh: bool,
    run: Run,
) -> Result<(serde_json::Value, bool, u64)> {
    super::inventory::cached(root, alias, "overview", CACHE_FOR_MS, fresh, async {
        Ok(serde_json::to_value(overview(deck, alias, run).await?).expect("serializes"))
    })
    .await
}

/// Gathers the overview of `alias`.
pub async fn overview(deck: &dyn Remote, alias: &str, run: Run) -> Result<Overview> {
    let out = super::run_script(deck, alias, SCRIPT, &[], run).await?;
    let text = out.stdout.text();
    if !text.contains("@@sshdeck ports") {
        return Err(super::unexpected(alias, "infra overview", &out));
    }
    Ok(parse(&text))
}

/// One line per route: `domains location → target: what serves it`.
pub fn text(alias: &str, o: &serde_json::Value) -> String {
    let mut out = vec![format!("{alias}:")];
    for l in o["links"].as_array().into_iter().flatten() {
        let names: Vec<&str> =
            l["domains"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str).collect();
        let backends: Vec<String> = l["backends"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| match (b["listening"].as_bool(), super::inventory::owner(b)) {
                (Some(true), Some(by)) => format!("{} ({by})", b["target"].as_str().unwrap_or("")),
                (Some(true), None) => format!("{} (listening)", b["target"].as_str().unwrap_or("")),
                _ => format!("{} (nothing listens)", b["target"].as_str().unwrap_or("")),
            })
            .collect();
        out.push(format!("  {} {} -> {}", names.join(" "), l["location"].as_str().unwrap_or(""), backends.join(", ")));
    }
    let sources: Vec<String> = o["sources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.as_str() != Some("ok"))
        .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("")))
        .collect();
    if !sources.is_empty() {
        out.push(format!("  ({})", sources.join(", ")));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_leads_to_its_process_pm2_app_and_container() {
        let ss = "LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"nginx\",pid=900,fd=6))\n\
                  LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:((\"node\",pid=5045,fd=20))\n\
                  LISTEN 0 4096 0.0.0.0:8080 0.0.0.0:* users:((\"docker-proxy\",pid=777,fd=4))\n";
        let out = format!(
            "@@sshdeck ports\n{ss}@@sshdeck nginx\n{}@@sshdeck docker\napi-v2\t0.0.0.0:8080->80/tcp, :::8080->80/tcp\n@@sshdeck pm2\n{}",
            include_str!("fixtures/nginx-T-debian12.txt"),
            include_str!("fixtures/pm2-jlist.txt")
        );
        let o = parse(&out);
        assert_eq!(o.sources["nginx"], "ok");
        let root = &o.links[0];
        assert_eq!(root.domains, ["shop.example.com", "www.shop.example.com"]);
        let b = &root.backends[0];
        assert_eq!(
            (b.port, b.listening, b.process.as_deref(), b.pm2.as_deref()),
            (Some(3000), true, Some("node"), Some("api"))
        );
        let api = &o.links[1];
        assert_eq!(api.backends[0].container.as_deref(), Some("api-v2"), "{api:?}");
        assert!(!api.backends[1].listening, "the backup server listens nowhere");
        assert!(!o.links[2].backends[0].listening, "grafana's port 3001 is down");
        assert_eq!(o.ports.iter().map(|p| p.port.unwrap()).collect::<Vec<_>>(), [80, 3000, 8080]);
    }

    #[test]
    fn missing_tools_are_said() {
        let o =
            parse("@@sshdeck ports\n@@sshdeck nginx missing\n@@sshdeck docker unavailable\n@@sshdeck pm2 missing\n");
        assert_eq!(o.sources["nginx"], "missing");
        assert_eq!(o.sources["docker"], "unavailable");
        assert!(o.links.is_empty() && o.ports.is_empty());
        assert_eq!(docker_host_ports("0.0.0.0:5432->5432/tcp, [::]:5432->5432/tcp"), [5432]);
        assert!(docker_host_ports("80/tcp").is_empty());
    }
}
