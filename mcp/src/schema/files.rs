//! Schemas of the remote-file tools (`file_read`, `file_write`, `file_edit`), with Node's names.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::{boolean, input, int, output, s};

pub(super) fn source() -> Value {
    json!({"type": "object", "properties": {"type": {"type": "string", "enum": ["local", "remote"]}, "path": {"type": "string"},
            "alias": {"type": "string"}, "label": {"type": "string"}},
        "required": ["type", "path"]})
}

fn encoding() -> Value {
    json!({"type": "string", "enum": ["utf8", "base64"], "description": "Content encoding (default utf8)"})
}

const HASH: &str =
    "Refuse (HASH_MISMATCH) unless the file's sha256 is still this (from file_read); \"\" = must not exist";

pub fn file_read_in() -> Arc<JsonObject> {
    input(
        json!({"source": source(), "encoding": encoding(), "offset": int("First line (1-based)"),
            "limit": int("Lines to return")}),
        &["source"],
    )
}

pub fn file_read_out() -> Arc<JsonObject> {
    output(json!({"path": {"type": "string"}, "sha256": {"type": "string"}, "size": {"type": "integer"},
        "mode": {"type": "string"}, "mtime": {"type": "string"}, "encoding": {"type": "string"},
        "content": {"type": "string"}, "truncated": {"type": "boolean"}, "totalLines": {"type": "integer"}}))
}

pub fn file_write_in() -> Arc<JsonObject> {
    input(
        json!({"source": source(), "content": s("The whole new content"), "encoding": encoding(),
            "createDirs": boolean("Create missing parent directories (default true)"),
            "dryRun": boolean("Return the diff, write nothing"), "backup": boolean("Keep a copy of the old content first"),
            "expectedHash": s(HASH)}),
        &["source", "content"],
    )
}

pub fn file_edit_in() -> Arc<JsonObject> {
    input(
        json!({"source": source(), "oldString": s("Text to replace (must occur once unless replaceAll)"),
            "newString": s("Its replacement"), "replaceAll": boolean("Replace every occurrence"),
            "newContent": s("The whole new content, instead of oldString/newString"), "expectedHash": s(HASH),
            "encoding": encoding(), "dryRun": boolean("Return the diff, write nothing"),
            "backup": boolean("Keep a copy of the old content first")}),
        &["source"],
    )
}

pub fn file_change_out() -> Arc<JsonObject> {
    output(json!({"path": {"type": "string"}, "written": {"type": "boolean"}, "dryRun": {"type": "boolean"},
        "sha256Before": {"type": "string"}, "sha256": {"type": "string"}, "size": {"type": "integer"},
        "replacements": {"type": "integer"}, "diff": {"type": "string"}, "backup": {"type": "string"},
        "currentHash": {"type": "string"}, "matches": {"type": "integer"}}))
}

pub fn diff_files_in() -> Arc<JsonObject> {
    input(json!({"source1": source(), "source2": source()}), &["source1", "source2"])
}

pub fn diff_files_out() -> Arc<JsonObject> {
    output(json!({"identical": {"type": "boolean"}, "sha256_1": {"type": "string"}, "sha256_2": {"type": "string"},
        "size1": {"type": "integer"}, "size2": {"type": "integer"}, "added": {"type": "integer"},
        "removed": {"type": "integer"}, "diff": {"type": "string"}, "truncated": {"type": "boolean"}}))
}

pub fn compare_in() -> Arc<JsonObject> {
    input(
        json!({"sources": {"type": "array", "items": source(), "minItems": 1,
                "description": "Files to compare; a remote source's alias may be a fleet target (\"group:web\", \"tag:x\", \"a,b\", \"all\")"},
            "includeContent": boolean("Include each group's content (bounded)"),
            "includeDiff": boolean("Include each divergent group's diff from the majority (default true)")}),
        &["sources"],
    )
}

pub fn compare_out() -> Arc<JsonObject> {
    output(json!({"total": {"type": "integer"}, "identical": {"type": "boolean"},
        "groups": {"type": "array", "items": {"type": "object"}}, "errors": {"type": "array", "items": {"type": "object"}}}))
}
