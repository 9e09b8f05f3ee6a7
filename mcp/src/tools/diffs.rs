//! diff_files and compare_all_sources: files on several sources side by side, by hash, with bounded
//! unified diffs.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;
use sshdeck_core::files::compare::{CompareOptions, compare_all};
use sshdeck_core::files::folders::{FolderOptions, diff_folders};
use sshdeck_core::files::tree::DEFAULT_IGNORE;
use sshdeck_core::files::{self, READ_MAX_BYTES, Source};

use super::files::{DIFF_MAX, SourceParam, is_text};
use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    source1: SourceParam,
    source2: SourceParam,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CompareParams {
    sources: Vec<SourceParam>,
    #[serde(default)]
    include_content: bool,
    #[serde(default)]
    include_diff: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FoldersParams {
    source1: SourceParam,
    source2: SourceParam,
    #[serde(default)]
    recursive: Option<bool>,
    #[serde(default)]
    compare_content: Option<bool>,
    #[serde(default)]
    include_diff: bool,
    #[serde(default)]
    ignore_patterns: Option<Vec<String>>,
}

/// Lines of each list the text rendering shows.
const LISTED: usize = 50;

#[tool_router(router = diffs_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Unified diff between two files, each remote (any server) or local; identical files say so with both hashes.",
        input_schema = schema::diff_files_in(),
        output_schema = schema::diff_files_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn diff_files(&self, Parameters(p): Parameters<DiffParams>) -> Result<CallToolResult, ErrorData> {
        let prepared = (|| Ok::<_, Error>((self.source_of(&p.source1)?, self.source_of(&p.source2)?)))();
        let (a, b) = match prepared {
            Ok(x) => x,
            Err(e) => return Ok(render::error(&e)),
        };
        let (ra, rb) =
            tokio::join!(files::read(&self.deck, &a, READ_MAX_BYTES), files::read(&self.deck, &b, READ_MAX_BYTES));
        let (ra, rb) = match (ra, rb) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(e), _) | (_, Err(e)) => return Ok(render::error(&e)),
        };
        let (n1, n2) = (p.source1.shown(), p.source2.shown());
        let mut v = json!({"identical": ra.sha256 == rb.sha256, "sha256_1": ra.sha256, "sha256_2": rb.sha256,
            "size1": ra.size, "size2": rb.size});
        if ra.sha256 == rb.sha256 {
            v["diff"] = json!("");
            return Ok(render::ok(v, format!("identical: {n1} and {n2} (sha256 {})", ra.sha256)));
        }
        if !is_text(&ra.content) || !is_text(&rb.content) {
            v["diff"] = json!("(binary content: no diff)");
            return Ok(render::ok(v, format!("{n1} and {n2} differ (binary)")));
        }
        let (ta, tb) = (String::from_utf8_lossy(&ra.content), String::from_utf8_lossy(&rb.content));
        let d = files::diff_texts(&n1, &n2, &ta, &tb, DIFF_MAX);
        let (diff, added, removed) = (d.text, d.added, d.removed);
        let cut = d.cut || ra.truncated || rb.truncated;
        v["diff"] = json!(diff);
        v["added"] = json!(added);
        v["removed"] = json!(removed);
        v["truncated"] = json!(cut);
        Ok(render::ok(v, format!("{n1} vs {n2}: +{added} -{removed}\n{diff}")))
    }

    #[tool(
        description = "Compare two directory trees (each remote or local): only in 1, only in 2, identical, modified (hashes, +/- lines, optional diffs). Hashed in place on each side.",
        input_schema = schema::diff_folders_in(),
        output_schema = schema::diff_folders_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn diff_folders(&self, Parameters(p): Parameters<FoldersParams>) -> Result<CallToolResult, ErrorData> {
        let prepared = (|| Ok::<_, Error>((self.source_of(&p.source1)?, self.source_of(&p.source2)?)))();
        let (a, b) = match prepared {
            Ok(x) => x,
            Err(e) => return Ok(render::error(&e)),
        };
        let opts = FolderOptions {
            recursive: p.recursive.unwrap_or(true),
            compare_content: p.compare_content.unwrap_or(true),
            diff_bytes: p.include_diff.then_some(DIFF_MAX / 4),
            ignore: p.ignore_patterns.unwrap_or_else(|| DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect()),
        };
        let d = match diff_folders(&self.deck, &a, &b, &opts).await {
            Ok(d) => d,
            Err(e) => return Ok(render::error(&e)),
        };
        let (n1, n2) = (p.source1.shown(), p.source2.shown());
        let mut text = format!(
            "{n1} ({} files) vs {n2} ({} files): {} identical, {} modified, {} only in 1, {} only in 2",
            d.files1,
            d.files2,
            d.identical.len(),
            d.modified.len(),
            d.only_in1.len(),
            d.only_in2.len()
        );
        for m in d.modified.iter().take(LISTED) {
            let lines = match (m.added, m.removed) {
                (Some(a), Some(r)) => format!(" +{a} -{r}"),
                _ if m.binary => " (binary)".into(),
                _ => String::new(),
            };
            text.push_str(&format!("\nM {}{lines}", m.path));
        }
        for (mark, list) in [("<", &d.only_in1), (">", &d.only_in2)] {
            for path in list.iter().take(LISTED) {
                text.push_str(&format!("\n{mark} {path}"));
            }
        }
        for m in d.modified.iter().filter_map(|m| m.diff.as_ref()) {
            text.push_str(&format!("\n{m}"));
        }
        let mut v = json!(d);
        v["same"] = json!(d.same());
        Ok(render::ok(v, text))
    }

    #[tool(
        description = "The same file on many sources (servers or local; a remote alias may be a fleet target such as group:web) grouped by sha256: the majority is the reference, each divergent group comes with its diff from it.",
        input_schema = schema::compare_in(),
        output_schema = schema::compare_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn compare_all_sources(&self, Parameters(p): Parameters<CompareParams>) -> Result<CallToolResult, ErrorData> {
        // Expand fleet targets into one source per host.
        let mut sources: Vec<(String, Source)> = Vec::new();
        for sp in &p.sources {
            let src = match self.source_of(sp) {
                Ok(s) => s,
                Err(e) => return Ok(render::error(&e)),
            };
            match (&src, sp.alias.as_deref()) {
                (Source::Remote { path, .. }, Some(a)) if sshdeck_core::fleet::is_fleet(&[a.to_string()]) => {
                    let hosts = match self.deck.resolve_targets(&[a.to_string()]) {
                        Ok(h) => h,
                        Err(e) => return Ok(render::error(&e)),
                    };
                    for h in hosts {
                        sources.push((format!("{h}:{path}"), Source::Remote { alias: h, path: path.clone() }));
                    }
                }
                _ => sources.push((sp.shown(), src)),
            }
        }
        let opts = CompareOptions {
            content: p.include_content,
            diff: p.include_diff.unwrap_or(true),
            max: DIFF_MAX,
            read_max: READ_MAX_BYTES,
        };
        let c = compare_all(&self.deck, sources, opts).await;
        let mut text = String::new();
        for g in &c.groups {
            text.push_str(&format!("{} × {} {}\n", g.count, &g.sha256[..12], g.sources.join(", ")));
        }
        for e in &c.errors {
            text.push_str(&format!("error {}: {}\n", e.source, e.code));
        }
        let head = if c.identical {
            format!("all {} identical\n", c.total)
        } else {
            format!("{} versions among {}\n", c.groups.len(), c.total)
        };
        let v = json!(c);
        Ok(render::ok(v, head + &text))
    }
}
