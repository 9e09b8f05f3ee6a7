//! Host-key verification against OpenSSH `known_hosts` files.
//!
//! russh's own checker misses tabs, wildcard patterns and markers, so we parse the format ourselves:
//! comma-separated patterns (`*`, `?`, `!`), hashed names (`|1|salt|hmac`), `[host]:port` for non-22
//! ports, `@revoked` (refuses the key everywhere) and `@cert-authority` (not supported; ignored).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use data_encoding::BASE64;
use hmac::{KeyInit, Mac};
use russh::keys::{Algorithm, HashAlg, PublicKey};

use crate::data_dir::{FileLock, home_dir};
use crate::error::{Error, Result};
use crate::pattern::match_list;

/// What the files say about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key is on record for this host.
    Known,
    /// Nothing on record for this host.
    Unknown,
    /// Other keys are on record for this host: their fingerprints and `file:line`.
    Mismatch(Vec<(String, String)>),
    /// The key is `@revoked` at `file:line`.
    Revoked(String),
}

/// The known_hosts files sshdeck consults: its own (where it learns keys) first, then the user's and
/// the system's.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    own: PathBuf,
    others: Vec<PathBuf>,
}

struct Entry {
    revoked: bool,
    key: PublicKey,
    location: String,
}

impl KnownHosts {
    /// sshdeck's file plus `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`.
    pub fn new(own: PathBuf) -> Self {
        let mut others = Vec::new();
        if let Some(home) = home_dir() {
            others.push(home.join(".ssh/known_hosts"));
        }
        others.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
        KnownHosts { own, others }
    }

    /// Only the given files (tests).
    pub fn with_files(own: PathBuf, others: Vec<PathBuf>) -> Self {
        KnownHosts { own, others }
    }

    /// sshdeck's own file.
    pub fn own_file(&self) -> &Path {
        &self.own
    }

    /// The name a host is recorded under: `host`, or `[host]:port` when the port is not 22.
    pub fn host_name(host: &str, port: u16) -> String {
        if port == 22 { host.to_string() } else { format!("[{host}]:{port}") }
    }

    /// Checks `key` presented by `host:port`.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Result<Verdict> {
        let name = Self::host_name(host, port);
        let entries = self.entries_for(&name)?;
        if let Some(e) = entries.iter().find(|e| e.revoked && e.key.key_data() == key.key_data()) {
            return Ok(Verdict::Revoked(e.location.clone()));
        }
        let on_record: Vec<&Entry> = entries.iter().filter(|e| !e.revoked).collect();
        if on_record.iter().any(|e| e.key.key_data() == key.key_data()) {
            return Ok(Verdict::Known);
        }
        if on_record.is_empty() {
            return Ok(Verdict::Unknown);
        }
        Ok(Verdict::Mismatch(on_record.iter().map(|e| (fingerprint(&e.key), e.location.clone())).collect()))
    }

    /// Key algorithms on record for a host, so the handshake can prefer them (as OpenSSH does) and a
    /// host known by its ECDSA key is not reported as changed when it also offers ed25519.
    pub fn algorithms_for(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let mut algos = Vec::new();
        for e in self.entries_for(&Self::host_name(host, port)).unwrap_or_default() {
            if !e.revoked && !algos.contains(&e.key.algorithm()) {
                algos.push(e.key.algorithm());
            }
        }
        algos
    }

    /// The keys on record for `host:port` (not revoked): algorithm, `SHA256:` fingerprint and where.
    pub fn keys_for(&self, host: &str, port: u16) -> Result<Vec<(String, String, String)>> {
        Ok(self
            .entries_for(&Self::host_name(host, port))?
            .into_iter()
            .filter(|e| !e.revoked)
            .map(|e| (e.key.algorithm().as_str().to_string(), fingerprint(&e.key), e.location))
            .collect())
    }

    /// Records `key` for `host:port` in sshdeck's own file (mode 0600, appended under its lock).
    pub fn learn(&self, host: &str, port: u16, key: &PublicKey) -> Result<()> {
        let _lock = FileLock::exclusive(&self.own)?;
        let line = format!(
            "{} {} {}\n",
            Self::host_name(host, port),
            key.algorithm().as_str(),
            BASE64.encode(&key.to_bytes().map_err(|e| Error::InvalidArgument(e.to_string()))?)
        );
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.own)
            .map_err(|e| Error::io("cannot open", &self.own, e))?;
        f.write_all(line.as_bytes()).and_then(|_| f.sync_data()).map_err(|e| Error::io("cannot write", &self.own, e))
    }

    fn entries_for(&self, name: &str) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for path in std::iter::once(&self.own).chain(&self.others) {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) => {
                    continue;
                }
                Err(e) => return Err(Error::io("cannot read", path, e)),
            };
            for (i, line) in text.lines().enumerate() {
                if let Some(entry) = parse_line(line, name, || format!("{}:{}", path.display(), i + 1)) {
                    out.push(entry);
                }
            }
        }
        Ok(out)
    }
}

