//! Snapshots of files and directories, on a server or on this machine, kept in the data dir's
//! content-addressed [`store`]: taken before a change, compared with each other, restored (dry run
//! first; each file written atomically with its mode; to the same place or another server).
//! Unchanged contents are stored once, and a snapshot only fetches what the store lacks.

mod compare;
mod fetch;
pub mod store;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::tree::{self, TreeOptions};
use crate::files::{self, Source, WriteOptions};
use crate::jobs::{format_time, now_ms};
use crate::remote::Remote;
pub use compare::{Changed, SnapshotDiff, diff};
pub use store::{Freed, Store};

/// Where a snapshot was taken or is restored: this machine or a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// `local` or `remote`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The server, for `remote`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl Side {
    /// This machine.
    pub fn local() -> Side {
        Side { kind: "local".into(), alias: None }
    }

    /// A server.
    pub fn remote(alias: &str) -> Side {
        Side { kind: "remote".into(), alias: Some(alias.into()) }
    }

    /// Checks the kind and the alias.
    pub fn checked(kind: &str, alias: Option<&str>) -> Result<Side> {
        match (kind, alias) {
            ("local", _) => Ok(Side::local()),
            ("remote", Some(a)) if !a.is_empty() => Ok(Side::remote(a)),
            ("remote", _) => Err(Error::InvalidArgument("a remote side needs its alias".into())),
            (other, _) => Err(Error::InvalidArgument(format!("type {other:?}: expected local or remote"))),
        }
    }

    /// `path` on this side.
    pub fn source(&self, path: &str) -> Source {
        match &self.alias {
            Some(alias) if self.kind == "remote" => Source::Remote { alias: alias.clone(), path: path.into() },
            _ => Source::Local(path.into()),
        }
    }

    /// `alias` or `local`.
    pub fn name(&self) -> &str {
        self.alias.as_deref().filter(|_| self.kind == "remote").unwrap_or("local")
    }
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapFile {
    /// Its path where it was taken.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// sha256 of its content (the object's name).
    pub sha256: String,
}

/// A snapshot's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Id.
    pub id: String,
    /// Optional tag (a name to find it by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Optional message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where it was taken.
    pub source: Side,
    /// The paths asked for (files or directories): restores stay under them.
    pub paths: Vec<String>,
    /// Taken at (ms since the epoch).
    pub created_ms: u64,
    /// Taken at, RFC 3339.
    pub created_at: String,
    /// Every file, sorted by path.
    pub files: Vec<SnapFile>,
    /// Sum of file sizes.
    pub bytes: u64,
}

/// How snapshots are taken.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// Descend into subdirectories.
    pub recursive: bool,
    /// Names or paths to leave out.
    pub ignore: Vec<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Largest total size (`SNAPSHOT_MAX_BYTES`).
    pub max_bytes: u64,
    /// Most files (`SNAPSHOT_MAX_FILES`).
    pub max_files: usize,
    /// The operator's policy: files under its `deny_paths` are left out (and listed as such).
    pub policy: Option<crate::policy::Policy>,
}

/// What a snapshot took: the manifest, and how much was new to the store.
#[derive(Debug, Clone)]
pub struct Created {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Objects fetched and stored (the rest were already there).
    pub new_objects: usize,
    /// Their bytes.
    pub new_bytes: u64,
    /// Files left out because the policy denies their paths.
    pub denied: Vec<String>,
    /// Files left out because they could not be read (permission).
    pub unreadable: Vec<String>,
}

fn join(root: &str, rel: &str) -> String {
    format!("{}/{rel}", root.trim_end_matches('/'))
}

/// The files under each of `paths` on `side` (a path may be a file or a directory), and those that
/// could not be read.
async fn files_of(
    remote: &dyn Remote,
    side: &Side,
    paths: &[String],
    opts: &CreateOptions,
) -> Result<(Vec<SnapFile>, Vec<String>)> {
    let mut unreadable = Vec::new();
    let t = TreeOptions { recursive: opts.recursive, hash: true, ignore: opts.ignore.clone() };
    let mut files = BTreeMap::new();
    for root in paths {
        let src = side.source(root);
        match tree::list(remote, &src, &t).await {
            Ok(entries) => {
                for e in entries {
                    let path = join(root, &e.path);
                    let Some(sha256) = e.sha256 else {
                        unreadable.push(path);
                        continue;
                    };
                    files.insert(path.clone(), SnapFile { path, size: e.size, mode: e.mode, sha256 });
                }
            }
            Err(Error::InvalidArgument(m)) if m.ends_with("is not a directory") => {
                let r = files::read(remote, &src, 0).await?;
                files.insert(
                    root.clone(),
                    SnapFile { path: root.clone(), size: r.size, mode: r.mode, sha256: r.sha256 },
                );
            }
            Err(e) => return Err(e),
        }
        if files.len() > opts.max_files {
            return Err(Error::InvalidArgument(format!(
                "more than {} files (SNAPSHOT_MAX_FILES): narrow the paths or add ignorePatterns",
                opts.max_files
            )));
        }
    }
    let bytes: u64 = files.values().map(|f| f.size).sum();
    if bytes > opts.max_bytes {
        return Err(Error::InvalidArgument(format!(
            "{bytes} bytes is more than SNAPSHOT_MAX_BYTES ({}): narrow the paths or add ignorePatterns",
            opts.max_bytes
        )));
    }
    Ok((files.into_values().collect(), unreadable))
}

