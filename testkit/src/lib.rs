//! Test support: a real OpenSSH `sshd` on 127.0.0.1 with its own config, host key and client keys,
//! and an `ssh-agent` holding chosen keys. No root is needed beyond installing `openssh-server`,
//! but as root the harness logs in as a dedicated user (`sshdeck-test`, stock shell rc files) so
//! password authentication can be tested and root's rc files do not slow commands. Its password is
//! random, drawn by each test process (never written anywhere); [`SshdBuilder::as_current_user`]
//! (the demo's choice) creates no account at all.

mod accounts;
mod agent;
pub mod http;
pub mod procs;

use accounts::{client_keys, current_user, keygen, login_user, test_password};
pub use agent::Agent;
use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The login user when the harness runs as root.
pub const TEST_USER: &str = "sshdeck-test";
/// The key exchange sshdeck uses (russh's default), pinned on OpenSSH clients in comparisons.
pub const KEX: &str = "KexAlgorithms=curve25519-sha256";
/// Passphrase of [`ClientKeys::encrypted`].
pub const KEY_PASSPHRASE: &str = "phrase-sshdeck-test-Q7x";

/// Client key files, shared by all daemons of this machine (generated once).
#[derive(Debug, Clone)]
pub struct ClientKeys {
    /// Authorized ed25519 key.
    pub ed25519: PathBuf,
    /// Authorized ECDSA P-256 key.
    pub ecdsa: PathBuf,
    /// Authorized RSA 3072 key.
    pub rsa: PathBuf,
    /// Authorized ed25519 key encrypted with [`KEY_PASSPHRASE`].
    pub encrypted: PathBuf,
    /// A valid key that no daemon authorizes.
    pub unauthorized: PathBuf,
}

/// Builder for [`Sshd`].
#[derive(Debug, Clone, Default)]
pub struct SshdBuilder {
    password_auth: bool,
    extra: Vec<String>,
    debug_log: bool,
    current_user: bool,
}

impl SshdBuilder {
    /// Allows password authentication (needs root, see [`Sshd::password`]).
    pub fn password_auth(mut self) -> Self {
        self.password_auth = true;
        self
    }

    /// Adds a raw `sshd_config` line.
    pub fn config_line(mut self, line: impl Into<String>) -> Self {
        self.extra.push(line.into());
        self
    }

    /// Logs in as the user running this process, with keys only, even as root: no account is created
    /// or changed (what the demo uses).
    pub fn as_current_user(mut self) -> Self {
        self.current_user = true;
        self
    }

    /// Logs at DEBUG1 (shows forwarding requests, for ProxyJump tests).
    pub fn debug_log(mut self) -> Self {
        self.debug_log = true;
        self
    }

    /// Starts the daemon.
    pub fn start(self) -> Result<Sshd> {
        let keys = client_keys()?.clone();
        let user = if self.current_user { current_user()? } else { login_user()? };
        let dir = tempfile::Builder::new().prefix("sshdeck-sshd-").tempdir()?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        let scratch = dir.path().join("scratch");
        fs::create_dir(&scratch)?;
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o777))?;
        let mut authorized = String::new();
        for k in [&keys.ed25519, &keys.ecdsa, &keys.rsa, &keys.encrypted] {
            authorized.push_str(&fs::read_to_string(k.with_extension("pub"))?);
        }
        let auth_file = dir.path().join("authorized_keys");
        fs::write(&auth_file, authorized)?;
        fs::set_permissions(&auth_file, fs::Permissions::from_mode(0o644))?;
        if is_root() {
            fs::create_dir_all("/run/sshd")?;
        }
        let mut sshd = Sshd { dir, port: 0, child: None, user, keys, builder: self, scratch };
        sshd.generate_host_key()?;
        let mut last_err = None;
        for _ in 0..5 {
            sshd.port = free_port()?;
            match sshd.spawn() {
                Ok(()) => return Ok(sshd),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("tried at least once"))
    }
}

/// A running `sshd`. Killed (with every session it spawned) on drop.
#[derive(Debug)]
pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    user: String,
    keys: ClientKeys,
    builder: SshdBuilder,
    scratch: PathBuf,
}

impl Sshd {
    /// Starts a daemon with key authentication only.
    pub fn start() -> Result<Sshd> {
        SshdBuilder::default().start()
    }

    /// A builder for other configurations.
    pub fn builder() -> SshdBuilder {
        SshdBuilder::default()
    }

