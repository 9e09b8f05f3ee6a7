//! Tool schemas, written by hand: compact (tools/list is paid for in tokens on every session), with
//! no `$ref` (some clients reject it), and each shape written once here. Every output schema accepts
//! the shared `error` object, so a failed call's structured content conforms too.

mod files;
mod memory;
mod ops;
mod projects;
mod sessions;
mod snapshots;

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Value, json};

pub use files::*;
pub use memory::*;
pub use ops::*;
pub use projects::*;
pub use sessions::*;
pub use snapshots::*;

fn object(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("schemas are objects"),
    }
}

fn s(desc: &str) -> Value {
    json!({"type": "string", "description": desc})
}

fn int(desc: &str) -> Value {
    json!({"type": "integer", "description": desc})
}

fn boolean(desc: &str) -> Value {
    json!({"type": "boolean", "description": desc})
}

fn input(props: Value, required: &[&str]) -> Arc<JsonObject> {
    let mut v = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    object(v)
}

/// Output schemas declare what a client relies on; results may carry more (additional properties
/// are allowed). `error` is `{code, message}` on every tool.
fn output(mut props: Value) -> Arc<JsonObject> {
    props["error"] = json!({"type": "object"});
    object(json!({"type": "object", "properties": props}))
}

const ALIAS: &str = "Server alias";
const TARGETS: &str = "Server alias, or several: a list, \"group:NAME\", \"tag:NAME\" or \"all\" (fan-out)";

fn targets() -> Value {
    json!({"type": ["string", "array"], "items": {"type": "string"}, "description": TARGETS})
}
const RAPPEL: &str = "Remind after this many seconds if still running";

fn num(desc: &str) -> Value {
    json!({"type": "number", "description": desc})
}

/// Node's guard arguments of the command tools.
fn guard(props: &mut Value, dry_run: bool) {
    props["skip_policy"] = boolean("Never bypasses policy.toml");
    props["force"] = boolean("Run a destructive command (rm -rf /, mkfs, reboot…) unasked");
    if dry_run {
        props["dry_run"] = boolean("Say what would run; run nothing");
    }
}

fn job_props() -> Value {
    let (st, int, b) = (json!({"type": "string"}), json!({"type": "integer"}), json!({"type": "boolean"}));
    json!({"id": st, "status": st, "exitCode": int, "stdout": st, "stderr": st, "timedOut": b})
}

/// Output of every tool that answers with one job.
pub fn job_out() -> Arc<JsonObject> {
    output(job_props())
}

/// Output of job listings.
pub fn jobs_out() -> Arc<JsonObject> {
    output(json!({
        "total": {"type": "integer"},
        "jobs": {"type": "array", "items": {"type": "object"}}
    }))
}

