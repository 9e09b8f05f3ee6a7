//! Schemas of the tmux tools, with Node's names.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::json;

use super::{input, s};

const ALIAS: &str = "Server alias";
const SESSION: &str = "tmux session name (letters, digits, - _)";

pub fn tmux_create_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s(ALIAS), "name": s("Session name (default: generated)"),
            "start_cmd": s("Command the session starts with")}),
        &["alias"],
    )
}

pub fn tmux_exec_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s(ALIAS), "session": s(SESSION), "cmd": s("Command to type, then Enter")}),
        &["alias", "session", "cmd"],
    )
}

pub fn tmux_session_in() -> Arc<JsonObject> {
    input(json!({"alias": s(ALIAS), "session": s(SESSION)}), &["alias", "session"])
}

pub fn authorize_key_in() -> Arc<JsonObject> {
    input(
        json!({"target_alias": s("Server whose authorized_keys gets the key"),
            "source": {"type": "object", "description": "{type: string, pubkey} | {type: local_path, path} | {type: alias, alias} (that server's key file + .pub)",
                "properties": {"type": {"type": "string", "enum": ["string", "local_path", "alias"]}, "pubkey": {"type": "string"},
                    "path": {"type": "string"}, "alias": {"type": "string"}}, "required": ["type"]},
            "user": s("Whose ~/.ssh/authorized_keys (default: the login user's)"),
            "authorized_keys_path": s("Another file"), "comment": s("Comment to give the key"),
            "dry_run": {"type": "boolean", "description": "Say what would change (default true)"},
            "force": {"type": "boolean", "description": "Accepted (an identical key is never added twice)"}}),
        &["target_alias", "source"],
    )
}

pub fn shell_create_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s(ALIAS), "workdir": s("Directory to cd to first"),
            "env": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Variables to export"},
            "cmdTimeout": super::num("Default timeout of each command, ms (default MCP_DEFAULT_CMD_TIMEOUT_MS)")}),
        &["alias"],
    )
}

pub fn shell_exec_in() -> Arc<JsonObject> {
    let mut props = json!({"sessionId": s("From shell_create"), "command": s("Command line; cd/export/source last"),
        "timeout": super::num("ms; at the limit the command gets Ctrl-C and the session stays")});
    super::guard(&mut props, false);
    input(props, &["sessionId", "command"])
}

pub fn shell_id_in() -> Arc<JsonObject> {
    input(json!({"sessionId": s("From shell_create")}), &["sessionId"])
}

pub fn shells_out() -> Arc<JsonObject> {
    super::output(json!({"sessions": {"type": "array", "items": {"type": "object"}}}))
}

pub fn shell_out() -> Arc<JsonObject> {
    super::output(json!({"sessionId": {"type": "string"}, "alias": {"type": "string"}, "cwd": {"type": "string"}}))
}

pub fn tunnel_create_in() -> Arc<JsonObject> {
    input(
        json!({"name": s("Unique name"), "type": {"type": "string", "enum": ["local", "remote", "socks"],
                "description": "local: -L, remote: -R, socks: -D (SOCKS5)"},
            "listen_port": {"type": "integer", "exclusiveMinimum": 0, "description": "Port listened on (here; remote: on via). Must be allowlisted"},
            "target": s("host:port (local: as via sees it; remote: as sshdeck sees it)"),
            "via": s("Server alias carrying the tunnel"), "source": s("Local bind address (default TUNNEL_BIND_ADDRESS)"),
            "key_path": s("Ignored: via's registered credentials are used")}),
        &["name", "type", "listen_port", "via"],
    )
}

pub fn tunnel_name_in() -> Arc<JsonObject> {
    input(json!({"name": s("Tunnel name")}), &["name"])
}

pub fn port_in() -> Arc<JsonObject> {
    input(json!({"port": {"type": "integer", "exclusiveMinimum": 0, "description": "TCP port"}}), &["port"])
}

pub fn tunnels_out() -> Arc<JsonObject> {
    super::output(json!({"tunnels": {"type": "array", "items": {"type": "object"}}}))
}

pub fn tunnel_out() -> Arc<JsonObject> {
    super::output(json!({"name": {"type": "string"}, "state": {"type": "string"}, "listen": {"type": "string"}}))
}

pub fn allowlist_out() -> Arc<JsonObject> {
    super::output(json!({"port": {"type": "integer"}, "changed": {"type": "boolean"},
        "allowed": {"type": "array", "items": {"type": "integer"}}}))
}
