//! Process limits: a fan-out holds one connection (one file descriptor) per host, so the soft limit on
//! open files (often 1,024) is raised to the hard limit when sshdeck starts.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors kept free for everything but connections (journal, logs, output files, stdio).
pub const RESERVED_FILES: u64 = 64;

/// Raises the soft limit on open files to the hard one; returns (soft, hard) as they are then.
pub fn raise_open_files() -> (u64, u64) {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return (0, 0);
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        tracing::debug!(from = soft, to = hard, "raised the open-file limit");
        return (hard, hard);
    }
    (soft, hard)
}

/// The soft limit on open files now.
pub fn open_files() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE).map(|(soft, _)| soft).unwrap_or(0)
}

/// File descriptors this process has open now.
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0)
}

/// Whether opening one more connection would eat into the descriptors kept for files.
pub fn files_short() -> bool {
    let limit = open_files();
    limit > 0 && open_fds() + RESERVED_FILES >= limit
}

/// Whether an I/O error (as text) says the process ran out of file descriptors.
pub fn is_out_of_files(reason: &str) -> bool {
    reason.contains("os error 24") || reason.contains("os error 23") || reason.contains("Too many open files")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        let (soft, hard) = raise_open_files();
        assert_eq!(soft, hard);
        assert_eq!(open_files(), soft);
        assert!(is_out_of_files("cannot connect: Too many open files (os error 24)"));
        assert!(!is_out_of_files("connection refused"));
    }
}
