//! A directory tree's regular files with their size, mode and sha256, listed where they are: on a
//! server by one script (GNU `find` prunes ignored names, `sha256sum` hashes in place, so only
//! names and hashes travel), or on this machine by a walk that hashes while streaming. Symbolic
//! links are not followed.

use std::collections::BTreeMap;
use std::path::Path;

use super::{EXIT_DENIED, EXIT_NOT_FOUND, Source, io_error};
use crate::error::{Error, Result};
use crate::remote::Remote;
use crate::ssh::quote::shell_quote;

/// Exit code of the listing script when the root is not a directory.
const EXIT_NOT_DIR: u32 = 48;

/// One regular file of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// sha256, hex, when hashing was asked for; `None` then means it could not be read (permission)
    /// or was gone by the time it was hashed.
    pub sha256: Option<String>,
}

/// What to list.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Descend into subdirectories.
    pub recursive: bool,
    /// Hash every file.
    pub hash: bool,
    /// Patterns to leave out: without `/` a glob on any path component's name (`node_modules`,
    /// `*.log`); with `/` a glob on the relative path (`build/**`, `conf/*.bak`).
    pub ignore: Vec<String>,
}

/// Ignore patterns Node's orchestrator applies by default to folder diffs and snapshots.
pub const DEFAULT_IGNORE: &[&str] = &[".git", "node_modules", "__pycache__", ".DS_Store"];

/// Whether `rel` (relative, `/`-separated) is left out by `patterns`.
pub fn ignored(rel: &str, patterns: &[String]) -> bool {
    let opts = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
    patterns.iter().any(|p| {
        let Ok(g) = glob::Pattern::new(p) else { return false };
        if p.contains('/') {
            g.matches_with(rel, opts) || rel.starts_with(&format!("{}/", p.trim_end_matches('/')))
        } else {
            rel.split('/').any(|part| g.matches(part))
        }
    })
}

/// Lists the regular files under `root` (a directory), sorted by path.
pub async fn list(remote: &dyn Remote, root: &Source, opts: &TreeOptions) -> Result<Vec<Entry>> {
    let mut entries = match root {
        Source::Local(p) => list_local(Path::new(p), opts)?,
        Source::Remote { alias, path } => list_remote(remote, alias, path, opts).await?,
    };
    entries.retain(|e| !ignored(&e.path, &opts.ignore));
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

async fn list_remote(remote: &dyn Remote, alias: &str, path: &str, opts: &TreeOptions) -> Result<Vec<Entry>> {
    let names: Vec<String> =
        opts.ignore.iter().filter(|p| !p.contains('/')).map(|p| format!("-name {}", shell_quote(p))).collect();
    let prune = if names.is_empty() { String::new() } else { format!("\\( {} \\) -prune -o ", names.join(" -o ")) };
    let depth = if opts.recursive { "" } else { "-maxdepth 1 " };
    let find = format!("find . -mindepth 1 {depth}{prune}-type f");
    let hashes =
        if opts.hash { format!("; printf '\\0'; {find} -print0 | xargs -0 -r sha256sum -z --") } else { String::new() };
    let script = format!(
        "d={d}; [ -e \"$d\" ] || exit {EXIT_NOT_FOUND}; [ -d \"$d\" ] || exit {EXIT_NOT_DIR}; \
         cd -- \"$d\" 2>/dev/null || exit {EXIT_DENIED}; {find} -printf '%s %m %P\\0'{hashes}",
        d = shell_quote(path),
    );
    let mut o = remote.exec_options();
    // Names and hashes only: ~100 bytes a file.
    o.capture_limit = o.capture_limit.max(64 << 20);
    let out = remote.exec(alias, &script, o, &mut |_, _| {}).await?;
    match out.exit_code {
        Some(0) => {}
        Some(EXIT_NOT_FOUND) => return Err(Error::NotFound { what: "directory", name: format!("{alias}:{path}") }),
        Some(EXIT_NOT_DIR) => return Err(Error::InvalidArgument(format!("{alias}:{path} is not a directory"))),
        Some(EXIT_DENIED) => {
            return Err(Error::PermissionDenied { alias: alias.into(), reason: format!("{path} cannot be entered") });
        }
        // find exits 1 when some subdirectory could not be read, xargs 123 when sha256sum could not
        // read some file (it then has no hash): what was listed stands.
        Some(1 | 123) if !out.stdout.truncated() => {}
        other => {
            return Err(Error::RemoteFailed {
                alias: alias.into(),
                what: format!("listing {path}"),
                exit: other.map_or(-1, i64::from),
                stderr: out.stderr.text().trim().chars().take(500).collect(),
            });
        }
    }
    if out.stdout.truncated() {
        return Err(Error::InvalidArgument(format!("{alias}:{path} has too many files to list")));
    }
    parse_listing(&out.stdout.kept_bytes()).ok_or_else(|| Error::UnexpectedOutput {
        alias: alias.into(),
        what: "tree listing".into(),
        excerpt: String::new(),
    })
}

/// `SIZE MODE PATH\0`… then, when hashed, an empty record and `HASH  ./PATH\0`….
fn parse_listing(bytes: &[u8]) -> Option<Vec<Entry>> {
    let mut records = bytes.split(|b| *b == 0);
    let mut files = BTreeMap::new();
    for r in records.by_ref() {
        if r.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(r);
        let mut it = text.splitn(3, ' ');
        let size = it.next()?.parse().ok()?;
        let mode = u32::from_str_radix(it.next()?, 8).ok()?;
        let path = it.next()?.to_string();
        files.insert(path.clone(), Entry { path, size, mode, sha256: None });
    }
    for r in records.filter(|r| r.len() > 66) {
        let text = String::from_utf8_lossy(r);
        let (hash, name) = text.split_at(64);
        let name = name.trim_start_matches(' ').trim_start_matches('*');
        let name = name.strip_prefix("./").unwrap_or(name);
        if let Some(e) = files.get_mut(name) {
            e.sha256 = Some(hash.to_string());
        }
    }
    Some(files.into_values().collect())
}

fn list_local(root: &Path, opts: &TreeOptions) -> Result<Vec<Entry>> {
    let meta = std::fs::metadata(root).map_err(|e| io_error(root, e))?;
    if !meta.is_dir() {
        return Err(Error::InvalidArgument(format!("{} is not a directory", root.display())));
    }
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let read = std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))?;
        for item in read.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            // Pruned like find's -prune: an ignored directory is not walked.
            if ignored(&rel, &opts.ignore) {
                continue;
            }
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() && opts.recursive {
                stack.push((item.path(), rel));
            } else if kind.is_file() {
                out.push(local_entry(&item.path(), rel, opts.hash)?);
            }
        }
    }
    Ok(out)
}