/// Parses one line and returns it if it applies to `name` (revoked lines apply to every host).
fn parse_line(line: &str, name: &str, location: impl Fn() -> String) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if let Some(marker) = first.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            _ => return None, // @cert-authority: host certificates are not supported
        }
        first = fields.next()?;
    }
    let _algo = fields.next()?;
    let key = russh::keys::parse_public_key_base64(fields.next()?).ok()?;
    let applies = revoked || host_matches(first, name);
    applies.then(|| Entry { revoked, key, location: location() })
}

fn host_matches(patterns: &str, name: &str) -> bool {
    if let Some(hashed) = patterns.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (BASE64.decode(salt.as_bytes()), BASE64.decode(hash.as_bytes())) else {
            return false;
        };
        let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
            return false;
        };
        mac.update(name.as_bytes());
        return mac.verify_slice(&hash).is_ok();
    }
    match_list(patterns.split(','), name) == Some(true)
}

/// `SHA256:…` fingerprint, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two real ed25519 keys and one ECDSA key (public halves only).
    const K1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILrEfOVBLScJE+BTdel1EcvNxeg/PPXIE86w+1rxF0W+";
    const K2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOHInElY0q0Y5KUfH8/f5xHgW5k/MEr3KEZv/O7Se7uw";
    const K3: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNivI5BnRcJEWdzjJpdTYxEc+DzjhVwuwcC2Bkwz7TAgBkQwAhADtFoPfafIPCcyRER5/mihNU2jpBPc3zxMKtw=";

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).unwrap()
    }

    fn files(own: &str, user: &str) -> (tempfile::TempDir, KnownHosts) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("own"), own).unwrap();
        std::fs::write(tmp.path().join("user"), user).unwrap();
        let kh = KnownHosts::with_files(tmp.path().join("own"), vec![tmp.path().join("user")]);
        (tmp, kh)
    }

    #[test]
    fn plain_tabs_ports_wildcards_and_negation() {
        let user = format!(
            "# comment\nweb1,10.0.0.1\tssh-ed25519\t{K1} c\n[db]:2222 ssh-ed25519 {K1}\n*.corp,!bad.corp ssh-ed25519 {K1}\n"
        );
        let (_t, kh) = files("", &user);
        assert_eq!(kh.check("web1", 22, &key(K1)).unwrap(), Verdict::Known);
        assert_eq!(kh.check("10.0.0.1", 22, &key(K1)).unwrap(), Verdict::Known);
        assert_eq!(kh.check("db", 2222, &key(K1)).unwrap(), Verdict::Known);
        assert_eq!(kh.check("db", 22, &key(K1)).unwrap(), Verdict::Unknown, "port is part of the name");
        assert_eq!(kh.check("x.corp", 22, &key(K1)).unwrap(), Verdict::Known);
        assert_eq!(kh.check("bad.corp", 22, &key(K1)).unwrap(), Verdict::Unknown);
        match kh.check("web1", 22, &key(K2)).unwrap() {
            Verdict::Mismatch(v) => {
                assert!(v[0].0.starts_with("SHA256:") && v[0].1.ends_with("user:2"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hashed_names() {
        // `ssh-keygen -H` form for "[127.0.0.1]:2222", salt chosen by us.
        let salt = [7u8; 20];
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let hash = mac.finalize().into_bytes();
        let line = format!("|1|{}|{} ssh-ed25519 {K1}\n", BASE64.encode(&salt), BASE64.encode(&hash));
        let (_t, kh) = files("", &line);
        assert_eq!(kh.check("127.0.0.1", 2222, &key(K1)).unwrap(), Verdict::Known);
        assert_eq!(kh.check("127.0.0.1", 2223, &key(K1)).unwrap(), Verdict::Unknown);
        assert!(matches!(kh.check("127.0.0.1", 2222, &key(K2)).unwrap(), Verdict::Mismatch(_)));
    }

    #[test]
    fn revoked_and_cert_authority() {
        let own = format!("@revoked * ssh-ed25519 {K2}\n@cert-authority *.corp ssh-ed25519 {K1}\n");
        let (_t, kh) = files(&own, &format!("h ssh-ed25519 {K2}\n"));
        assert!(matches!(kh.check("h", 22, &key(K2)).unwrap(), Verdict::Revoked(_)));
        assert_eq!(kh.check("a.corp", 22, &key(K1)).unwrap(), Verdict::Unknown, "CA lines are not host keys");
    }

    #[test]
    fn learn_appends_and_orders_algorithms() {
        let (t, kh) = files("", &format!("h ssh-ed25519 {K1}\n"));
        kh.learn("h", 2200, &key(K3)).unwrap();
        assert_eq!(kh.check("h", 2200, &key(K3)).unwrap(), Verdict::Known);
        assert_eq!(kh.algorithms_for("h", 2200).len(), 1);
        assert_eq!(kh.algorithms_for("h", 22), vec![key(K1).algorithm()]);
        let text = std::fs::read_to_string(t.path().join("own")).unwrap();
        assert!(text.starts_with("[h]:2200 ecdsa-sha2-nistp256 "), "{text}");
    }
}
