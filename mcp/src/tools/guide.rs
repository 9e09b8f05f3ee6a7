//! guide (Node's name and sections): how to work with sshdeck's tools, in short sections. Every tool
//! a section names is checked against the live tool list (a unit test), so the guide never names a
//! tool that does not exist.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// The sections, in Node's order: (name, text).
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "index",
        "Sections: sources, file-editing, workflows, cheatsheet, audit, security, pitfalls.\n\
         Start with server_list (or server_add), then task_exec. toolsets lists more tools; help {tool} gives \
         a tool's arguments; infra_audit sums up the fleet; server_note_get recalls what you learned before.",
    ),
    (
        "sources",
        "A file source is {type: \"remote\", alias, path} (a registered server, over its pooled connection) or \
         {type: \"local\", path} (the machine sshdeck runs on). A remote alias in compare_all_sources may be a \
         fleet target: \"group:web\", \"tag:prod\", \"a,b\", \"all\".",
    ),
    (
        "file-editing",
        "Read with file_read (it gives the sha256), change with file_edit (oldString/newString, once unless \
         replaceAll) or file_write, passing expectedHash: a file changed meanwhile is refused with \
         HASH_MISMATCH and its current hash. dryRun shows the diff; backup: true takes a snapshot first \
         (snapshot_restore puts it back). Writes are atomic and keep the file's mode and owner.",
    ),
    (
        "workflows",
        "Before a change: snapshot_create the paths. Run: task_exec (or task_exec_sequence for steps). A call \
         waits MCP_SYNC_TIMEOUT_S, then answers with the job id: follow with task_wait or task_status. Across \
         servers: fleet_status, compare_all_sources, diff_folders. After: snapshot_diff, and server_note_set with \
         intervention to remember what was done. Long-lived processes: tmux_create / tmux_exec / tmux_read.",
    ),
    (
        "cheatsheet",
        "task_exec {alias, cmd} · task_exec_sequence {alias, commands} · task_wait {id} · task_status {id, \
         output_offset} · task_cancel {id} · task_retry {id} · task_history {alias} · file_read/file_edit \
         {source} · diff_files {source1, source2} · snapshot_create {source, paths} · snapshot_restore \
         {snapshotId, target, dryRun, force} · tail_file {alias, path} · get_system_resources {alias} · \
         server_note_set {alias, note, intervention}",
    ),
    (
        "audit",
        "Every mutating tool call is a line in the data dir's audit.jsonl (who, what, on which servers, the \
         result, the job; secrets removed); every command and file call is a job (task_history, \
         sshdeck jobs list). task_purge removes old finished jobs (a dry run by default).",
    ),
    (
        "security",
        "Host keys are verified; secrets never appear in results, history or logs. The operator's policy.toml \
         denies commands and paths (deny, deny_paths) for every front end, and nothing bypasses it \
         (skip_policy does not). Destructive commands need force: true or the human's confirmation. \
         MCP_READONLY or a read-only HTTP token refuses every tool that is not read-only.",
    ),
    (
        "pitfalls",
        "A command that prompts needs task_exec_interactive (responses) or it times out. Output past the inline \
         limit is cut in the middle: page it with task_status output_offset. A server marked readonly refuses \
         changes. cd does not carry over between task_exec calls (use a sequence, or tmux). Use absolute paths \
         for files.",
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideParams {
    #[serde(default)]
    section: Option<String>,
}

#[tool_router(router = guide_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "How to work with these tools, by section: index, sources, file-editing, workflows, cheatsheet, audit, security, pitfalls.",
        input_schema = schema::guide_in(),
        output_schema = schema::guide_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn guide(&self, Parameters(p): Parameters<GuideParams>) -> Result<CallToolResult, ErrorData> {
        let name = p.section.unwrap_or_else(|| "index".into());
        Ok(match SECTIONS.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => render::ok(json!({"section": n, "text": text}), format!("{n}\n{text}")),
            None => render::error(&Error::InvalidArgument(format!(
                "section {name:?}: one of {}",
                SECTIONS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_names_only_tools_that_exist() {
        let router = crate::server::Sshdeck::router();
        let names: Vec<String> = router.list_all().into_iter().map(|t| t.name.to_string()).collect();
        for (section, text) in SECTIONS {
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let looks_like_tool = word.contains('_')
                    && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !["output_offset", "skip_policy", "deny_paths"].contains(&word);
                if looks_like_tool {
                    assert!(names.iter().any(|n| n == word), "section {section} names {word}, which is no tool");
                }
            }
        }
    }
}