/// Takes a snapshot of `paths` on `side`.
pub async fn create(
    remote: &dyn Remote,
    store: &Store,
    side: &Side,
    paths: &[String],
    opts: &CreateOptions,
) -> Result<Created> {
    if paths.is_empty() {
        return Err(Error::InvalidArgument("paths is empty".into()));
    }
    if let Some(policy) = &opts.policy {
        paths.iter().try_for_each(|p| policy.check_path(p))?;
    }
    let (listed, unreadable) = files_of(remote, side, paths, opts).await?;
    let (mut files, left_out): (Vec<SnapFile>, Vec<SnapFile>) =
        listed.into_iter().partition(|f| opts.policy.as_ref().is_none_or(|p| p.check_path(&f.path).is_ok()));
    let denied = left_out.into_iter().map(|f| f.path).collect();
    let _lock = store.lock_shared()?;
    let missing: Vec<String> = {
        let mut seen = HashSet::new();
        files
            .iter()
            .filter(|f| !store.has(&f.sha256) && seen.insert(f.sha256.clone()))
            .map(|f| f.path.clone())
            .collect()
    };
    // What was stored for each fetched path (a file changed since it was hashed keeps what was read).
    let mut stored: HashMap<String, (String, u64)> = HashMap::new();
    let mut put = |path: &str, content: Option<Vec<u8>>| -> Result<()> {
        let content = content.ok_or_else(|| Error::NotFound { what: "file", name: path.to_string() })?;
        let sha = store.put(&content)?;
        stored.insert(path.to_string(), (sha, content.len() as u64));
        Ok(())
    };
    match &side.alias {
        Some(alias) if side.kind == "remote" => fetch::fetch(remote, alias, &missing, &mut put).await?,
        _ => {
            for p in &missing {
                let content = std::fs::read(p).ok();
                put(p, content)?;
            }
        }
    }
    let (new_objects, new_bytes) = (stored.len(), stored.values().map(|(_, n)| n).sum());
    for f in &mut files {
        if let Some((sha, size)) = stored.remove(&f.path) {
            (f.sha256, f.size) = (sha, size);
        }
    }
    let created_ms = now_ms();
    let snapshot = Snapshot {
        id: format!("snap-{}", crate::jobs::JobId::random()),
        tag: opts.tag.clone(),
        message: opts.message.clone(),
        source: side.clone(),
        paths: paths.to_vec(),
        created_ms,
        created_at: format_time(created_ms),
        bytes: files.iter().map(|f| f.size).sum(),
        files,
    };
    store.save(&snapshot)?;
    Ok(Created { snapshot, new_objects, new_bytes, denied, unreadable })
}

/// One file of a restore plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    /// Path on the target.
    pub path: String,
    /// `create` (missing there), `overwrite` (other content there), `mode` (same content, other
    /// permissions) or `unchanged`.
    pub action: &'static str,
    /// Size of the snapshot's content.
    pub size: u64,
    /// Mode it gets.
    pub mode: String,
}

/// Whether `path` lies under one of `roots` without climbing out of it.
fn inside(path: &str, roots: &[String]) -> bool {
    !path.split('/').any(|part| part == "..")
        && roots.iter().any(|r| path == r || path.starts_with(&format!("{}/", r.trim_end_matches('/'))))
}

/// What restoring `snap` (only `only`, when given: files or directories) to `target` would do.
pub async fn plan(remote: &dyn Remote, snap: &Snapshot, target: &Side, only: &[String]) -> Result<Vec<Planned>> {
    let chosen: Vec<&SnapFile> = snap.files.iter().filter(|f| only.is_empty() || inside(&f.path, only)).collect();
    if let Some(bad) = chosen.iter().find(|f| !inside(&f.path, &snap.paths)) {
        return Err(Error::InvalidArgument(format!("{} lies outside the snapshot's paths: refused", bad.path)));
    }
    let paths: Vec<String> = chosen.iter().map(|f| f.path.clone()).collect();
    let current: HashMap<String, Option<(String, u32)>> = match &target.alias {
        Some(alias) if target.kind == "remote" => fetch::hashes(remote, alias, &paths).await?,
        _ => paths
            .iter()
            .map(|p| {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::symlink_metadata(p).ok().filter(|m| m.is_file()).map(|m| m.permissions().mode());
                let now = mode.and_then(|m| Some((tree::hash_file(std::path::Path::new(p)).ok()?, m & 0o7777)));
                (p.clone(), now)
            })
            .collect(),
    };
    Ok(chosen
        .iter()
        .map(|f| {
            let action = match current.get(&f.path).cloned().flatten() {
                None => "create",
                Some((h, m)) if h == f.sha256 && m == f.mode => "unchanged",
                Some((h, _)) if h == f.sha256 => "mode",
                Some(_) => "overwrite",
            };
            Planned { path: f.path.clone(), action, size: f.size, mode: format!("{:04o}", f.mode) }
        })
        .collect())
}

/// Writes the planned files that differ, each atomically with its mode (parent directories created).
/// Returns how many were written; stops at the first failure.
pub async fn restore(
    remote: &dyn Remote,
    store: &Store,
    snap: &Snapshot,
    target: &Side,
    planned: &[Planned],
) -> Result<usize> {
    let modes: HashMap<&str, &SnapFile> = snap.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut written = 0;
    for p in planned.iter().filter(|p| p.action != "unchanged") {
        let f = modes[p.path.as_str()];
        let data = store.get(&f.sha256)?;
        let opts = WriteOptions { create_dirs: true, expected_hash: None, mode: Some(f.mode) };
        files::write(remote, &target.source(&f.path), &data, &opts).await?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_stay_inside_the_snapshot_roots() {
        let roots = vec!["/etc/nginx".to_string(), "/srv/app.conf".to_string()];
        assert!(inside("/etc/nginx/nginx.conf", &roots));
        assert!(inside("/srv/app.conf", &roots));
        assert!(!inside("/etc/nginx/../shadow", &roots));
        assert!(!inside("/etc/nginxx/a", &roots));
        assert!(!inside("/srv/app.conf.d/x", &roots));
    }
}
