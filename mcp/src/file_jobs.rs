//! Every file tool call (reads, writes, diffs, snapshots) is a `file` job in the journal, so the
//! console, `sshdeck jobs` and `task_history` show it: what a call touches is read from its
//! arguments here, the job is recorded around the call, and its id is added to the result as `jobId`.

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{Value, json};
use sshdeck_core::Deck;

/// What a file tool call touches: targets (aliases, or `local`), paths, and whether it may write.
pub struct Touches {
    pub targets: Vec<String>,
    pub paths: Vec<String>,
    pub writes: bool,
}

fn side(v: &Value) -> String {
    match (v["type"].as_str(), v["alias"].as_str()) {
        (Some("remote"), Some(a)) => a.to_string(),
        _ => "local".to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// The tool's footprint, or `None` for a tool that is not a recorded file tool.
pub fn touches(deck: &Deck, tool: &str, args: Option<&JsonObject>) -> Option<Touches> {
    let empty = JsonObject::new();
    let a = args.unwrap_or(&empty);
    let get = |k: &str| a.get(k).cloned().unwrap_or(Value::Null);
    let dry_run = get("dryRun").as_bool();
    let sources: Vec<Value> = match tool {
        "file_read" | "file_write" | "file_edit" => vec![get("source")],
        "diff_files" | "diff_folders" => vec![get("source1"), get("source2")],
        "compare_all_sources" => get("sources").as_array().cloned().unwrap_or_default(),
        "snapshot_create" => {
            let t = vec![side(&get("source"))];
            return Some(Touches { targets: t, paths: strings(&get("paths")), writes: false });
        }
        "snapshot_restore" => {
            let mut paths = vec![get("snapshotId").as_str().unwrap_or_default().to_string()];
            paths.extend(strings(&get("paths")));
            let writes = dry_run == Some(false);
            return Some(Touches { targets: vec![side(&get("target"))], paths, writes });
        }
        "snapshot_diff" => {
            let paths = strings(&json!([get("snapshot1"), get("snapshot2")]));
            return Some(Touches { targets: vec!["local".into()], paths, writes: false });
        }
        "project_diff" => {
            // The role's server and directory, and the local copy (the project's name if unknown).
            let name = get("name").as_str().unwrap_or_default().to_string();
            let found = deck.projects().get(&name).and_then(|p| {
                let role = sshdeck_core::projects::role(&p, get("role").as_str())?;
                Ok((role, p["local"]["path"].as_str().unwrap_or_default().to_string()))
            });
            let (targets, paths) = match found {
                Ok((role, local)) => (vec![role.alias, "local".into()], vec![role.path, local]),
                Err(_) => (vec!["local".into()], vec![name]),
            };
            return Some(Touches { targets, paths, writes: false });
        }
        "snapshot_delete" => {
            let paths = strings(&json!([get("snapshotId")]));
            return Some(Touches { targets: vec!["local".into()], paths, writes: true });
        }
        _ => return None,
    };
    let mut targets: Vec<String> = Vec::new();
    for s in &sources {
        let t = side(s);
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let paths = sources.iter().filter_map(|s| s["path"].as_str().map(str::to_string)).collect();
    let writes = matches!(tool, "file_write" | "file_edit") && dry_run != Some(true);
    Some(Touches { targets, paths, writes })
}

/// Records a call's end on its job and names the job in the result.
pub fn conclude(job: sshdeck_core::deck::FileJob, r: &mut CallToolResult) {
    let s = r.structured_content.clone().unwrap_or(Value::Null);
    let bytes = ["size", "bytes", "newBytes"].iter().find_map(|k| s[*k].as_u64()).unwrap_or(0);
    let id = job.id().to_string();
    if r.is_error == Some(true) {
        let code = s["error"]["code"].as_str().unwrap_or("INVALID_ARGUMENT");
        let message = s["error"]["message"].as_str().unwrap_or("the call failed");
        job.finish(Some((code, message)), bytes);
    } else {
        job.finish(None, bytes);
    }
    if let Some(Value::Object(m)) = r.structured_content.as_mut() {
        m.insert("jobId".into(), json!(id));
    }
}

/// Starts the record of a file tool call (a failure to record never blocks the call).
pub fn begin(deck: &Deck, tool: &str, t: Touches, origin: &str) -> Option<sshdeck_core::deck::FileJob> {
    match deck.file_job(tool, t.targets, t.paths, t.writes, origin) {
        Ok(j) => Some(j),
        Err(e) => {
            tracing::warn!(tool, error = %e, "cannot record a file tool call as a job");
            None
        }
    }
}
