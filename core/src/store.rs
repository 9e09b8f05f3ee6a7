//! A JSON object file of named entries (`servers.json`, `apis.json`, `groups.json`): read under a
//! shared lock, changed under an exclusive lock with an atomic replace, mode 0600 (these files hold
//! secrets). The parsed entries are kept and reused while the file is unchanged (same inode, size and
//! mtime; every write is a rename, so it always gets a new inode): a job reads the registry at submit
//! and at run, and a fan-out once per host.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::data_dir::{FileLock, atomic_write};
use crate::error::{Error, Result};

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        }
    }
}

type Cached<T> = Arc<Mutex<Option<(Stamp, BTreeMap<String, T>)>>>;

/// The file, typed by its entries. Clones share the cache.
#[derive(Debug, Clone)]
pub struct MapFile<T> {
    path: PathBuf,
    cache: Cached<T>,
}

impl<T: Serialize + DeserializeOwned + Clone> MapFile<T> {
    /// The file at `path` (it need not exist: absent means empty).
    pub fn new(path: PathBuf) -> Self {
        MapFile { path, cache: Arc::default() }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, by name.
    pub fn load(&self) -> Result<BTreeMap<String, T>> {
        let _lock = FileLock::shared(&self.path)?;
        self.read()
    }

    /// A locked read-modify-write; the file is replaced only when `f` succeeds.
    pub fn modify<R>(&self, f: impl FnOnce(&mut BTreeMap<String, T>) -> Result<R>) -> Result<R> {
        let _lock = FileLock::exclusive(&self.path)?;
        let mut map = self.read()?;
        let out = f(&mut map)?;
        let mut json = serde_json::to_vec_pretty(&map).expect("entries serialize");
        json.push(b'\n');
        atomic_write(&self.path, &json, 0o600)?;
        if let Ok(m) = std::fs::metadata(&self.path) {
            *self.cache.lock().expect("lock") = Some((Stamp::of(&m), map));
        }
        Ok(out)
    }

    /// Reads the file (the caller holds its lock), or returns the cached entries of this version.
    fn read(&self) -> Result<BTreeMap<String, T>> {
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => Stamp::of(&m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(Error::io("cannot read", &self.path, e)),
        };
        if let Some((s, map)) = self.cache.lock().expect("lock").as_ref()
            && *s == now
        {
            return Ok(map.clone());
        }
        let bytes = std::fs::read(&self.path).map_err(|e| Error::io("cannot read", &self.path, e))?;
        let map: BTreeMap<String, T> = if bytes.iter().all(u8::is_ascii_whitespace) {
            BTreeMap::new()
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })?
        };
        *self.cache.lock().expect("lock") = Some((now, map.clone()));
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_is_seen_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let a: MapFile<u32> = MapFile::new(path.clone());
        let b: MapFile<u32> = MapFile::new(path.clone());
        assert!(a.load().unwrap().is_empty(), "absent is empty");
        a.modify(|m| Ok(m.insert("x".into(), 1))).unwrap();
        assert_eq!(b.load().unwrap()["x"], 1, "another handle (another process) sees the write");
        b.modify(|m| Ok(m.insert("x".into(), 2))).unwrap();
        assert_eq!(a.load().unwrap()["x"], 2, "a cached handle sees a newer file");
        // An editor rewriting the file in place (same inode) with other content is seen too.
        std::fs::write(&path, "{\"x\": 30}").unwrap();
        assert_eq!(a.load().unwrap()["x"], 30);
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(a.load().unwrap_err().code(), "DATA_CORRUPT");
    }
}
