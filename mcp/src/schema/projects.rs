//! Schemas of the project and work-session tools, with Node's names and arguments.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::json;

use super::{boolean, input, output, s};

pub fn project_name_in() -> Arc<JsonObject> {
    input(json!({"name": s("Project name")}), &["name"])
}

pub fn project_set_in() -> Arc<JsonObject> {
    input(
        json!({"name": s("Project name"),
            "local": {"type": "object", "properties": {"path": s("Directory here")}, "required": ["path"]},
            "servers": {"type": "object", "description": "Role → where it runs",
                "additionalProperties": {"type": "object", "properties": {"alias": s("Registered server"),
                    "path": s("Absolute path there"), "runtime": {"type": "object"}, "url": s("Public URL")},
                    "required": ["alias", "path"]}},
            "ignore": {"type": "array", "items": {"type": "string"}, "description": "Globs to skip"},
            "tags": {"type": "array", "items": {"type": "string"}}, "network": {"type": "object"}}),
        &["name"],
    )
}

pub fn project_out() -> Arc<JsonObject> {
    output(json!({"name": {"type": "string"}, "project": {"type": ["object", "null"]}}))
}

pub fn projects_out() -> Arc<JsonObject> {
    output(json!({"total": {"type": "integer"}, "projects": {"type": "array", "items": {"type": "object"}}}))
}

pub fn project_resolve_in() -> Arc<JsonObject> {
    input(json!({"name": s("Project name"), "role": s("One role (default: all)")}), &["name"])
}

pub fn project_resolve_out() -> Arc<JsonObject> {
    output(json!({"name": {"type": "string"}, "roles": {"type": "array", "items": {"type": "object"}}}))
}

pub fn project_diff_in() -> Arc<JsonObject> {
    input(
        json!({"name": s("Project name"), "role": s("Role to compare with (default: the only one)"),
            "includeDiff": boolean("Diffs of modified text files"), "compact": boolean("Counts and names only (default true)")}),
        &["name"],
    )
}

pub fn project_diff_out() -> Arc<JsonObject> {
    output(json!({"name": {"type": "string"}, "role": {"type": "string"}, "same": {"type": "boolean"},
        "onlyLocal": {"type": "array"}, "onlyRemote": {"type": "array"}, "modified": {"type": "array"}}))
}

pub fn work_start_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s("Server worked on"), "project": s("Or a project (its servers)"), "tag": s("Short name"),
            "message": s("Why"), "snapshot": boolean("Snapshot paths first"),
            "paths": {"type": "array", "items": {"type": "string"}, "description": "To snapshot"}}),
        &[],
    )
}

pub fn work_log_in() -> Arc<JsonObject> {
    input(
        json!({"id": s("Session id"), "type": s("edit, command, deploy, note…"), "detail": s("What"),
        "path": s("File concerned")}),
        &["id", "type"],
    )
}

pub fn work_list_in() -> Arc<JsonObject> {
    input(json!({"includeHistory": boolean("Ended sessions too")}), &[])
}

pub fn work_end_in() -> Arc<JsonObject> {
    input(
        json!({"id": s("Session id"), "summary": s("What was done"),
        "note": boolean("Write the summary to the servers' notes (default true)")}),
        &["id"],
    )
}

pub fn work_out() -> Arc<JsonObject> {
    output(json!({"session": {"type": "object"}}))
}

pub fn work_list_out() -> Arc<JsonObject> {
    output(json!({"total": {"type": "integer"}, "sessions": {"type": "array", "items": {"type": "object"}}}))
}

pub fn inventory_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s("Server alias"), "force": boolean("Gather again (default: cached an hour)"),
        "compact": boolean("Service names only")}),
        &["alias"],
    )
}

pub fn inventory_out() -> Arc<JsonObject> {
    output(json!({"alias": {"type": "string"}, "os": {"type": "object"}, "resources": {"type": "object"},
        "services": {"type": "object"}, "ports": {"type": ["array", "null"]}, "cached": {"type": "boolean"}}))
}

pub fn overview_in() -> Arc<JsonObject> {
    let mut t = super::targets();
    t["description"] = json!("Alias, list, \"group:NAME\" or \"all\" (default)");
    input(
        json!({"alias": t, "live": boolean("Read the servers now, not the 5-min cache"),
        "force": boolean("Same as live"), "compact": boolean("Links and port owners only (default true)"),
        "timeoutMs": {"type": "integer", "minimum": 5000, "maximum": 60000, "default": 25000}}),
        &[],
    )
}

pub fn overview_out() -> Arc<JsonObject> {
    output(json!({"links": {"type": "array"}, "ports": {"type": "array"}, "sources": {"type": "object"},
        "hosts": {"type": "array"}, "cached": {"type": "boolean"}}))
}
