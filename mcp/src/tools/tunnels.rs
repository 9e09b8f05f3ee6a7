//! tunnel_create, tunnel_list, tunnel_close, tunnel_allowlist_add, tunnel_allowlist_remove (Node's
//! names and arguments): native forwards over the pooled, host-key-verified connection, held by the
//! runner so they outlive this MCP server.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::Error;
use sshdeck_core::tunnels::{TunnelInfo, TunnelKind, TunnelOp, TunnelSpec};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateParams {
    name: String,
    #[serde(rename = "type")]
    kind: TunnelKind,
    listen_port: u16,
    #[serde(default)]
    target: Option<String>,
    via: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    key_path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameParams {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortParams {
    port: u16,
}

/// One line about a tunnel.
pub fn tunnel_line(t: &TunnelInfo) -> String {
    let to = t.target.as_deref().map(|t| format!(" -> {t}")).unwrap_or_else(|| " (SOCKS5)".into());
    let err = t.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
    format!(
        "{} [{}] {}{to} via {}: {}{err}, {} open / {} total, {} B sent, {} B received",
        t.name,
        t.kind.as_str(),
        t.listen,
        t.via,
        t.state,
        t.connections,
        t.total_connections,
        t.bytes_sent,
        t.bytes_received
    )
}

fn one(r: sshdeck_core::Result<Vec<TunnelInfo>>, verb: &str) -> CallToolResult {
    match r {
        Ok(v) if !v.is_empty() => {
            let text = format!("{verb} {}", tunnel_line(&v[0]));
            render::ok(serde_json::to_value(&v[0]).unwrap_or(Value::Null), text)
        }
        Ok(_) => render::error(&Error::RunnerUnavailable("no tunnel came back".into())),
        Err(e) => render::error(&e),
    }
}

impl Sshdeck {
    fn allowlist(&self, port: u16, add: bool) -> CallToolResult {
        let changed = match self.deck.tunnel_allow(port, add, &crate::tokens::origin()) {
            Ok(c) => c,
            Err(e) => return render::error(&e),
        };
        let allowed = self.deck.tunnel_ports().unwrap_or_default();
        let still = !add && allowed.contains(&port);
        let text = match (add, changed) {
            (true, true) => format!("port {port} allowed for tunnels"),
            (true, false) => format!("port {port} was already in the allowlist"),
            (false, true) if still => {
                format!("port {port} removed from the allowlist; TUNNEL_ALLOWED_PORTS still allows it")
            }
            (false, true) => format!("port {port} removed from the allowlist (open tunnels stay until closed)"),
            (false, false) => format!("port {port} was not in the allowlist"),
        };
        render::ok(json!({"port": port, "changed": changed, "allowed": allowed}), text)
    }
}

#[tool_router(router = tunnels_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Open an SSH tunnel via a server: local (-L: listen here, reach target from via), remote (-R: listen on via, reach target from here) or socks (-D: SOCKS5 here). listen_port must be allowlisted.",
        input_schema = schema::tunnel_create_in(),
        output_schema = schema::tunnel_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    async fn tunnel_create(&self, Parameters(p): Parameters<CreateParams>) -> Result<CallToolResult, ErrorData> {
        let spec = TunnelSpec {
            name: p.name,
            kind: p.kind,
            listen_port: p.listen_port,
            target: p.target,
            via: p.via,
            bind: p.source,
        };
        let mut r = one(self.deck.tunnel(TunnelOp::Create { spec, origin: crate::tokens::origin() }).await, "opened");
        if p.key_path.is_some()
            && let Some(v) = r.structured_content.as_mut().filter(|v| v.get("error").is_none())
        {
            v["note"] = json!("key_path is not used: the tunnel authenticates as its via server is registered");
        }
        Ok(r)
    }

    #[tool(
        description = "Open tunnels: listen address, target, via, state (up/down), open and total connections, bytes each way.",
        input_schema = schema::empty_in(),
        output_schema = schema::tunnels_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn tunnel_list(&self) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.tunnel(TunnelOp::List).await {
            Ok(v) => {
                let text = if v.is_empty() {
                    "no tunnel is open".to_string()
                } else {
                    v.iter().map(tunnel_line).collect::<Vec<_>>().join("\n")
                };
                render::ok(json!({"tunnels": v}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Close a tunnel and every connection through it.",
        input_schema = schema::tunnel_name_in(),
        output_schema = schema::tunnel_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn tunnel_close(&self, Parameters(p): Parameters<NameParams>) -> Result<CallToolResult, ErrorData> {
        Ok(one(self.deck.tunnel(TunnelOp::Close { name: p.name }).await, "closed"))
    }

    #[tool(
        description = "Allow tunnels to listen on a port (tunnel_allowlist.json; empty by default).",
        input_schema = schema::port_in(),
        output_schema = schema::allowlist_out(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn tunnel_allowlist_add(&self, Parameters(p): Parameters<PortParams>) -> Result<CallToolResult, ErrorData> {
        Ok(self.allowlist(p.port, true))
    }

    #[tool(
        description = "Remove a port from the tunnel allowlist (open tunnels stay until closed).",
        input_schema = schema::port_in(),
        output_schema = schema::allowlist_out(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn tunnel_allowlist_remove(
        &self,
        Parameters(p): Parameters<PortParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.allowlist(p.port, false))
    }
}
