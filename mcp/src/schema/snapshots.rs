//! Schemas of the snapshot tools and `diff_folders`, with Node's names.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::{boolean, input, num, output, s};

fn side() -> Value {
    json!({"type": "object", "properties": {"type": {"type": "string", "enum": ["local", "remote"]},
        "alias": {"type": "string"}}, "required": ["type"]})
}

fn strings(desc: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": desc})
}

const IGNORE: &str =
    "Names (node_modules, *.log) or paths (build/**) to leave out; default .git, node_modules, __pycache__, .DS_Store";

pub fn diff_folders_in() -> Arc<JsonObject> {
    input(
        json!({"source1": super::files::source(), "source2": super::files::source(),
            "recursive": boolean("Descend into subdirectories (default true)"),
            "compareContent": boolean("Compare sha256 (default true), else sizes"),
            "includeDiff": boolean("A bounded diff per modified text file"), "ignorePatterns": strings(IGNORE)}),
        &["source1", "source2"],
    )
}

pub fn diff_folders_out() -> Arc<JsonObject> {
    let list = json!({"type": "array", "items": {"type": "string"}});
    output(json!({"identical": list, "onlyIn1": list, "onlyIn2": list,
        "modified": {"type": "array", "items": {"type": "object"}}, "same": {"type": "boolean"}}))
}

pub fn snapshot_create_in() -> Arc<JsonObject> {
    input(
        json!({"source": side(), "paths": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                "description": "Files or directories"},
            "tag": s("Name to find it by"), "message": s("Why"),
            "recursive": boolean("Descend into directories (default true)"), "ignorePatterns": strings(IGNORE)}),
        &["source", "paths"],
    )
}

pub fn snapshot_out() -> Arc<JsonObject> {
    output(json!({"id": {"type": "string"}, "files": {"type": "integer"}, "bytes": {"type": "integer"},
        "newBytes": {"type": "integer"}}))
}

pub fn snapshot_list_in() -> Arc<JsonObject> {
    input(
        json!({"sourceType": {"type": "string", "enum": ["local", "remote"]}, "sourceAlias": s("Server alias"),
            "tag": s("Tag"), "limit": num("At most (20)")}),
        &[],
    )
}

pub fn snapshot_list_out() -> Arc<JsonObject> {
    output(json!({"total": {"type": "integer"}, "snapshots": {"type": "array", "items": {"type": "object"}}}))
}

pub fn snapshot_diff_in() -> Arc<JsonObject> {
    input(
        json!({"snapshot1": s("Id or tag"), "snapshot2": s("Id or tag"),
            "includeDiff": boolean("A bounded diff per modified text file")}),
        &["snapshot1", "snapshot2"],
    )
}

pub fn snapshot_diff_out() -> Arc<JsonObject> {
    let list = json!({"type": "array", "items": {"type": "string"}});
    output(json!({"added": list, "removed": list, "modified": {"type": "array", "items": {"type": "object"}},
        "unchanged": {"type": "integer"}}))
}

pub fn snapshot_restore_in() -> Arc<JsonObject> {
    input(
        json!({"snapshotId": s("Id or tag"), "target": side(),
            "paths": strings("Only these files or directories of it"),
            "dryRun": boolean("Show the plan only (default true)"), "force": boolean("Write (with dryRun false)")}),
        &["snapshotId", "target"],
    )
}

pub fn snapshot_restore_out() -> Arc<JsonObject> {
    output(json!({"dryRun": {"type": "boolean"}, "files": {"type": "array", "items": {"type": "object"}},
        "changes": {"type": "integer"}, "written": {"type": "integer"}}))
}

pub fn snapshot_delete_in() -> Arc<JsonObject> {
    input(json!({"snapshotId": s("Id or tag")}), &["snapshotId"])
}

pub fn snapshot_delete_out() -> Arc<JsonObject> {
    output(json!({"deleted": {"type": "string"}, "freed": {"type": "object"}}))
}
