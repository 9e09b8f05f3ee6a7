//! A JSON object file of named entries (`servers.json`, `apis.json`): read under a shared lock,
//! changed under an exclusive lock with an atomic replace, mode 0600 (these files hold secrets).

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::data_dir::{FileLock, atomic_write};
use crate::error::{Error, Result};

/// The file, typed by its entries.
#[derive(Debug, Clone)]
pub struct MapFile<T> {
    path: PathBuf,
    entry: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> MapFile<T> {
    /// The file at `path` (it need not exist: absent means empty).
    pub fn new(path: PathBuf) -> Self {
        MapFile { path, entry: PhantomData }
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
        Ok(out)
    }

    fn read(&self) -> Result<BTreeMap<String, T>> {
        match std::fs::read(&self.path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(BTreeMap::new()),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::io("cannot read", &self.path, e)),
        }
    }
}
