//! The data directory: where it is, creating it private, atomic file replacement and advisory locks.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The directory holding `servers.json`, `known_hosts`, `config.toml`, `logs/` and (later) `jobs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Uses `root`, creating it (and missing parents) with mode 0700. An existing directory that others
    /// can read is tightened to 0700, since it holds secrets.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&root)
                .map_err(|e| Error::io("cannot create data dir", &root, e))?;
        }
        let meta = fs::metadata(&root).map_err(|e| Error::io("cannot read data dir", &root, e))?;
        if !meta.is_dir() {
            return Err(Error::InvalidArgument(format!("data dir {} is not a directory", root.display())));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::info!(dir = %root.display(), "tightening data dir permissions to 0700");
            fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("cannot chmod data dir", &root, e))?;
        }
        Ok(DataDir { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `servers.json`.
    pub fn servers_file(&self) -> PathBuf {
        self.root.join("servers.json")
    }

    /// sshdeck's own `known_hosts`.
    pub fn known_hosts_file(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// Optional `config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `logs/`, created 0700 on demand.
    pub fn logs_dir(&self) -> Result<PathBuf> {
        self.subdir("logs")
    }

    /// `jobs/`, created 0700 on demand.
    pub fn jobs_dir(&self) -> Result<PathBuf> {
        self.subdir("jobs")
    }

    /// `runtime/`, created 0700 on demand.
    pub fn runtime_dir(&self) -> Result<PathBuf> {
        self.subdir("runtime")
    }

    fn subdir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.root.join(name);
        if !dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io("cannot create", &dir, e))?;
        }
        Ok(dir)
    }
}

/// Replaces `path` with `contents` so that a reader (or a crash) sees either the old or the new file,
/// never a mix: write a temporary file beside it with `mode`, fsync, rename over, fsync the directory.
/// Callers that share the file with other processes hold its [`FileLock`] around read-modify-write.
pub fn atomic_write(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let prefix = format!(".{name}.tmp.");
    remove_stray_temps(dir, &prefix);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        // `mode` only applies at creation; a stale temp file may have other bits.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io("cannot write", path, e))
}

/// Removes `<prefix><pid>` files left by writers that died (killed between writing and renaming).
fn remove_stray_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && crate::process::proc_start_ticks(pid).is_none() {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Sets a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("cannot chmod", path, e))
}

/// An advisory lock on `<file>.lock`, held until dropped. Works between processes (a killed holder
/// releases it) and between threads of one process (each guard opens its own descriptor).
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the exclusive lock guarding `target`, waiting for other holders.
    pub fn exclusive(target: &Path) -> Result<Self> {
        let lock = Self::open(target)?;
        lock.file.lock().map_err(|e| Error::io("cannot lock", &lock.path, e))?;
        Ok(lock)
    }

    /// Takes the exclusive lock guarding `target` if nobody holds it; `None` when someone does.
    pub fn try_exclusive(target: &Path) -> Result<Option<Self>> {
        let lock = Self::open(target)?;
        match lock.file.try_lock() {
            Ok(()) => Ok(Some(lock)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", &lock.path, e)),
        }
    }

    /// Takes the shared (reader) lock guarding `target`, waiting for a writer.
    pub fn shared(target: &Path) -> Result<Self> {
        let lock = Self::open(target)?;
        lock.file.lock_shared().map_err(|e| Error::io("cannot lock", &lock.path, e))?;
        Ok(lock)
    }

    fn open(target: &Path) -> Result<Self> {
        let mut name = target.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("cannot open lock file", &path, e))?;
        Ok(FileLock { file, path })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Expands a leading `~` or `~/` to the home directory; other paths are returned unchanged.
pub fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" {
        return home_dir().unwrap_or_else(|| PathBuf::from(path));
    }
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = home_dir()
    {
        return home.join(rest);
    }
    PathBuf::from(path)
}

/// The user's home directory.
pub fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_private_dir_and_tightens_existing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let dd = DataDir::open(&dir).unwrap();
        assert_eq!(fs::metadata(dd.root()).unwrap().permissions().mode() & 0o777, 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        DataDir::open(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_stray_temp_file_of_a_dead_writer_is_removed_by_the_next_write() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("servers.json");
        let mut dead = std::process::Command::new("true").spawn().unwrap();
        let pid = dead.id();
        dead.wait().unwrap();
        let stray = tmp.path().join(format!(".servers.json.tmp.{pid}"));
        fs::write(&stray, "half").unwrap();
        let other = tmp.path().join(".servers.json.tmp.notapid");
        fs::write(&other, "x").unwrap();
        atomic_write(&f, b"{}", 0o600).unwrap();
        assert!(!stray.exists(), "removed");
        assert!(other.exists(), "only names with a pid are touched");
    }

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("servers.json");
        atomic_write(&f, b"one", 0o600).unwrap();
        atomic_write(&f, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn exclusive_lock_excludes_other_descriptors() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("x");
        let guard = FileLock::exclusive(&f).unwrap();
        let other = FileLock::open(&f).unwrap();
        assert!(other.file.try_lock().is_err(), "second exclusive lock must fail while held");
        drop(guard);
        assert!(other.file.try_lock().is_ok());
    }

    #[test]
    fn tilde_expansion() {
        let home = home_dir().unwrap();
        assert_eq!(expand_tilde("~/x"), home.join("x"));
        assert_eq!(expand_tilde("/abs"), PathBuf::from("/abs"));
        assert_eq!(expand_tilde("~user/x"), PathBuf::from("~user/x"));
    }
}