fn local_entry(p: &Path, rel: String, hash: bool) -> Result<Entry> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(p).map_err(|e| io_error(p, e))?;
    let sha256 = match hash {
        false => None,
        true => match hash_file(p) {
            Ok(h) => Some(h),
            Err(Error::PermissionDenied { .. } | Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
    };
    Ok(Entry { path: rel, size: meta.len(), mode: meta.permissions().mode() & 0o7777, sha256 })
}

/// sha256 of a local file, read in chunks.
pub fn hash_file(p: &Path) -> Result<String> {
    super::hash_keeping(p, 0).map(|(sha, _)| sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_patterns_match_names_anywhere_or_whole_paths() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(ignored("a/node_modules/x.js", &p(&["node_modules"])));
        assert!(ignored("logs/app.log", &p(&["*.log"])));
        assert!(!ignored("logs/app.log.txt", &p(&["*.log"])));
        assert!(ignored("build/out/a.o", &p(&["build/**"])));
        assert!(ignored("build/out/a.o", &p(&["build"])));
        assert!(!ignored("src/build.rs", &p(&["build/*"])));
    }

    #[test]
    fn a_listing_with_hashes_parses_and_odd_names_survive() {
        let h = "a".repeat(64);
        let raw = format!("5 644 a b.txt\x0012 755 dir/run\n.sh\x00\x00{h}  ./a b.txt\x00{h}  ./dir/run\n.sh\x00");
        let e = parse_listing(raw.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].path.as_str(), e[0].size, e[0].mode), ("a b.txt", 5, 0o644));
        assert_eq!((e[1].path.as_str(), e[1].sha256.as_deref()), ("dir/run\n.sh", Some(h.as_str())));
    }

    #[test]
    fn a_local_walk_prunes_and_hashes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub/node_modules")).unwrap();
        std::fs::write(d.path().join("top.txt"), "hello").unwrap();
        std::fs::write(d.path().join("sub/inner.txt"), "x").unwrap();
        std::fs::write(d.path().join("sub/node_modules/dep.js"), "x").unwrap();
        let opts = TreeOptions { recursive: true, hash: true, ignore: vec!["node_modules".into()] };
        let mut e = list_local(d.path(), &opts).unwrap();
        e.sort_by(|a, b| a.path.cmp(&b.path));
        let names: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["sub/inner.txt", "top.txt"]);
        assert_eq!(e[1].sha256.as_deref(), Some(super::super::sha256_hex(b"hello").as_str()));
        let flat = list_local(d.path(), &TreeOptions { recursive: false, hash: false, ignore: vec![] }).unwrap();
        assert_eq!(flat.len(), 1);
    }
}