pub fn server_add_in() -> Arc<JsonObject> {
    input(
        json!({
            "alias": s(ALIAS),
            "host": s("Host name or IP"),
            "user": s("SSH user"),
            "port": int("SSH port (22)"),
            "keyPath": s("Private key file"),
            "password": s("Password (0600, never shown)"),
            "passphrase": s("Key passphrase"),
            "hostKeyPolicy": {"type": "string", "enum": ["strict", "accept-new", "off"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "proxyJump": s("Bastion alias or user@host:port"),
            "readonly": boolean("Refuse commands and uploads")
        }),
        &["alias"],
    )
}

pub fn alias_in() -> Arc<JsonObject> {
    input(json!({"alias": s(ALIAS)}), &["alias"])
}

pub fn server_out() -> Arc<JsonObject> {
    output(json!({"alias": {"type": "string"}, "action": {"type": "string"}}))
}

pub fn servers_out() -> Arc<JsonObject> {
    output(json!({"servers": {"type": "array", "items": {"type": "object"}}}))
}

pub fn exec_in() -> Arc<JsonObject> {
    let mut props = json!({
        "alias": targets(),
        "cmd": s("Shell command"),
        "timeout": num("Seconds (0: none); the command is then killed"),
        "rappel": num(RAPPEL)
    });
    guard(&mut props, true);
    input(props, &["alias", "cmd"])
}

pub fn sequence_in() -> Arc<JsonObject> {
    let mut props = json!({
        "alias": targets(),
        "commands": {"type": "array", "minItems": 1, "items": {"anyOf": [
            {"type": "string"},
            {"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}, "continueOnError": {"type": "boolean"}}, "required": ["command"]}
        ]}},
        "continueOnError": boolean("Go on after a failed step (false)"),
        "timeout": num("Seconds for the whole sequence (0: none)"),
        "rappel": num(RAPPEL)
    });
    guard(&mut props, true);
    input(props, &["alias", "commands"])
}

/// Output of a sequence: the job plus per-step results.
pub fn sequence_out() -> Arc<JsonObject> {
    let mut props = job_props();
    props["steps"] = json!({"type": "array", "items": {"type": "object"}});
    output(props)
}

pub fn interactive_in() -> Arc<JsonObject> {
    let mut props = json!({
        "alias": s(ALIAS),
        "cmd": s("Command, run on a PTY"),
        "interactive": boolean("false: run as task_exec (no PTY, no answers)"),
        "responses": {"type": "object", "description": "Prompt text (any case; \"re:\" prefix: regex) -> answer or {answer, max}; never recorded", "additionalProperties": {"anyOf": [
            {"type": "string"},
            {"type": "object", "properties": {"answer": {"type": "string"}, "max": {"type": "integer"}}, "required": ["answer"]}
        ]}},
        "autoRespond": boolean("Answer yes/no confirmations (true); never passwords"),
        "timeout": num("Seconds (0: none)"),
        "rappel": num(RAPPEL)
    });
    guard(&mut props, true);
    input(props, &["alias", "cmd"])
}

fn transfer_common() -> Value {
    json!({
        "alias": s(ALIAS),
        "direction": {"type": "string", "enum": ["upload", "download", "server_to_server"]},
        "source_alias": s("server_to_server: copy from this server"),
        "force": boolean("Overwrite existing files (false; one existing file is ALREADY_EXISTS)"),
        "verify": boolean("Compare sha256 of both ends (false)"),
        "rappel": num(RAPPEL)
    })
}

pub fn transfer_in() -> Arc<JsonObject> {
    let mut props = transfer_common();
    props["local"] = s("Local file, dir or glob (upload); server_to_server: path on alias (default: remote)");
    props["remote"] = s("Remote file, directory, or glob (download, server_to_server)");
    input(props, &["alias", "direction", "remote"])
}

pub fn transfer_multi_in() -> Arc<JsonObject> {
    let mut props = transfer_common();
    props["files"] = json!({"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
        "local": {"type": "string"}, "remote": {"type": "string"}, "source_alias": {"type": "string"}}, "required": ["local", "remote"]}});
    input(props, &["alias", "direction", "files"])
}

/// Output of a transfer: the job plus counts and per-file outcomes.
pub fn transfer_out() -> Arc<JsonObject> {
    let mut props = job_props();
    props["transfer"] = json!({"type": "object", "properties": {
        "ok": {"type": "integer"}, "skipped": {"type": "integer"}, "failed": {"type": "integer"},
        "bytes": {"type": "integer"}, "files": {"type": "array", "items": {"type": "object"}}}});
    output(props)
}

const LINES: &str = "Lines (100, max 10000)";

pub fn tail_file_in() -> Arc<JsonObject> {
    input(json!({"alias": targets(), "filepath": s("Remote file"), "lines": int(LINES)}), &["alias", "filepath"])
}

pub fn journal_in() -> Arc<JsonObject> {
    input(
        json!({"alias": targets(), "unit": s("systemd unit"), "since": s("e.g. '1 hour ago', '2024-01-01'"),
               "priority": s("0-7 or emerg..debug"), "lines": int(LINES)}),
        &["alias"],
    )
}

pub fn docker_logs_in() -> Arc<JsonObject> {
    input(
        json!({"alias": targets(), "container": s("Container name or id"), "lines": int(LINES),
               "since": s("e.g. 1h, 2024-01-01T00:00:00"), "timestamps": boolean("Prefix timestamps")}),
        &["alias", "container"],
    )
}

pub fn pm2_logs_in() -> Arc<JsonObject> {
    input(
        json!({"alias": targets(), "app": s("PM2 app (all if absent)"), "lines": int(LINES), "errors": boolean("Error log only")}),
        &["alias"],
    )
}

pub fn id_in() -> Arc<JsonObject> {
    input(json!({"id": s("Job id")}), &["id"])
}

pub fn status_in() -> Arc<JsonObject> {
    input(
        json!({"id": s("Job id"), "output_offset": int("Page the output from this byte"), "output_bytes": int("Page size (65536, max 1 MiB)")}),
        &["id"],
    )
}

pub fn wait_in() -> Arc<JsonObject> {
    input(json!({"id": s("Job id"), "timeout": int("Seconds to wait (25, max 300)")}), &["id"])
}

pub fn queue_in() -> Arc<JsonObject> {
    input(
        json!({
            "status": {"type": "string", "enum": ["pending", "running", "completed", "failed", "timed_out", "cancelled", "crashed", "partial"], "description": "Filter (default: all; partial: fan-outs with failed hosts)"},
            "limit": int("Max jobs (100)"),
            "compact": boolean("Short rows (true)")
        }),
        &[],
    )
}

pub fn history_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s("Filter by server"), "limit": int("Max jobs (100)"), "offset": int("Skip"), "compact": boolean("Short rows (true)")}),
        &[],
    )
}

