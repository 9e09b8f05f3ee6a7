//! file_read, file_write, file_edit: a server's (or this machine's) files read with their sha256 and
//! changed atomically, guarded by that hash, with a diff on a dry run.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::Error;
use sshdeck_core::files::{self, EDIT_MAX_BYTES, READ_MAX_BYTES, Source, WriteOptions};
use sshdeck_core::jobs::format_time;
use sshdeck_core::snapshots::Side;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// Node's `{type, path, alias?, label?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceParam {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    pub(super) alias: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // Node's display label: accepted, not used
    label: Option<String>,
}

impl SourceParam {
    pub(super) fn source(&self) -> Result<Source, Error> {
        match (self.kind.as_str(), &self.alias) {
            ("local", _) => Ok(Source::Local(self.path.clone())),
            ("remote", Some(a)) if !a.is_empty() => Ok(Source::Remote { alias: a.clone(), path: self.path.clone() }),
            ("remote", _) => Err(Error::InvalidArgument("a remote source needs its alias".into())),
            (other, _) => Err(Error::InvalidArgument(format!("source type {other:?}: expected local or remote"))),
        }
    }

    pub(super) fn shown(&self) -> String {
        match &self.alias {
            Some(a) if self.kind == "remote" => format!("{a}:{}", self.path),
            _ => self.path.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadParams {
    source: SourceParam,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Bytes of diff a result carries at most.
pub(super) const DIFF_MAX: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WriteParams {
    source: SourceParam,
    content: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    create_dirs: Option<bool>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    backup: bool,
    #[serde(default)]
    expected_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EditParams {
    source: SourceParam,
    #[serde(default)]
    old_string: Option<String>,
    #[serde(default)]
    new_string: Option<String>,
    #[serde(default)]
    replace_all: bool,
    #[serde(default)]
    new_content: Option<String>,
    #[serde(default)]
    expected_hash: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    backup: bool,
}

fn base64(encoding: &Option<String>) -> Result<bool, Error> {
    match encoding.as_deref() {
        None | Some("utf8") | Some("utf-8") => Ok(false),
        Some("base64") => Ok(true),
        Some(other) => Err(Error::InvalidArgument(format!("encoding {other:?}: expected utf8 or base64"))),
    }
}

/// A refused write: the error, and the file's hash now when it changed under the caller.
fn refused(e: &Error) -> CallToolResult {
    let mut v = json!({"error": {"code": e.code(), "message": e.to_string()}});
    match e {
        Error::HashMismatch { actual, .. } => v["currentHash"] = json!(actual),
        Error::MultipleMatches { count, .. } => v["matches"] = json!(count),
        _ => {}
    }
    render::failed(v, format!("error[{}]: {e}", e.code()))
}

impl Sshdeck {
    /// A tool's source, unless the operator's policy keeps file tools away from its path.
    pub(super) fn source_of(&self, p: &SourceParam) -> Result<Source, Error> {
        let src = p.source()?;
        self.deck.check_file_path(src.path())?;
        Ok(src)
    }

    /// Writes are refused on a server marked readonly, as commands are.
    fn writable(&self, src: &Source) -> Result<(), Error> {
        if let Source::Remote { alias, .. } = src
            && self.deck.server(alias)?.config.readonly
        {
            return Err(Error::ServerReadOnly { alias: alias.clone(), what: "file write" });
        }
        Ok(())
    }

    /// Writes `c.new` over a file whose current bytes (and hash) are `old`: dry run, backup, guard.
    async fn change(&self, p: &SourceParam, src: &Source, old: Option<&files::FileRead>, c: Change) -> CallToolResult {
        let Change { new, dry_run, backup, guard, create_dirs, extra } = c;
        let before = old.map(|o| o.sha256.clone()).unwrap_or_default();
        let diff = match (old, is_text(&new)) {
            (Some(o), true) if is_text(&o.content) => files::unified_diff(
                src.path().trim_start_matches('/'),
                &String::from_utf8_lossy(&o.content),
                &String::from_utf8_lossy(&new),
            ),
            (None, true) => files::unified_diff(src.path().trim_start_matches('/'), "", &String::from_utf8_lossy(&new)),
            _ => "(binary content: no diff)".to_string(),
        };
        let mut v = json!({"path": p.shown(), "dryRun": dry_run, "sha256Before": before,
            "sha256": files::sha256_hex(&new), "size": new.len(), "diff": diff});
        if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
            m.extend(e);
        }
        if dry_run {
            v["written"] = json!(false);
            let text = format!("dry run: {} would change ({} bytes)\n{diff}", p.shown(), new.len());
            return render::ok(v, text);
        }
        if let Err(e) = self.writable(src) {
            return render::error(&e);
        }
        if backup && old.is_some() {
            // A snapshot of the file as it is, restorable with snapshot_restore.
            let side = match src {
                Source::Local(_) => Side::local(),
                Source::Remote { alias, .. } => Side::remote(alias),
            };
            let mut opts = self.deck.snapshot_options(false, Some(Vec::new()));
            opts.message = Some("backup before a file change".into());
            match self.deck.snapshot_create(&side, &[src.path().to_string()], &opts).await {
                Ok(c) => v["backup"] = json!(c.snapshot.id),
                Err(e) => return render::error(&e),
            }
        }
        let opts = WriteOptions { create_dirs, expected_hash: guard, mode: None };
        match files::write(&self.deck, src, &new, &opts).await {
            Ok(h) => {
                v["written"] = json!(true);
                v["sha256"] = json!(h);
                render::ok(v, format!("wrote {} ({} bytes, sha256 {h})\n{diff}", p.shown(), new.len()))
            }
            Err(e) => refused(&e),
        }
    }
}

/// A change to write.
struct Change {
    new: Vec<u8>,
    dry_run: bool,
    backup: bool,
    guard: Option<String>,
    create_dirs: bool,
    extra: Value,
}

pub(super) fn is_text(b: &[u8]) -> bool {
    !files::is_binary(b) && std::str::from_utf8(b).is_ok()
}

#[tool_router(router = files_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Read a file (remote or local) with its sha256, size, mode and mtime; lines by offset/limit; binary comes back base64. Pass the sha256 to file_edit/file_write as expectedHash.",
        input_schema = schema::file_read_in(),
        output_schema = schema::file_read_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn file_read(&self, Parameters(p): Parameters<ReadParams>) -> Result<CallToolResult, ErrorData> {
        let (src, b64) = match (self.source_of(&p.source), base64(&p.encoding)) {
            (Ok(s), Ok(b)) => (s, b),
            (Err(e), _) | (_, Err(e)) => return Ok(render::error(&e)),
        };
        let r = match files::read(&self.deck, &src, READ_MAX_BYTES).await {
            Ok(r) => r,
            Err(e) => return Ok(render::error(&e)),
        };
        let binary = !is_text(&r.content);
        let mut v = json!({"path": p.source.shown(), "sha256": r.sha256, "size": r.size,
            "mode": format!("{:04o}", r.mode), "mtime": format_time(r.mtime * 1000), "truncated": r.truncated});
        if b64 || binary {
            v["encoding"] = json!("base64");
            v["content"] = json!(files::to_base64(&r.content));
            let text = format!(
                "{} ({} bytes, sha256 {}): binary, base64 in structured content",
                p.source.shown(),
                r.size,
                r.sha256
            );
            return Ok(render::ok(v, text));
        }
        let text = String::from_utf8_lossy(&r.content);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let start = p.offset.unwrap_or(1).max(1) - 1;
        let end = p.limit.map_or(lines.len(), |l| (start + l).min(lines.len()));
        let part: String = lines.get(start..end.max(start)).unwrap_or(&[]).concat();
        let partial = start > 0 || end < lines.len();
        v["encoding"] = json!("utf8");
        v["content"] = json!(part);
        v["totalLines"] = json!(lines.len());
        if partial {
            v["offset"] = json!(start + 1);
            v["limit"] = json!(end - start);
        }
        let note =
            if r.truncated { format!(" (first {} bytes of {})", r.content.len(), r.size) } else { String::new() };
        Ok(render::ok(v, format!("{} sha256 {}{note}\n{part}", p.source.shown(), r.sha256)))
    }

    #[tool(
        description = "Write a whole file (remote or local) atomically: a temporary file renamed into place, its mode and owner kept; expectedHash refuses the write if the file changed; dryRun returns the diff.",
        input_schema = schema::file_write_in(),
        output_schema = schema::file_change_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn file_write(&self, Parameters(p): Parameters<WriteParams>) -> Result<CallToolResult, ErrorData> {
        let prepared = (|| Ok::<_, Error>((self.source_of(&p.source)?, base64(&p.encoding)?)))();
        let (src, b64) = match prepared {
            Ok(x) => x,
            Err(e) => return Ok(render::error(&e)),
        };
        let new = if b64 {
            match files::from_base64(&p.content) {
                Ok(b) => b,
                Err(e) => return Ok(render::error(&e)),
            }
        } else {
            p.content.clone().into_bytes()
        };
        let old = match files::read(&self.deck, &src, EDIT_MAX_BYTES).await {
            Ok(r) => Some(r),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Ok(render::error(&e)),
        };
        if let (Some(expected), current) =
            (&p.expected_hash, old.as_ref().map(|o| o.sha256.clone()).unwrap_or_default())
            && *expected != current
        {
            let e = Error::HashMismatch { path: p.source.shown(), expected: expected.clone(), actual: current };
            return Ok(refused(&e));
        }
        let create_dirs = p.create_dirs.unwrap_or(true);
        let change = Change {
            new,
            dry_run: p.dry_run,
            backup: p.backup,
            guard: p.expected_hash.clone(),
            create_dirs,
            extra: json!({}),
        };
        Ok(self.change(&p.source, &src, old.as_ref(), change).await)
    }

    #[tool(
        description = "Edit a file (remote or local): replace oldString by newString (once, or replaceAll) or set newContent; written atomically with mode and owner kept; expectedHash refuses it if the file changed; dryRun returns the diff.",
        input_schema = schema::file_edit_in(),
        output_schema = schema::file_change_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn file_edit(&self, Parameters(p): Parameters<EditParams>) -> Result<CallToolResult, ErrorData> {
        let prepared = (|| Ok::<_, Error>((self.source_of(&p.source)?, base64(&p.encoding)?)))();
        let (src, b64) = match prepared {
            Ok(x) => x,
            Err(e) => return Ok(render::error(&e)),
        };
        let old = match files::read(&self.deck, &src, EDIT_MAX_BYTES).await {
            Ok(r) if r.truncated => {
                let e = Error::InvalidArgument(format!(
                    "{} is {} bytes; file_edit rewrites files up to {EDIT_MAX_BYTES} bytes",
                    p.source.shown(),
                    r.size
                ));
                return Ok(render::error(&e));
            }
            Ok(r) => r,
            Err(e) => return Ok(render::error(&e)),
        };
        if let Some(expected) = &p.expected_hash
            && *expected != old.sha256
        {
            let e =
                Error::HashMismatch { path: p.source.shown(), expected: expected.clone(), actual: old.sha256.clone() };
            return Ok(refused(&e));
        }
        let (new, replacements) = match (&p.new_content, &p.old_string, &p.new_string) {
            (Some(c), None, None) if b64 => match files::from_base64(c) {
                Ok(b) => (b, 0),
                Err(e) => return Ok(render::error(&e)),
            },
            (Some(c), None, None) => (c.clone().into_bytes(), 0),
            (None, Some(old_s), Some(new_s)) => {
                let Ok(text) = std::str::from_utf8(&old.content) else {
                    let e = Error::InvalidArgument("the file is not UTF-8 text: use newContent with base64".into());
                    return Ok(render::error(&e));
                };
                match files::replace(&p.source.shown(), text, old_s, new_s, p.replace_all) {
                    Ok((t, n)) => (t.into_bytes(), n),
                    Err(e) => return Ok(refused(&e)),
                }
            }
            _ => {
                let e = Error::InvalidArgument("give oldString and newString, or newContent (not both)".into());
                return Ok(render::error(&e));
            }
        };
        // The write is guarded by the hash just read, whether or not the caller gave one.
        let guard = Some(old.sha256.clone());
        let change = Change {
            new,
            dry_run: p.dry_run,
            backup: p.backup,
            guard,
            create_dirs: false,
            extra: json!({"replacements": replacements}),
        };
        Ok(self.change(&p.source, &src, Some(&old), change).await)
    }
}
