//! Expanding requested paths (files, directories, globs) into file-by-file work, and checking every
//! name a server returns.

use std::path::{Component, Path, PathBuf};

use russh_sftp::client::SftpSession;

use super::{FileOutcome, FileStatus, TransferItem};
use crate::data_dir::expand_tilde;
use crate::error::Result;

/// One file to move.
#[derive(Debug, Clone)]
pub(crate) struct FilePlan {
    pub from: String,
    pub to: String,
    pub size: u64,
    pub mode: u32,
}

/// Everything one request expands to.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub files: Vec<FilePlan>,
    /// Directories to create on the target side, with their modes.
    pub dirs: Vec<(String, u32)>,
    /// Outcomes decided while planning (not found, unsafe names, symlinks).
    pub outcomes: Vec<FileOutcome>,
}

/// True when a path holds glob syntax.
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// A name from a server's directory listing must be one plain component.
pub fn check_remote_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!("unsafe name {name:?} returned by the server"));
    }
    Ok(())
}

fn join_remote(base: &str, rel: &str) -> String {
    if base.is_empty() || base == "." {
        return rel.to_string();
    }
    format!("{}/{}", base.trim_end_matches('/'), rel)
}

fn remote_basename(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

fn failed(from: &str, to: &str, code: &str, reason: String) -> FileOutcome {
    FileOutcome {
        from: from.into(),
        to: to.into(),
        status: FileStatus::Failed,
        bytes: 0,
        code: Some(code.into()),
        reason: Some(reason),
    }
}

fn skipped(from: &str, to: &str, reason: &str) -> FileOutcome {
    FileOutcome {
        from: from.into(),
        to: to.into(),
        status: FileStatus::Skipped,
        bytes: 0,
        code: None,
        reason: Some(reason.into()),
    }
}

async fn remote_is_dir(sftp: &SftpSession, path: &str) -> bool {
    sftp.metadata(path).await.is_ok_and(|m| m.is_dir())
}

/// Relative path of `p` under `base`, with `/` separators.
fn rel_path(p: &Path, base: &Path) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

pub(crate) async fn plan_upload(sftp: &SftpSession, item: &TransferItem) -> Result<Plan> {
    use std::os::unix::fs::PermissionsExt;
    let mut plan = Plan::default();
    let local = expand_tilde(&item.local);
    let local_str = local.to_string_lossy().into_owned();
    if is_glob(&local_str) {
        // The part before the first glob component is the base; matches keep their layout under it.
        let base: PathBuf = local.components().take_while(|c| !is_glob(&c.as_os_str().to_string_lossy())).collect();
        let paths =
            glob::glob(&local_str).map_err(|e| crate::Error::InvalidArgument(format!("pattern {local_str:?}: {e}")))?;
        let mut any = false;
        for p in paths.flatten() {
            let Ok(meta) = std::fs::metadata(&p) else { continue };
            if meta.is_file() {
                any = true;
                let to = join_remote(&item.remote, &rel_path(&p, &base));
                plan.files.push(FilePlan {
                    from: p.to_string_lossy().into_owned(),
                    to,
                    size: meta.len(),
                    mode: meta.permissions().mode() & 0o7777,
                });
            }
        }
        if !any {
            plan.outcomes.push(failed(
                &local_str,
                &item.remote,
                "NOT_FOUND",
                "no local file matches the pattern".into(),
            ));
        }
        return Ok(plan);
    }
    let meta = match std::fs::metadata(&local) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::PermissionDenied { "PERMISSION_DENIED" } else { "NOT_FOUND" };
            plan.outcomes.push(failed(&local_str, &item.remote, code, e.to_string()));
            return Ok(plan);
        }
    };
    let into_dir = item.remote.ends_with('/') || remote_is_dir(sftp, &item.remote).await;
    let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = if into_dir { join_remote(&item.remote, &name) } else { item.remote.clone() };
    if meta.is_file() {
        plan.files.push(FilePlan {
            from: local_str,
            to: target,
            size: meta.len(),
            mode: meta.permissions().mode() & 0o7777,
        });
        return Ok(plan);
    }
    // A directory: its tree, layout and modes kept.
    plan.dirs.push((target.clone(), meta.permissions().mode() & 0o7777));
    let mut stack = vec![local.clone()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                plan.outcomes.push(failed(&dir.to_string_lossy(), &target, "PERMISSION_DENIED", e.to_string()));
                continue;
            }
        };
        for e in entries.flatten() {
            let p = e.path();
            let to = join_remote(&target, &rel_path(&p, &local));
            let Ok(ft) = e.file_type() else { continue };
            let Ok(m) = std::fs::metadata(&p) else {
                plan.outcomes.push(skipped(&p.to_string_lossy(), &to, "dangling symlink"));
                continue;
            };
            if ft.is_symlink() && m.is_dir() {
                plan.outcomes.push(skipped(&p.to_string_lossy(), &to, "symlink to a directory not followed"));
            } else if m.is_dir() {
                plan.dirs.push((to, m.permissions().mode() & 0o7777));
                stack.push(p);
            } else if m.is_file() {
                plan.files.push(FilePlan {
                    from: p.to_string_lossy().into_owned(),
                    to,
                    size: m.len(),
                    mode: m.permissions().mode() & 0o7777,
                });
            }
        }
    }
    Ok(plan)
}