    /// Always `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The login user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The login password, when the harness could set one (running as root, the test user).
    pub fn password(&self) -> Option<&'static str> {
        (is_root() && self.user == TEST_USER).then(test_password)
    }

    /// Client key files.
    pub fn keys(&self) -> &ClientKeys {
        &self.keys
    }

    /// A directory the login user can write to, on the same machine.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// The host public key, as `ssh-ed25519 AAAA…`.
    pub fn host_public_key(&self) -> String {
        let text = fs::read_to_string(self.dir.path().join("host_ed25519.pub")).expect("host key exists");
        text.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    }

    /// A `known_hosts` line for this daemon.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_public_key())
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Kills the daemon and every process it spawned (connections and the commands they run), as a
    /// machine crash would.
    pub fn kill_all(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Freeze the tree until it stops growing (a connection forking while it is listed would
            // otherwise escape as an orphan and keep its client's connection alive), then kill it.
            let mut pids = vec![child.id()];
            loop {
                let args: Vec<String> = pids.iter().map(u32::to_string).collect();
                let _ = Command::new("kill").arg("-STOP").args(&args).stderr(Stdio::null()).status();
                let mut now = descendants(child.id());
                now.push(child.id());
                now.sort_unstable();
                pids.sort_unstable();
                if now == pids {
                    break;
                }
                pids = now;
            }
            let args: Vec<String> = pids.iter().map(u32::to_string).collect();
            let _ = Command::new("kill").arg("-KILL").args(&args).stderr(Stdio::null()).status();
            let _ = child.wait();
            // Whatever still holds a socket on the daemon's port escaped the tree: kill it too, so
            // its clients see the connection drop as after a crash.
            for _ in 0..50 {
                let left = port_holders(self.port);
                if left.is_empty() {
                    break;
                }
                let args: Vec<String> = left.iter().map(u32::to_string).collect();
                let _ = Command::new("kill").arg("-KILL").args(&args).stderr(Stdio::null()).status();
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Stops (SIGSTOP) the daemon and every process it spawned: connections stay open but nothing
    /// answers, as with a frozen or partitioned host. [`Sshd::thaw`] resumes them.
    pub fn freeze(&self) {
        self.signal_all("-STOP");
    }

    /// Resumes a frozen daemon (SIGCONT).
    pub fn thaw(&self) {
        self.signal_all("-CONT");
    }

    fn signal_all(&self, signal: &str) {
        if let Some(child) = &self.child {
            let mut pids = descendants(child.id());
            pids.push(child.id());
            let args: Vec<String> = pids.iter().map(u32::to_string).collect();
            let _ = Command::new("kill").arg(signal).args(&args).stderr(Stdio::null()).status();
        }
    }

    /// Starts the daemon again on the same port with the same host key.
    pub fn restart(&mut self) -> Result<()> {
        self.kill_all();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Replaces the host key (as a reinstall or an attacker would) and restarts.
    pub fn rotate_host_key(&mut self) -> Result<()> {
        self.kill_all();
        self.generate_host_key()?;
        self.restart()
    }

    /// Runs `ssh` (OpenSSH client) against this daemon with the ed25519 key and extra options, for
    /// comparisons and setup. Host keys are checked against this daemon's key only.
    pub fn ssh_command(&self) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.openssh_options()).args(["-p", &self.port.to_string(), &self.destination()]);
        c
    }

    /// OpenSSH client options for this daemon (ed25519 key, its host key only, no config file), for
    /// `ssh`, `sftp` and `scp` in comparisons. Add the port with `-p`/`-P` and `user@127.0.0.1`. The key
    /// exchange is pinned to sshdeck's (curve25519-sha256): OpenSSH 9.2's default, the post-quantum
    /// sntrup761x25519, costs ~60 ms of client CPU per connection, so cold comparisons would not compare
    /// like with like.
    pub fn openssh_options(&self) -> Vec<String> {
        let kh = self.dir.path().join("client_known_hosts");
        if !kh.exists() {
            fs::write(&kh, self.known_hosts_line()).expect("write known_hosts");
        }
        let mut v: Vec<String> =
            vec!["-F".into(), "/dev/null".into(), "-i".into(), self.keys.ed25519.display().to_string()];
        for o in ["IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=yes", KEX] {
            v.extend(["-o".into(), o.into()]);
        }
        v.extend(["-o".into(), format!("UserKnownHostsFile={}", kh.display())]);
        v
    }

    /// `user@127.0.0.1`.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1", self.user)
    }

    fn generate_host_key(&self) -> Result<()> {
        let key = self.dir.path().join("host_ed25519");
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        let _ = fs::remove_file(self.dir.path().join("client_known_hosts"));
        keygen(&key, "ed25519", "")
    }

    fn spawn(&mut self) -> Result<()> {
        let d = self.dir.path();
        let b = &self.builder;
        let mut config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\nPubkeyAuthentication yes\n\
             PasswordAuthentication {pw}\nKbdInteractiveAuthentication no\nAllowUsers {user}\nPrintMotd no\n\
             PermitRootLogin prohibit-password\n\
             UseDNS no\nLogLevel {level}\nSubsystem sftp internal-sftp\n",
            port = self.port,
            d = d.display(),
            pw = if b.password_auth { "yes" } else { "no" },
            user = self.user,
            level = if b.debug_log { "DEBUG1" } else { "VERBOSE" },
        );
        for line in &b.extra {
            config.push_str(line);
            config.push('\n');
        }
        let config_path = d.join("sshd_config");
        fs::write(&config_path, config)?;
        let log = fs::OpenOptions::new().create(true).append(true).open(d.join("sshd.log"))?;
        let child = Command::new(sshd_path()?)
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning sshd")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                bail!("sshd exited with {status} on port {}:\n{}", self.port, self.log());
            }
            if Instant::now() > deadline {
                self.kill_all();
                bail!("sshd did not listen on port {} within 10 s:\n{}", self.port, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// The absolute path of `sshd`, with a clear error when it is not installed.
pub fn sshd_path() -> Result<PathBuf> {
    for p in ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"] {
        if Path::new(p).exists() {
            return Ok(PathBuf::from(p));
        }
    }
    bail!("sshd not found: install openssh-server (apt-get install -y openssh-server)")
}

/// True when running as root.
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// A lock shared by every test process on the machine.
pub(crate) fn machine_lock() -> Result<fs::File> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("sshdeck-testkit.lock"))?;
    f.lock()?;
    Ok(f)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Every descendant of `pid`, from `/proc`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let mut stat = String::new();
            if fs::File::open(e.path().join("stat")).and_then(|mut f| f.read_to_string(&mut stat)).is_err() {
                continue;
            }
            // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
            if let Some(ppid) = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok())
            {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, parent) in &parent_of {
            if parent == p && !out.contains(&child) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

/// The processes holding a TCP socket whose local port is `port` (a listener or its accepted
/// connections), from `/proc/net/tcp{,6}` and every readable `/proc/PID/fd`.
fn port_holders(port: u16) -> Vec<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = f.get(1).and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if let (Some(p), Some(inode)) = (local, f.get(9).and_then(|i| i.parse::<u64>().ok()))
                && p == port
                && inode != 0
            {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    let mut out = Vec::new();
    if inodes.is_empty() {
        return out;
    }
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let held = fs::read_dir(e.path().join("fd")).into_iter().flatten().flatten().any(|fd| {
            fs::read_link(fd.path()).is_ok_and(|l| l.to_str().is_some_and(|l| inodes.iter().any(|i| i == l)))
        });
        if held && pid != std::process::id() {
            out.push(pid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_all_leaves_nothing_holding_the_port_and_connections_see_the_end() {
        // As the current user: the account test next door must see no account change.
        let mut sshd = Sshd::builder().as_current_user().start().unwrap();
        let mut conn = TcpStream::connect(("127.0.0.1", sshd.port())).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut banner = [0u8; 4];
        conn.read_exact(&mut banner).unwrap();
        assert_eq!(&banner, b"SSH-");
        assert!(!port_holders(sshd.port()).is_empty(), "the daemon and the connection's process");
        sshd.kill_all();
        assert!(port_holders(sshd.port()).is_empty());
        let mut rest = Vec::new();
        // EOF or a reset, not a timeout.
        match conn.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
        }
    }

    #[test]
    fn the_current_user_mode_creates_and_changes_no_account() {
        let accounts = || (fs::read("/etc/passwd").unwrap_or_default(), fs::read("/etc/shadow").unwrap_or_default());
        let before = accounts();
        let sshd = Sshd::builder().as_current_user().start().unwrap();
        assert_eq!(sshd.user(), current_user().unwrap());
        assert_eq!(sshd.password(), None, "no password login");
        let out = sshd.ssh_command().arg("id -un").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), current_user().unwrap(), "{out:?}");
        assert!(before == accounts(), "no account was created or changed");
    }

    #[test]
    fn the_test_password_is_random_and_not_in_the_source() {
        let p = test_password();
        assert_eq!(p.len(), 27);
        assert!(!include_str!("lib.rs").contains(p));
    }
}
