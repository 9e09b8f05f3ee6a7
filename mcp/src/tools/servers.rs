//! server_add, server_list, server_remove.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::secret::Secret;
use sshdeck_core::servers::expand_tilde;
use sshdeck_core::servers::{Added, HostKeyPolicy, ServerConfig, ServerSummary};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// `server_add` arguments. On an existing alias, fields not given are kept (as Node merges them);
/// an optional field given as `null` is removed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddParams {
    alias: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    port: Option<Option<u16>>,
    #[serde(default, deserialize_with = "nullable")]
    key_path: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    password: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    passphrase: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    host_key_policy: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    proxy_jump: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    readonly: Option<Option<bool>>,
}

/// Absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl AddParams {
    /// The config to store: `old` (when the alias exists) with the given fields applied.
    fn apply(self, old: Option<ServerConfig>) -> sshdeck_core::Result<ServerConfig> {
        let missing = |f: &str| sshdeck_core::Error::InvalidArgument(format!("{f} is required for a new server"));
        let mut c = match old {
            Some(c) => c,
            None => ServerConfig::new(
                self.host.clone().ok_or_else(|| missing("host"))?,
                self.user.clone().ok_or_else(|| missing("user"))?,
            ),
        };
        if let Some(h) = self.host {
            c.host = h;
        }
        if let Some(u) = self.user {
            c.user = u;
        }
        if let Some(p) = self.port {
            c.port = p.unwrap_or(22);
        }
        if let Some(k) = self.key_path {
            c.key_path = k.as_deref().map(expand_tilde);
        }
        if let Some(p) = self.password {
            c.password = p.map(Secret::new);
        }
        if let Some(p) = self.passphrase {
            c.passphrase = p.map(Secret::new);
        }
        if let Some(p) = self.host_key_policy {
            c.host_key_policy = p.as_deref().map(HostKeyPolicy::parse).transpose()?.unwrap_or_default();
        }
        if let Some(t) = self.tags {
            c.tags = t.unwrap_or_default();
        }
        if let Some(j) = self.proxy_jump {
            c.proxy_jump = j;
        }
        if let Some(r) = self.readonly {
            c.readonly = r.unwrap_or(false);
        }
        Ok(c)
    }
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
        let alias = p.alias.clone();
        let old = self.deck.server(&alias).ok().map(|s| s.config);
        let config = match p.apply(old) {
            Ok(c) => c,
            Err(e) => return Ok(render::error(&e)),
        };
        Ok(match self.deck.add_server(&alias, config, true) {
            Ok(added) => {
                let action = if added == Added::Created { "created" } else { "updated" };
                render::ok(json!({"alias": alias, "action": action}), format!("server {alias} {action}"))
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
        Ok(match self.deck.servers() {
            Ok(list) => {
                let servers: Vec<ServerSummary> = list.iter().map(ServerSummary::from).collect();
                // Each server's note, in one line (server_note_set).
                let notes = self.deck.notes().list().unwrap_or_default();
                let note = |alias: &str| notes.get(alias).and_then(sshdeck_core::notes::one_line);
                let text = servers
                    .iter()
                    .map(|s| {
                        let n = note(&s.alias).map(|n| format!(" — {n}")).unwrap_or_default();
                        format!("{}: {}@{}:{} ({}){n}", s.alias, s.user, s.host, s.port, s.auth)
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let text = if text.is_empty() { "no servers registered".to_string() } else { text };
                let rows: Vec<serde_json::Value> = servers
                    .iter()
                    .map(|s| {
                        let mut v = json!(s);
                        if let Some(n) = note(&s.alias) {
                            v["note"] = json!(n);
                        }
                        v
                    })
                    .collect();
                render::ok(json!({"servers": rows}), text)
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
