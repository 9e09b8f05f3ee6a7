//! Who the test daemons let in: the current user, or (as root) a dedicated test user with a random
//! password per process; and the client keys every daemon authorizes (generated once per machine).

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

use crate::{ClientKeys, KEY_PASSPHRASE, TEST_USER, is_root, machine_lock};

pub(crate) fn current_user() -> Result<String> {
    let out = Command::new("id").arg("-un").output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

pub(crate) fn login_user() -> Result<String> {
    if !is_root() {
        return current_user();
    }
    static ONCE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    ONCE.get_or_init(|| ensure_test_user().map_err(|e| format!("{e:#}"))).clone().map_err(anyhow::Error::msg)?;
    Ok(TEST_USER.to_string())
}

/// The test user's password for this process: random, set by [`ensure_test_user`].
pub(crate) fn test_password() -> &'static str {
    static PASSWORD: OnceLock<String> = OnceLock::new();
    PASSWORD.get_or_init(|| {
        let mut bytes = [0u8; 12];
        fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("/dev/urandom");
        format!("pw-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    })
}

/// Creates [`TEST_USER`] with a stock home, and sets this process's random password, once per process
/// (under a lock, as test processes may run in parallel).
fn ensure_test_user() -> Result<()> {
    let _lock = machine_lock()?;
    let exists = Command::new("id").arg(TEST_USER).stdout(Stdio::null()).stderr(Stdio::null()).status()?.success();
    if !exists {
        let st = Command::new("useradd").args(["-m", "-s", "/bin/bash", "-p", "*", TEST_USER]).status()?;
        if !st.success() {
            bail!("useradd {TEST_USER} failed");
        }
    }
    let mut child = Command::new("chpasswd").stdin(Stdio::piped()).spawn().context("chpasswd")?;
    use std::io::Write;
    child.stdin.take().expect("piped").write_all(format!("{TEST_USER}:{}\n", test_password()).as_bytes())?;
    if !child.wait()?.success() {
        bail!("chpasswd for {TEST_USER} failed");
    }
    Ok(())
}

pub(crate) fn client_keys() -> Result<&'static ClientKeys> {
    static KEYS: OnceLock<std::result::Result<ClientKeys, String>> = OnceLock::new();
    KEYS.get_or_init(|| make_client_keys().map_err(|e| format!("{e:#}"))).as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

fn make_client_keys() -> Result<ClientKeys> {
    let uid = fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("sshdeck-testkit-keys-{uid}-v1"));
    let keys = ClientKeys {
        ed25519: dir.join("id_ed25519"),
        ecdsa: dir.join("id_ecdsa"),
        rsa: dir.join("id_rsa"),
        encrypted: dir.join("id_encrypted"),
        unauthorized: dir.join("id_unauthorized"),
    };
    let _lock = machine_lock()?;
    if dir.join("complete").exists() {
        return Ok(keys);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    keygen(&keys.ed25519, "ed25519", "")?;
    keygen(&keys.ecdsa, "ecdsa", "")?;
    keygen(&keys.rsa, "rsa", "")?;
    keygen(&keys.encrypted, "ed25519", KEY_PASSPHRASE)?;
    keygen(&keys.unauthorized, "ed25519", "")?;
    fs::write(dir.join("complete"), b"")?;
    Ok(keys)
}

pub(crate) fn keygen(path: &Path, kind: &str, passphrase: &str) -> Result<()> {
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-t", kind, "-N", passphrase, "-C", "sshdeck-test", "-f"]).arg(path);
    if kind == "rsa" {
        c.args(["-b", "3072"]);
    }
    let out = c.stdin(Stdio::null()).output().context("running ssh-keygen")?;
    if !out.status.success() {
        bail!("ssh-keygen -t {kind} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}
