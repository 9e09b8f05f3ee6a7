//! File snapshots for the front ends: the store of this data dir, the settings' limits, the
//! operator's `deny_paths`, a server's `readonly` flag, checked the same way for MCP and the CLI.

use super::Deck;
use crate::error::{Error, Result};
use crate::files::tree::DEFAULT_IGNORE;
use crate::policy::Policy;
use crate::snapshots::{self, CreateOptions, Created, Planned, Side, Snapshot, Store};

impl Deck {
    /// The data dir's snapshot store.
    pub fn snapshot_store(&self) -> Result<Store> {
        Store::open(self.inner.data_dir.root())
    }

    /// Options with this data dir's limits and policy; `ignore` defaults to Node's patterns.
    pub fn snapshot_options(&self, recursive: bool, ignore: Option<Vec<String>>) -> CreateOptions {
        let s = self.settings();
        CreateOptions {
            recursive,
            ignore: ignore.unwrap_or_else(|| DEFAULT_IGNORE.iter().map(|p| p.to_string()).collect()),
            tag: None,
            message: None,
            max_bytes: s.snapshot_max_bytes,
            max_files: s.snapshot_max_files,
            policy: Some(Policy::new(self.inner.data_dir.root())),
        }
    }

    /// Takes a snapshot of `paths` on `side` (a registered server, or here).
    pub async fn snapshot_create(&self, side: &Side, paths: &[String], opts: &CreateOptions) -> Result<Created> {
        if let Some(alias) = &side.alias {
            self.inner.registry.get(alias)?;
        }
        snapshots::create(self, &self.snapshot_store()?, side, paths, opts).await
    }

    /// A snapshot (by id or tag) and what restoring it (or `only` those paths) to `target` would do.
    /// `writing`: refused on a server marked readonly. Files the policy denies refuse the restore.
    pub async fn snapshot_plan(
        &self,
        key: &str,
        target: &Side,
        only: &[String],
        writing: bool,
    ) -> Result<(Snapshot, Vec<Planned>)> {
        let snap = self.snapshot_store()?.find(key)?;
        for f in &snap.files {
            self.check_file_path(&f.path)?;
        }
        if let Some(alias) = &target.alias {
            let server = self.inner.registry.get(alias)?;
            if writing && server.config.readonly {
                return Err(Error::ServerReadOnly { alias: alias.clone(), what: "snapshot restore" });
            }
        }
        let planned = snapshots::plan(self, &snap, target, only).await?;
        Ok((snap, planned))
    }

    /// Writes what the plan says differs; returns how many files were written.
    pub async fn snapshot_restore(&self, snap: &Snapshot, target: &Side, planned: &[Planned]) -> Result<usize> {
        snapshots::restore(self, &self.snapshot_store()?, snap, target, planned).await
    }
}