pub(crate) async fn plan_download(sftp: &SftpSession, item: &TransferItem) -> Result<Plan> {
    let mut plan = Plan::default();
    let local = expand_tilde(&item.local);
    if is_glob(&item.remote) {
        let comps: Vec<&str> = item.remote.split('/').collect();
        let first_glob = comps.iter().position(|c| is_glob(c)).unwrap_or(comps.len());
        let base = comps[..first_glob].join("/");
        let base = if base.is_empty() && item.remote.starts_with('/') { "/".to_string() } else { base };
        let pattern = glob::Pattern::new(&comps[first_glob..].join("/"))
            .map_err(|e| crate::Error::InvalidArgument(format!("pattern {:?}: {e}", item.remote)))?;
        let recursive = item.remote.contains("**");
        let depth = comps.len() - first_glob;
        let opts = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
        let listing_base = if base.is_empty() { "." } else { base.as_str() };
        let before = plan.files.len();
        walk_remote(sftp, listing_base, "", &local, &mut plan, &mut |rel| {
            (pattern.matches_with(rel, opts), recursive || rel.matches('/').count() + 1 < depth)
        })
        .await;
        if plan.files.len() == before && plan.outcomes.is_empty() {
            plan.outcomes.push(failed(
                &item.remote,
                &item.local,
                "NOT_FOUND",
                "no remote file matches the pattern".into(),
            ));
        }
        return Ok(plan);
    }
    let meta = match sftp.metadata(item.remote.as_str()).await {
        Ok(m) => m,
        Err(e) => {
            let (code, reason) = sftp_error(&e);
            plan.outcomes.push(failed(&item.remote, &item.local, code, reason));
            return Ok(plan);
        }
    };
    let into_dir = item.local.ends_with('/') || local.is_dir();
    let name = remote_basename(&item.remote);
    let target = if into_dir { local.join(name) } else { local.clone() };
    if !meta.is_dir() {
        plan.files.push(FilePlan {
            from: item.remote.clone(),
            to: target.to_string_lossy().into_owned(),
            size: meta.size.unwrap_or(0),
            mode: meta.permissions.unwrap_or(0o644) & 0o777,
        });
        return Ok(plan);
    }
    plan.dirs.push((target.to_string_lossy().into_owned(), meta.permissions.unwrap_or(0o755) & 0o777));
    walk_remote(sftp, &item.remote, "", &target, &mut plan, &mut |_| (true, true)).await;
    Ok(plan)
}

