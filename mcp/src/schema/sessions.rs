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
