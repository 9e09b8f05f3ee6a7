use std::net::TcpListener;

use sshdeck_core::servers::{HostKeyPolicy, ServerConfig};

use crate::{code, env, key_config, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_refuses_unknown_host_and_learns_nothing() {
    let e = env();
    let cfg = ServerConfig { host_key_policy: HostKeyPolicy::Strict, ..key_config(&e.sshd) };
    e.deck.add_server("s", cfg, false).unwrap();
    let err = run(&e.deck, "s", "true").await.unwrap_err();
    assert_eq!(err.code(), "HOST_KEY_UNKNOWN", "{err}");
    assert!(err.to_string().contains(&format!("[127.0.0.1]:{}", e.sshd.port())), "{err}");
    assert!(!e.deck.data_dir().known_hosts_file().exists());

    // Once the key is on record, strict accepts it.
    std::fs::write(e.deck.data_dir().known_hosts_file(), e.sshd.known_hosts_line()).unwrap();
    assert!(run(&e.deck, "s", "true").await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_learns_then_refuses_a_changed_key() {
    let mut e = env();
    assert!(run(&e.deck, "t", "true").await.unwrap().success());
    let learned = std::fs::read_to_string(e.deck.data_dir().known_hosts_file()).unwrap();
    assert_eq!(learned, e.sshd.known_hosts_line(), "the key was learned exactly");
    let old_fp = fingerprint_of(&e.sshd.host_public_key());

    e.sshd.rotate_host_key().unwrap();
    let new_fp = fingerprint_of(&e.sshd.host_public_key());
    let err = run(&e.deck, "t", "true").await.unwrap_err();
    assert_eq!(err.code(), "HOST_KEY_MISMATCH", "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&old_fp) && msg.contains(&new_fp), "names both fingerprints: {msg}");
    assert!(msg.contains(&format!("[127.0.0.1]:{}", e.sshd.port())), "names the host: {msg}");
    assert_eq!(std::fs::read_to_string(e.deck.data_dir().known_hosts_file()).unwrap(), learned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_off_accepts_a_changed_key_only_when_asked() {
    let mut e = env();
    run(&e.deck, "t", "true").await.unwrap();
    e.sshd.rotate_host_key().unwrap();
    assert_eq!(code(run(&e.deck, "t", "true").await), "HOST_KEY_MISMATCH");
    let cfg = ServerConfig { host_key_policy: HostKeyPolicy::Off, ..key_config(&e.sshd) };
    e.deck.add_server("t", cfg, true).unwrap();
    assert!(run(&e.deck, "t", "true").await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_connection_failed() {
    let e = env();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = ServerConfig { port, ..key_config(&e.sshd) };
    e.deck.add_server("closed", cfg, false).unwrap();
    let err = run(&e.deck, "closed", "true").await.unwrap_err();
    assert_eq!(err.code(), "CONNECTION_FAILED", "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

fn fingerprint_of(openssh: &str) -> String {
    let key = russh::keys::PublicKey::from_openssh(openssh).unwrap();
    sshdeck_core::ssh::fingerprint(&key)
}
