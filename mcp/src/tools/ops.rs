//! get_system_resources, get_services_status, get_fail2ban_status and the network diagnostics
//! (net_ping, net_port_check, net_dns_lookup, net_http_request): read-only probes run from a server,
//! answered with parsed structure.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::{Deserialize, Serialize};
use sshdeck_core::Error;
use sshdeck_core::ops::{self, net};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::{Targets, probe};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasParams {
    alias: Targets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fail2banParams {
    alias: String,
    #[serde(default)]
    jail: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingParams {
    alias: String,
    host: String,
    #[serde(default)]
    count: Option<u32>,
}

/// Ports as a number, a list of numbers or a string such as `"22,80,8000-8010"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Ports {
    One(u16),
    List(Vec<u16>),
    Text(String),
}

impl Ports {
    fn expand(&self) -> sshdeck_core::Result<Vec<u16>> {
        let bad = || Error::InvalidArgument("ports: numbers 1-65535, as a list or \"22,80,8000-8010\"".into());
        match self {
            Ports::One(p) => Ok(vec![*p]),
            Ports::List(l) => Ok(l.clone()),
            Ports::Text(t) => {
                let mut out = Vec::new();
                for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (a, b) = part.split_once('-').unwrap_or((part, part));
                    let (a, b): (u16, u16) =
                        (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
                    if a > b || usize::from(b - a) >= net::MAX_PORTS {
                        return Err(bad());
                    }
                    out.extend(a..=b);
                }
                Ok(out)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortParams {
    alias: String,
    host: String,
    ports: Ports,
    #[serde(default)]
    timeout: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsParams {
    alias: String,
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpParams {
    alias: String,
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    timeout: Option<u32>,
}

#[tool_router(router = ops_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "CPU usage (sampled over 0.5 s), load, cores, memory and swap, every filesystem, uptime.",
        input_schema = schema::targets_in(),
        output_schema = schema::resources_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_system_resources(
        &self,
        Parameters(p): Parameters<AliasParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let deck = &self.deck;
        Ok(self
            .probe_targets(&ctx, &p.alias, |alias, run| async move { ops::system_resources(deck, &alias, run).await })
            .await)
    }

    #[tool(
        description = "systemd services (running, failed), Docker containers, PM2 apps; a missing tool is 'not_installed'.",
        input_schema = schema::targets_in(),
        output_schema = schema::services_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_services_status(
        &self,
        Parameters(p): Parameters<AliasParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let deck = &self.deck;
        Ok(self
            .probe_targets(&ctx, &p.alias, |alias, run| async move { ops::services_status(deck, &alias, run).await })
            .await)
    }

    #[tool(
        description = "Fail2Ban jails: failed/banned counts and banned IPs (root or sudo -n, never prompts).",
        input_schema = schema::fail2ban_in(),
        output_schema = schema::fail2ban_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_fail2ban_status(
        &self,
        Parameters(p): Parameters<Fail2banParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(probe(&ctx, |run| ops::fail2ban_status(&self.deck, &p.alias, p.jail.as_deref(), run)).await)
    }

    #[tool(
        description = "Ping a host from a server.",
        input_schema = schema::ping_in(),
        output_schema = schema::ping_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn net_ping(
        &self,
        Parameters(p): Parameters<PingParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(probe(&ctx, |run| net::ping(&self.deck, &p.alias, &p.host, p.count, run)).await)
    }

    #[tool(
        description = "TCP connect check of ports of a host, from a server: open, closed, timeout.",
        input_schema = schema::port_check_in(),
        output_schema = schema::port_check_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn net_port_check(
        &self,
        Parameters(p): Parameters<PortParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let ports = match p.ports.expand() {
            Ok(ports) => ports,
            Err(e) => return Ok(render::error(&e)),
        };
        let checked = |run| async move {
            let ports = net::port_check(&self.deck, &p.alias, &p.host, &ports, p.timeout, run).await?;
            Ok(PortReport { host: p.host.clone(), ports })
        };
        Ok(probe(&ctx, checked).await)
    }

    #[tool(
        description = "DNS lookup from a server (A/AAAA via its resolver, other types via dig).",
        input_schema = schema::dns_in(),
        output_schema = schema::dns_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn net_dns_lookup(
        &self,
        Parameters(p): Parameters<DnsParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(probe(&ctx, |run| net::dns_lookup(&self.deck, &p.alias, &p.name, p.kind.as_deref(), run)).await)
    }

    #[tool(
        description = "HTTP request made with curl on a server; status, headers, body (64 KB max), time.",
        input_schema = schema::http_in(),
        output_schema = schema::http_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn net_http_request(
        &self,
        Parameters(p): Parameters<HttpParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let req = net::HttpRequest {
            url: p.url,
            method: p.method,
            headers: p.headers.unwrap_or_default(),
            body: p.body,
            timeout_secs: p.timeout,
            ..Default::default()
        };
        Ok(probe(&ctx, |run| net::http_request(&self.deck, &p.alias, &req, run)).await)
    }
}

#[derive(Serialize)]
struct PortReport {
    host: String,
    ports: Vec<net::Port>,
}
