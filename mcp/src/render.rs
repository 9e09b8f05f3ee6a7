//! Turning core values into tool results: structured content plus a short text rendering.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};
use sshdeck_core::Error;
use sshdeck_core::capture::Captured;
use sshdeck_core::jobs::{Job, JobReport, JobStatus, StepReport};

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

/// One job as tool output (the core's [`JobReport`], which the CLI's `--json` prints too); `inline`
/// adds its captured streams.
pub fn job(j: &Job, inline: Option<Inline<'_>>) -> Map<String, Value> {
    let report = JobReport::of(j);
    match inline {
        Some(i) => report.with_output(i.stdout, i.stderr),
        None => report,
    }
    .into_map()
}

/// Per-step results of a sequence, with each step's captured output when this process ran it.
pub fn steps(j: &Job, outputs: &[(Captured, Captured)]) -> Value {
    json!(StepReport::all(j, outputs))
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
