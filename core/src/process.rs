//! Facts about processes from `/proc`: whether one is alive, and which run of a pid it is.

use std::path::Path;

/// The process's start time in clock ticks since boot, field 22 of `/proc/<pid>/stat`; `None` when
/// there is no such process or it has died (a zombie not yet reaped by its parent is dead).
pub fn proc_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    // Fields after the parenthesised name: state is field 3, so starttime (22) is index 19.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: it stays a zombie until `wait`.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while proc_start_ticks(pid).is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap().contains(") Z"), "still a zombie");
        assert_eq!(proc_start_ticks(pid), None);
        child.wait().unwrap();
        assert!(proc_start_ticks(std::process::id()).is_some());
    }
}
