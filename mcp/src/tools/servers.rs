//! server_add, server_list, server_remove.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::data_dir::expand_tilde;
use sshdeck_core::secret::Secret;
use sshdeck_core::servers::{Added, HostKeyPolicy, ServerConfig, ServerSummary};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddParams {
    alias: String,
    host: String,
    user: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    key_path: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    passphrase: Option<String>,
    #[serde(default)]
    host_key_policy: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    proxy_jump: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasParams {
    alias: String,
}

#[tool_router(router = servers_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Register or update a server. Secrets are stored 0600 and never shown.",
        input_schema = schema::server_add_in(),
        output_schema = schema::server_out(),
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn server_add(&self, Parameters(p): Parameters<AddParams>) -> Result<CallToolResult, ErrorData> {
        let policy = match p.host_key_policy.as_deref().map(HostKeyPolicy::parse).transpose() {
            Ok(policy) => policy.unwrap_or_default(),
            Err(e) => return Ok(render::error(&e)),
        };
        let config = ServerConfig {
            host: p.host,
            user: p.user,
            port: p.port.unwrap_or(22),
            key_path: p.key_path.as_deref().map(expand_tilde),
            passphrase: p.passphrase.map(Secret::new),
            password: p.password.map(Secret::new),
            agent: false,
            host_key_policy: policy,
            tags: p.tags.unwrap_or_default(),
            proxy_jump: p.proxy_jump,
        };
        Ok(match self.deck.add_server(&p.alias, config, true) {
            Ok(added) => {
                let action = if added == Added::Created { "created" } else { "updated" };
                render::ok(json!({"alias": p.alias, "action": action}), format!("server {} {action}", p.alias))
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "List registered servers (no secrets).",
        input_schema = schema::empty_in(),
        output_schema = schema::servers_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn server_list(&self) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.registry().list() {
            Ok(list) => {
                let servers: Vec<ServerSummary> = list.iter().map(ServerSummary::from).collect();
                let text = servers
                    .iter()
                    .map(|s| format!("{}: {}@{}:{} ({})", s.alias, s.user, s.host, s.port, s.auth))
                    .collect::<Vec<_>>()
                    .join("\n");
                let text = if text.is_empty() { "no servers registered".to_string() } else { text };
                render::ok(json!({"servers": servers}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Remove a server and close its connections.",
        input_schema = schema::alias_in(),
        output_schema = schema::server_out(),
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn server_remove(&self, Parameters(p): Parameters<AliasParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.remove_server(&p.alias) {
            Ok(_) => render::ok(json!({"alias": p.alias, "action": "removed"}), format!("server {} removed", p.alias)),
            Err(e) => render::error(&e),
        })
    }
}
