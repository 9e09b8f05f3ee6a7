//! Tools, one module per domain; each module's router is summed in [`crate::server::Sshdeck::new`].

pub mod apis;
pub mod common;
pub mod diffs;
pub mod files;
pub mod fleet;
pub mod guard;
pub mod guide;
pub mod inline;
pub mod insight;
pub mod jobs;
pub mod keys;
pub mod logs;
pub mod memory;
pub mod ops;
pub mod policy;
pub mod projects;
pub mod queue;
pub mod servers;
pub mod service;
pub mod shells;
pub mod snapshots;
pub mod tasks;
pub mod tmux;
pub mod toolsets;
pub mod transfers;
pub mod tunnels;
