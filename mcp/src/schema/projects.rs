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
            "servers": {"type": "object", "description": "Role (prod, staging…) → where it runs",
                "additionalProperties": {"type": "object", "properties": {"alias": s("Registered server"),
                    "path": s("Absolute path there"), "runtime": {"type": "object"}, "url": s("Public URL")},
                    "required": ["alias", "path"]}},
            "ignore": {"type": "array", "items": {"type": "string"}, "description": "Globs project_diff skips"},
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
