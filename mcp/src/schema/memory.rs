//! Schemas of the notes and queue maintenance tools, with Node's names.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::{boolean, input, num, output, s};

fn strings(desc: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": desc})
}

pub fn note_set_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s("Server alias"), "services": strings("Services it runs"),
            "warnings": strings("Things to watch out for"), "conventions": strings("How things are done there"),
            "note": s("Free text"), "intervention": s("What was just done (kept as last_intervention)")}),
        &["alias"],
    )
}

pub fn note_out() -> Arc<JsonObject> {
    output(json!({"alias": {"type": "string"}, "note": {"type": ["object", "null"]}}))
}

pub fn notes_out() -> Arc<JsonObject> {
    output(json!({"total": {"type": "integer"}, "notes": {"type": "object"}}))
}

pub fn retry_all_in() -> Arc<JsonObject> {
    input(
        json!({"status": {"type": "string", "enum": ["crashed", "failed", "both"], "description": "Default crashed"},
            "dry_run": boolean("List, retry nothing"), "limit": num("At most (20)")}),
        &[],
    )
}

pub fn retry_all_out() -> Arc<JsonObject> {
    output(json!({"total": {"type": "integer"}, "jobs": {"type": "array", "items": {"type": "object"}}}))
}

pub fn purge_in() -> Arc<JsonObject> {
    input(
        json!({"status": {"type": "string", "enum": ["crashed", "failed", "completed", "all_terminal"],
                "description": "Default crashed"},
            "olderThanDays": num("Finished at least this many days ago (0)"),
            "dry_run": boolean("List only (default true)")}),
        &[],
    )
}

pub fn purge_out() -> Arc<JsonObject> {
    output(
        json!({"dryRun": {"type": "boolean"}, "total": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "string"}}}),
    )
}

pub fn help_in() -> Arc<JsonObject> {
    input(json!({"tool": s("One tool's name (default: every tool, by toolset)")}), &[])
}

pub fn help_out() -> Arc<JsonObject> {
    output(json!({"toolsets": {"type": "array", "items": {"type": "object"}}, "tool": {"type": "object"}}))
}

pub fn infra_audit_in() -> Arc<JsonObject> {
    input(json!({"compact": boolean("Counts and one line each (default true)")}), &[])
}

pub fn infra_audit_out() -> Arc<JsonObject> {
    output(json!({"servers": {"type": "array", "items": {"type": "object"}}, "groups": {"type": "object"},
        "recentFailures": {"type": "array", "items": {"type": "object"}}}))
}

pub fn guide_in() -> Arc<JsonObject> {
    input(
        json!({"section": {"type": "string", "enum": ["index", "sources", "file-editing", "workflows", "cheatsheet", "audit", "security", "pitfalls"],
            "description": "Default index"}}),
        &[],
    )
}

pub fn guide_out() -> Arc<JsonObject> {
    output(json!({"section": {"type": "string"}, "text": {"type": "string"}}))
}

pub fn pattern_in() -> Arc<JsonObject> {
    input(json!({"pattern": s("A regular expression over the command line")}), &["pattern"])
}

pub fn policy_out() -> Arc<JsonObject> {
    let list = json!({"type": "array", "items": {"type": "string"}});
    output(json!({"deny": list, "added": list, "confirm": list, "denyPaths": list,
        "destructive": {"type": "array", "items": {"type": "object"}}}))
}

pub fn policy_change_out() -> Arc<JsonObject> {
    output(json!({"pattern": {"type": "string"}, "changed": {"type": "boolean"}}))
}
