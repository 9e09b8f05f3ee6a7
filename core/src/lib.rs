//! sshdeck core: settings, the data directory, the server registry, verified SSH sessions on russh,
//! a connection pool and command execution. No UI code: front ends (`sshdeck`, `sshdeck-mcp`) hold a
//! [`Deck`] and call into it.

pub mod apis;
pub mod audit;
pub mod capture;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod deck;
pub mod error;
pub mod exec;
pub mod files;
pub mod fleet;
pub mod interact;
pub mod jobs;
pub mod limits;
pub mod link;
pub mod logging;
pub mod notes;
pub mod ops;
mod pattern;
pub mod policy;
pub mod pool;
pub mod process;
pub mod projects;
pub mod remote;
pub mod runner;
pub mod secret;
pub mod servers;
pub mod sftp;
pub mod shells;
pub mod snapshots;
pub mod ssh;
pub mod store;
pub mod tunnels;
pub mod work;

pub use deck::{Deck, OutputSink};
pub use error::{Error, Result};
