//! Turning core values into tool results: structured content plus a short text rendering.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};
use sshdeck_core::Error;
use sshdeck_core::capture::Captured;
use sshdeck_core::jobs::{Job, JobStatus, format_time};

/// A successful result.
pub fn ok(value: Value, text: impl Into<String>) -> CallToolResult {
    let mut r = CallToolResult::structured(value);
    r.content = vec![ContentBlock::text(text.into())];
    r
}

/// A result that carries data but reports failure (non-zero exit, timeout, cancel…).
pub fn failed(value: Value, text: impl Into<String>) -> CallToolResult {
    let mut r = ok(value, text);
    r.is_error = Some(true);
    r
}

/// A tool error with its stable code.
pub fn error(e: &Error) -> CallToolResult {
    let v = json!({"error": {"code": e.code(), "message": e.to_string()}});
    failed(v, format!("error[{}]: {e}", e.code()))
}

/// Inline output of a running or finished exec.
pub struct Inline<'a> {
    pub stdout: &'a Captured,
    pub stderr: &'a Captured,
}

/// One job as tool output; `inline` adds its captured streams.
pub fn job(j: &Job, inline: Option<Inline<'_>>) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("id", json!(j.id));
    put("status", json!(j.status));
    put("alias", json!(j.targets.join(",")));
    put("command", json!(j.spec.summary()));
    put("attempt", json!(j.attempt));
    put("createdAt", json!(format_time(j.created_at)));
    if let Some(t) = j.finished_at {
        put("finishedAt", json!(format_time(t)));
    }
    if let Some(r) = &j.retry_of {
        put("retryOf", json!(r));
    }
    if let Some(r) = &j.retried_by {
        put("retriedBy", json!(r));
    }
    if let Some(r) = &j.result {
        if let Some(c) = r.exit_code {
            put("exitCode", json!(c));
        }
        if let Some(s) = &r.exit_signal {
            put("signal", json!(s));
        }
        put("durationMs", json!(r.duration_ms));
        put("timedOut", json!(j.status == JobStatus::TimedOut));
        if let (Some(code), Some(msg)) = (&r.error_code, &r.error_message) {
            put("error", json!({"code": code, "message": msg}));
        }
        put("truncated", json!(r.truncated));
        if let Some(t) = &r.transfer {
            put("transfer", json!(t));
        }
        if let Some(f) = &r.fleet {
            put("fleet", json!(f));
        }
    }
    if let Some(i) = inline {
        let rest = rest_of_output(&j.id);
        put("stdout", json!(i.stdout.text_noting(&rest)));
        put("stderr", json!(i.stderr.text_noting(&rest)));
        put("truncated", json!(i.stdout.truncated() || i.stderr.truncated()));
    }
    m
}

/// Where the whole output of a job can be read, for truncation markers.
pub fn rest_of_output(id: &sshdeck_core::jobs::JobId) -> String {
    format!(
        "the whole output (up to JOB_OUTPUT_LIMIT_BYTES) is at sshdeck://jobs/{id}/output, or page it with task_status {{\"id\": \"{id}\", \"output_offset\": 0}}"
    )
}

/// Per-step results of a sequence, with each step's captured output when this process ran it.
pub fn steps(j: &Job, outputs: &[(Captured, Captured)]) -> Value {
    let steps = j.result.as_ref().map(|r| r.steps.as_slice()).unwrap_or_default();
    Value::Array(
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut m = Map::new();
                m.insert("command".into(), json!(s.command));
                if let Some(c) = s.exit_code {
                    m.insert("exitCode".into(), json!(c));
                }
                if let Some(sig) = &s.exit_signal {
                    m.insert("signal".into(), json!(sig));
                }
                m.insert("durationMs".into(), json!(s.duration_ms));
                if let Some((out, err)) = outputs.get(i) {
                    let rest = rest_of_output(&j.id);
                    m.insert("stdout".into(), json!(out.text_noting(&rest)));
                    m.insert("stderr".into(), json!(err.text_noting(&rest)));
                }
                if let (Some(c), Some(msg)) = (&s.error_code, &s.error_message) {
                    m.insert("error".into(), json!({"code": c, "message": msg}));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// A short text rendering of [`job`]'s map.
pub fn job_text(m: &Map<String, Value>) -> String {
    let g = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let mut t = format!("job {} {} on {}", g("id"), g("status"), g("alias"));
    if let Some(c) = m.get("exitCode") {
        t.push_str(&format!(", exit {c}"));
    }
    if let Some(s) = m.get("signal").and_then(Value::as_str) {
        t.push_str(&format!(", signal {s}"));
    }
    if let Some(d) = m.get("durationMs") {
        t.push_str(&format!(", {d} ms"));
    }
    // Files left alone because they exist are named on the first line, so nobody misses them.
    if let Some(files) = m.get("transfer").and_then(|tr| tr["files"].as_array()) {
        let skipped: Vec<&str> = files
            .iter()
            .filter(|f| f["status"] == "skipped" && f["reason"].as_str().is_some_and(|r| r.starts_with("exists")))
            .filter_map(|f| f["to"].as_str())
            .collect();
        if !skipped.is_empty() {
            let shown: Vec<&str> = skipped.iter().take(5).copied().collect();
            let more = if skipped.len() > 5 { format!(" and {} more", skipped.len() - 5) } else { String::new() };
            t.push_str(&format!("; {} skipped (exist; force to overwrite): {}{more}", skipped.len(), shown.join(", ")));
        }
    }
    if let Some(e) = m.get("error") {
        t.push_str(&format!("\nerror[{}]: {}", e["code"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or("")));
    }
    for (k, label) in [("reminder", "reminder"), ("message", "note")] {
        if let Some(v) = m.get(k).and_then(Value::as_str) {
            t.push_str(&format!("\n{label}: {v}"));
        }
    }
    if let Some(tr) = m.get("transfer") {
        t.push_str(&format!(
            "\n{} ok, {} skipped, {} failed, {} bytes",
            tr["ok"], tr["skipped"], tr["failed"], tr["bytes"]
        ));
        for f in tr["files"].as_array().into_iter().flatten().filter(|f| f["status"] != "ok").take(20) {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            t.push_str(&format!("\n  {} {} -> {}: {}", s("status"), s("from"), s("to"), s("reason")));
        }
    }
    if let Some(steps) = m.get("steps").and_then(Value::as_array) {
        for (i, s) in steps.iter().enumerate() {
            let code = s.get("exitCode").map_or_else(|| "-".to_string(), Value::to_string);
            t.push_str(&format!("\n[step {}] exit {code}: {}", i + 1, s["command"].as_str().unwrap_or("")));
            for k in ["stdout", "stderr"] {
                if let Some(v) = s.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()) {
                    t.push_str(&format!("\n  {k}: {}", v.trim_end().replace('\n', "\n  ")));
                }
            }
            if let Some(e) = s.get("error") {
                t.push_str(&format!(
                    "\n  error[{}]: {}",
                    e["code"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    for k in ["stdout", "stderr", "outputTail"] {
        if let Some(v) = m.get(k).and_then(Value::as_str)
            && !v.is_empty()
        {
            t.push_str(&format!("\n--- {k} ---\n{v}"));
        }
    }
    t
}

/// Whether a job's final state is a failure to report with `isError`.
pub fn is_failure(j: &Job) -> bool {
    j.status.is_terminal() && j.status != JobStatus::Completed
}