pub fn empty_in() -> Arc<JsonObject> {
    input(json!({}), &[])
}

pub fn stats_out() -> Arc<JsonObject> {
    output(json!({
        "total": {"type": "integer"}, "byStatus": {"type": "object"}, "byType": {"type": "object"},
        "avgDuration": {"type": "number"}, "successRate": {"type": "number"}
    }))
}

pub fn logs_in() -> Arc<JsonObject> {
    input(
        json!({
            "level": {"type": "string", "enum": ["error", "warn", "info", "debug"], "description": "Minimum level"},
            "search": s("Substring to match"),
            "limit": int("Max lines (50)"),
            "compact": boolean("Cut lines to 300 characters (true)")
        }),
        &[],
    )
}

pub fn logs_out() -> Arc<JsonObject> {
    output(json!({"lines": {"type": "array", "items": {"type": "string"}}}))
}

pub fn pool_out() -> Arc<JsonObject> {
    output(
        json!({"servers": {"type": "array", "items": {"type": "object"}}, "processes": {"type": "array", "items": {"type": "object"}}}),
    )
}

pub fn diagnostics_in() -> Arc<JsonObject> {
    input(json!({"verbose": boolean("Include settings")}), &[])
}

pub fn diagnostics_out() -> Arc<JsonObject> {
    output(json!({
        "version": {"type": "string"}, "dataDir": {"type": "string"}, "readOnly": {"type": "boolean"},
        "servers": {"type": "integer"}, "jobs": {"type": "object"}, "processes": {"type": "array", "items": {"type": "object"}},
        "settings": {"type": "object"}
    }))
}

pub fn toolsets_in() -> Arc<JsonObject> {
    input(
        json!({"enable": {"type": ["string", "array"], "items": {"type": "string"}, "description": "Toolsets to list from now on (names or all)"}}),
        &[],
    )
}

pub fn toolsets_out() -> Arc<JsonObject> {
    output(
        json!({"toolsets": {"type": "array", "items": {"type": "object"}}, "enabled": {"type": "array", "items": {"type": "string"}}}),
    )
}
