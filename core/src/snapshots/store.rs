//! The snapshot store in the data dir: `snapshots/objects/<2 hex>/<62 hex>` holds each content once,
//! named by its sha256 (0600: contents may be secrets); `snapshots/<id>.json` is one snapshot's
//! manifest. Crash safety comes from the order of writes: objects are written under a temporary name,
//! fsynced and renamed into place, then the manifest is written atomically; a kill at any moment
//! leaves at worst unreferenced objects or temporary files, which the next collection removes.
//! Creators hold the store's lock shared, collection holds it exclusive, so a collection never removes
//! the objects of a snapshot being made.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::Snapshot;
use crate::data_dir::{FileLock, atomic_write};
use crate::error::{Error, Result};
use crate::files::sha256_hex;

/// What a collection freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Freed {
    /// Objects removed.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The store of one data dir.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

fn mkdir(dir: &Path) -> Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| Error::io("cannot create", dir, e))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Store {
    /// The store under `data_root` (created 0700 on first use).
    pub fn open(data_root: &Path) -> Result<Store> {
        let root = data_root.join("snapshots");
        mkdir(&root.join("objects"))?;
        Ok(Store { root })
    }

    /// Holds off collections while a snapshot is made.
    pub fn lock_shared(&self) -> Result<FileLock> {
        FileLock::shared(&self.root.join("store"))
    }

    fn object_path(&self, sha: &str) -> PathBuf {
        self.root.join("objects").join(&sha[..2]).join(&sha[2..])
    }

    /// Whether the store holds `sha`.
    pub fn has(&self, sha: &str) -> bool {
        sha.len() == 64 && self.object_path(sha).is_file()
    }

    /// Keeps `data`; returns its sha256. Written under a temporary name, fsynced, renamed.
    pub fn put(&self, data: &[u8]) -> Result<String> {
        let sha = sha256_hex(data);
        let path = self.object_path(&sha);
        if path.is_file() {
            return Ok(sha);
        }
        let dir = path.parent().expect("objects have a directory");
        mkdir(dir)?;
        let tmp = dir.join(format!(".tmp.{}.{}", std::process::id(), &sha[2..18]));
        let written = (|| {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io("cannot write snapshot object", &path, e));
        }
        Ok(sha)
    }

    /// The content named `sha`, checked against its name.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>> {
        if sha.len() != 64 {
            return Err(Error::InvalidArgument(format!("{sha:?} is not a sha256")));
        }
        let path = self.object_path(sha);
        let data = fs::read(&path).map_err(|e| Error::io("cannot read snapshot object", &path, e))?;
        if sha256_hex(&data) != sha {
            return Err(Error::DataCorrupt { path, reason: "content does not match its sha256".into() });
        }
        Ok(data)
    }

    /// Records a snapshot (atomically; after its objects).
    pub fn save(&self, snap: &Snapshot) -> Result<()> {
        let text = serde_json::to_vec_pretty(snap).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        atomic_write(&self.root.join(format!("{}.json", snap.id)), &text, 0o600)
    }

    /// Every snapshot, newest first. A manifest that does not parse is skipped and logged.
    pub fn list(&self) -> Result<Vec<Snapshot>> {
        let mut out = Vec::new();
        let dir = fs::read_dir(&self.root).map_err(|e| Error::io("cannot list", &self.root, e))?;
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else { continue };
            if !valid_id(id) {
                continue;
            }
            match fs::read(entry.path()).map(|b| serde_json::from_slice::<Snapshot>(&b)) {
                Ok(Ok(s)) => out.push(s),
                Ok(Err(e)) => {
                    tracing::warn!(file = %entry.path().display(), error = %e, "unreadable snapshot manifest")
                }
                Err(e) => tracing::warn!(file = %entry.path().display(), error = %e, "cannot read snapshot manifest"),
            }
        }
        out.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then_with(|| b.id.cmp(&a.id)));
        Ok(out)
    }

    /// A snapshot by id, or the newest with that tag.
    pub fn find(&self, key: &str) -> Result<Snapshot> {
        if valid_id(key) {
            let path = self.root.join(format!("{key}.json"));
            if let Ok(bytes) = fs::read(&path) {
                return serde_json::from_slice(&bytes)
                    .map_err(|e| Error::DataCorrupt { path: path.clone(), reason: e.to_string() });
            }
        }
        self.list()?
            .into_iter()
            .find(|s| s.tag.as_deref() == Some(key))
            .ok_or_else(|| Error::NotFound { what: "snapshot", name: key.to_string() })
    }

    /// Removes a snapshot, then every object no snapshot references.
    pub fn delete(&self, id: &str) -> Result<(Snapshot, Freed)> {
        let _lock = FileLock::exclusive(&self.root.join("store"))?;
        let snap = self.find(id)?;
        let path = self.root.join(format!("{}.json", snap.id));
        fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
        let freed = self.collect()?;
        Ok((snap, freed))
    }

    /// Removes unreferenced objects and leftover temporary files. The caller holds the lock exclusive.
    fn collect(&self) -> Result<Freed> {
        let live: std::collections::HashSet<String> =
            self.list()?.into_iter().flat_map(|s| s.files.into_iter().map(|f| f.sha256)).collect();
        let mut freed = Freed::default();
        let objects = self.root.join("objects");
        for sub in fs::read_dir(&objects).map_err(|e| Error::io("cannot list", &objects, e))?.flatten() {
            let prefix = sub.file_name().to_string_lossy().into_owned();
            for obj in fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                let name = obj.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp.") || !live.contains(&format!("{prefix}{name}")) {
                    let size = obj.metadata().map(|m| m.len()).unwrap_or(0);
                    if fs::remove_file(obj.path()).is_ok() && !name.starts_with(".tmp.") {
                        freed.objects += 1;
                        freed.bytes += size;
                    }
                }
            }
            let _ = fs::remove_dir(sub.path()); // only when empty
        }
        Ok(freed)
    }

    /// Objects and their bytes (for listings).
    pub fn usage(&self) -> (usize, u64) {
        let objects = self.root.join("objects");
        let mut n = (0, 0);
        for sub in fs::read_dir(&objects).into_iter().flatten().flatten() {
            for obj in fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                if !obj.file_name().to_string_lossy().starts_with(".tmp.") {
                    n.0 += 1;
                    n.1 += obj.metadata().map(|m| m.len()).unwrap_or(0);
                }
            }
        }
        n
    }
}
