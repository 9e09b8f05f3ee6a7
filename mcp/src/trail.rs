//! Each call of a tool that is not read-only leaves one line in the data dir's audit trail
//! (`audit.jsonl`, see `sshdeck_core::audit`): the tool, the caller (the HTTP token's name, else
//! `stdio`), the servers it concerned, its arguments without secrets, the result code, the job.

use rmcp::model::{CallToolResponse, JsonObject};
use serde_json::Value;
use sshdeck_core::Deck;
use sshdeck_core::audit::Entry;

/// The servers named in a call's arguments.
fn targets(args: &JsonObject) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: &Value| match v {
        Value::String(s) => out.extend(s.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty())),
        Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
        _ => {}
    };
    for k in ["alias", "aliases", "source_alias", "server_alias"] {
        if let Some(v) = args.get(k) {
            add(v);
        }
    }
    for k in ["source", "source1", "source2", "target"] {
        if let Some(v) = args.get(k).and_then(|s| s.get("alias")) {
            add(v);
        }
    }
    out.dedup();
    out
}

/// Records a mutating call and how it ended (a failure to record is logged, never the call's).
pub fn record(deck: &Deck, tool: &str, args: Option<JsonObject>, caller: &str, response: &CallToolResponse) {
    let args = args.unwrap_or_default();
    let mut e = Entry::now("mcp", caller, tool, targets(&args), Value::Object(args));
    if let CallToolResponse::Complete(r) = response {
        let s = r.structured_content.clone().unwrap_or(Value::Null);
        if r.is_error == Some(true) {
            e.result = s["error"]["code"].as_str().unwrap_or("ERROR").to_string();
        }
        e.job = ["jobId", "id"].iter().find_map(|k| s[*k].as_str()).map(str::to_string);
    }
    if let Err(err) = deck.audit().record(&e) {
        tracing::warn!(tool, error = %err, "cannot write the audit trail");
    }
}
