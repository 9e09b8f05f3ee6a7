//! snapshot_create, snapshot_list, snapshot_diff, snapshot_restore, snapshot_delete: files and
//! directories kept in the data dir's content-addressed store before a change, compared, restored.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;
use sshdeck_core::snapshots::{self, Side, Snapshot};

use super::files::DIFF_MAX;
use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// Node's `{type, alias?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideParam {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    alias: Option<String>,
}

impl SideParam {
    fn side(&self) -> Result<Side, Error> {
        Side::checked(&self.kind, self.alias.as_deref())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateParams {
    source: SideParam,
    paths: Vec<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    recursive: Option<bool>,
    #[serde(default)]
    ignore_patterns: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListParams {
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    source_alias: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    limit: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiffParams {
    snapshot1: String,
    snapshot2: String,
    #[serde(default)]
    include_diff: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreParams {
    snapshot_id: String,
    target: SideParam,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteParams {
    snapshot_id: String,
}

/// A snapshot without its file list.
fn summary(s: &Snapshot) -> serde_json::Value {
    json!({"id": s.id, "tag": s.tag, "message": s.message, "source": s.source, "paths": s.paths,
        "createdAt": s.created_at, "files": s.files.len(), "bytes": s.bytes})
}

#[tool_router(router = snapshots_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Snapshot files or directories (remote or local) into the data dir's deduplicated store, before a change.",
        input_schema = schema::snapshot_create_in(),
        output_schema = schema::snapshot_out(),
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    async fn snapshot_create(&self, Parameters(p): Parameters<CreateParams>) -> Result<CallToolResult, ErrorData> {
        let side = match p.source.side() {
            Ok(s) => s,
            Err(e) => return Ok(render::error(&e)),
        };
        let mut opts = self.deck.snapshot_options(p.recursive.unwrap_or(true), p.ignore_patterns);
        (opts.tag, opts.message) = (p.tag, p.message);
        match self.deck.snapshot_create(&side, &p.paths, &opts).await {
            Ok(c) => {
                let s = &c.snapshot;
                let mut v = summary(s);
                v["newObjects"] = json!(c.new_objects);
                v["newBytes"] = json!(c.new_bytes);
                if !c.denied.is_empty() {
                    v["deniedByPolicy"] = json!(c.denied);
                }
                if !c.unreadable.is_empty() {
                    v["unreadable"] = json!(c.unreadable);
                }
                let mut text = format!(
                    "snapshot {} of {} on {}: {} files, {} bytes ({} new to the store)",
                    s.id,
                    s.paths.join(", "),
                    s.source.name(),
                    s.files.len(),
                    s.bytes,
                    c.new_bytes
                );
                for (what, list) in [("left out by policy", &c.denied), ("unreadable, left out", &c.unreadable)] {
                    if !list.is_empty() {
                        text.push_str(&format!("\n{what}: {}", list.join(", ")));
                    }
                }
                Ok(render::ok(v, text))
            }
            Err(e) => Ok(render::error(&e)),
        }
    }

    #[tool(
        description = "Snapshots, newest first, by source or tag.",
        input_schema = schema::snapshot_list_in(),
        output_schema = schema::snapshot_list_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn snapshot_list(&self, Parameters(p): Parameters<ListParams>) -> Result<CallToolResult, ErrorData> {
        let store = match self.deck.snapshot_store() {
            Ok(s) => s,
            Err(e) => return Ok(render::error(&e)),
        };
        let all = match store.list() {
            Ok(l) => l,
            Err(e) => return Ok(render::error(&e)),
        };
        let limit = p.limit.map_or(20, |l| l.max(1.0) as usize);
        let chosen: Vec<&Snapshot> = all
            .iter()
            .filter(|s| p.source_type.as_deref().is_none_or(|t| s.source.kind == t))
            .filter(|s| p.source_alias.as_deref().is_none_or(|a| s.source.alias.as_deref() == Some(a)))
            .filter(|s| p.tag.as_deref().is_none_or(|t| s.tag.as_deref() == Some(t)))
            .collect();
        let (objects, bytes) = store.usage();
        let mut text = format!("{} snapshots; store: {objects} objects, {bytes} bytes", chosen.len());
        for s in chosen.iter().take(limit) {
            let tag = s.tag.as_deref().map(|t| format!(" [{t}]")).unwrap_or_default();
            text.push_str(&format!(
                "\n{} {}{tag} {}: {} ({} files)",
                s.id,
                s.created_at,
                s.source.name(),
                s.paths.join(", "),
                s.files.len()
            ));
        }
        let list: Vec<_> = chosen.iter().take(limit).map(|s| summary(s)).collect();
        let v = json!({"total": chosen.len(), "snapshots": list, "store": {"objects": objects, "bytes": bytes}});
        Ok(render::ok(v, text))
    }

    #[tool(
        description = "Compare two snapshots (ids or tags): added, removed, modified files; includeDiff adds bounded diffs.",
        input_schema = schema::snapshot_diff_in(),
        output_schema = schema::snapshot_diff_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn snapshot_diff(&self, Parameters(p): Parameters<DiffParams>) -> Result<CallToolResult, ErrorData> {
        let found = (|| {
            let store = self.deck.snapshot_store()?;
            let (a, b) = (store.find(&p.snapshot1)?, store.find(&p.snapshot2)?);
            let per_file = if p.include_diff { Some(DIFF_MAX / 4) } else { None };
            Ok::<_, Error>((a.id.clone(), b.id.clone(), snapshots::diff(&store, &a, &b, per_file)?))
        })();
        match found {
            Ok((a, b, d)) => {
                let mut text = format!(
                    "{a} -> {b}: {} added, {} removed, {} modified, {} unchanged",
                    d.added.len(),
                    d.removed.len(),
                    d.modified.len(),
                    d.unchanged
                );
                for m in &d.modified {
                    text.push_str(&format!("\nM {}", m.path));
                    if let Some(diff) = &m.diff {
                        text.push_str(&format!("\n{diff}"));
                    }
                }
                for (mark, list) in [("A", &d.added), ("D", &d.removed)] {
                    for path in list {
                        text.push_str(&format!("\n{mark} {path}"));
                    }
                }
                let mut v = json!(d);
                v["snapshot1"] = json!(a);
                v["snapshot2"] = json!(b);
                Ok(render::ok(v, text))
            }
            Err(e) => Ok(render::error(&e)),
        }
    }

    #[tool(
        description = "Restore a snapshot's files (all, or paths) to the same or another target. dryRun (default true) shows the plan; writing needs dryRun false and force true. Atomic per file, modes restored.",
        input_schema = schema::snapshot_restore_in(),
        output_schema = schema::snapshot_restore_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn snapshot_restore(&self, Parameters(p): Parameters<RestoreParams>) -> Result<CallToolResult, ErrorData> {
        let dry_run = p.dry_run.unwrap_or(true);
        let planned = match p.target.side() {
            Ok(target) => {
                self.deck.snapshot_plan(&p.snapshot_id, &target, &p.paths, !dry_run).await.map(|x| (target, x))
            }
            Err(e) => Err(e),
        };
        let (target, (snap, planned)) = match planned {
            Ok(x) => x,
            Err(e) => return Ok(render::error(&e)),
        };
        let changes = planned.iter().filter(|f| f.action != "unchanged").count();
        let mut v = json!({"snapshotId": snap.id, "target": target, "dryRun": dry_run, "files": planned,
            "changes": changes, "written": 0});
        let mut text = format!("restore {} to {}: {changes} of {} files differ", snap.id, target.name(), planned.len());
        for f in planned.iter().filter(|f| f.action != "unchanged") {
            text.push_str(&format!("\n{} {} ({} bytes, mode {})", f.action, f.path, f.size, f.mode));
        }
        if dry_run {
            text.push_str("\ndry run: nothing written (dryRun: false and force: true to write)");
            return Ok(render::ok(v, text));
        }
        if !p.force && changes > 0 {
            let e = Error::ConfirmationRequired {
                command: format!("snapshot_restore {}", snap.id),
                reason: format!("overwrites or creates {changes} files on {}", target.name()),
            };
            let mut r = render::error(&e);
            if let Some(s) = r.structured_content.as_mut() {
                s["files"] = v["files"].clone();
            }
            return Ok(r);
        }
        match self.deck.snapshot_restore(&snap, &target, &planned).await {
            Ok(n) => {
                v["written"] = json!(n);
                Ok(render::ok(v, format!("{text}\nwrote {n} files")))
            }
            Err(e) => Ok(render::error(&e)),
        }
    }

    #[tool(
        description = "Delete a snapshot; contents no other snapshot uses are removed from the store (says what it freed).",
        input_schema = schema::snapshot_delete_in(),
        output_schema = schema::snapshot_delete_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = false)
    )]
    async fn snapshot_delete(&self, Parameters(p): Parameters<DeleteParams>) -> Result<CallToolResult, ErrorData> {
        match self.deck.snapshot_store().and_then(|s| s.delete(&p.snapshot_id)) {
            Ok((snap, freed)) => {
                let text = format!("deleted {}; freed {} objects, {} bytes", snap.id, freed.objects, freed.bytes);
                Ok(render::ok(json!({"deleted": snap.id, "freed": freed}), text))
            }
            Err(e) => Ok(render::error(&e)),
        }
    }
}