/// Walks a remote tree. `want(rel)` says whether to take a file and whether to descend into a dir.
/// Local targets are `root/rel`, built only from names that passed [`check_remote_name`].
async fn walk_remote(
    sftp: &SftpSession,
    base: &str,
    rel: &str,
    root: &Path,
    plan: &mut Plan,
    want: &mut (dyn FnMut(&str) -> (bool, bool) + Send),
) {
    let mut stack = vec![rel.to_string()];
    while let Some(rel) = stack.pop() {
        let dir = join_remote(base, &rel);
        let entries = match sftp.read_dir(dir.as_str()).await {
            Ok(e) => e,
            Err(e) => {
                let (code, reason) = sftp_error(&e);
                plan.outcomes.push(failed(&dir, &root.to_string_lossy(), code, reason));
                continue;
            }
        };
        for e in entries {
            let name = e.file_name();
            let remote = join_remote(&dir, &name);
            if let Err(why) = check_remote_name(&name) {
                plan.outcomes.push(failed(&remote, &root.to_string_lossy(), "TRANSFER_FAILED", why));
                continue;
            }
            let child_rel = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let target = safe_local(root, &child_rel);
            let meta = e.metadata();
            let (take, descend) = want(&child_rel);
            if meta.is_symlink() {
                if take {
                    plan.outcomes.push(skipped(&remote, &target.to_string_lossy(), "symlink not followed"));
                }
            } else if meta.is_dir() {
                if descend {
                    if take || descend {
                        plan.dirs
                            .push((target.to_string_lossy().into_owned(), meta.permissions.unwrap_or(0o755) & 0o777));
                    }
                    stack.push(child_rel);
                }
            } else if take {
                plan.files.push(FilePlan {
                    from: remote,
                    to: target.to_string_lossy().into_owned(),
                    size: meta.size.unwrap_or(0),
                    mode: meta.permissions.unwrap_or(0o644) & 0o777,
                });
            }
        }
    }
}

/// `root/rel` where every component of `rel` is a plain name (checked again here: defence in depth).
fn safe_local(root: &Path, rel: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for c in Path::new(rel).components() {
        if let Component::Normal(n) = c {
            p.push(n);
        }
    }
    debug_assert!(p.starts_with(root));
    p
}

/// Stable code and message for an SFTP error.
pub(crate) fn sftp_error(e: &russh_sftp::client::error::Error) -> (&'static str, String) {
    use russh_sftp::protocol::StatusCode;
    let code = match e {
        russh_sftp::client::error::Error::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => "NOT_FOUND",
            StatusCode::PermissionDenied => "PERMISSION_DENIED",
            _ if s.error_message.to_ascii_lowercase().contains("space") => "NO_SPACE",
            _ => "TRANSFER_FAILED",
        },
        _ => "TRANSFER_FAILED",
    };
    (code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for bad in ["", ".", "..", "a/b", "../etc", "/abs", "x\0y"] {
            assert!(check_remote_name(bad).is_err(), "{bad:?}");
        }
        for ok in ["file", ".hidden", "a b", "..double", "naïve"] {
            assert!(check_remote_name(ok).is_ok(), "{ok:?}");
        }
        let root = Path::new("/tmp/dl");
        assert_eq!(safe_local(root, "a/../../etc/passwd"), Path::new("/tmp/dl/a/etc/passwd"));
        assert_eq!(safe_local(root, "/etc/passwd"), Path::new("/tmp/dl/etc/passwd"));
    }

    #[test]
    fn remote_paths() {
        assert_eq!(join_remote("/srv/", "a/b"), "/srv/a/b");
        assert_eq!(join_remote(".", "a"), "a");
        assert_eq!(remote_basename("/var/log/app/"), "app");
        assert!(is_glob("*.log") && is_glob("logs/**/x.json") && !is_glob("/etc/hosts"));
    }
}
