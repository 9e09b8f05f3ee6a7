use sshdeck_core::Deck;
use sshdeck_core::secret::Secret;
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::{Agent, KEY_PASSPHRASE, Sshd};

use crate::{code, env, env_with, key_config, run, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_types_ed25519_ecdsa_rsa() {
    let e = env();
    let keys = e.sshd.keys().clone();
    for (alias, key) in [("ecdsa", &keys.ecdsa), ("rsa", &keys.rsa)] {
        let cfg = ServerConfig { key_path: Some(key.clone()), ..key_config(&e.sshd) };
        e.deck.add_server(alias, cfg, false).unwrap();
    }
    for alias in ["t", "ecdsa", "rsa"] {
        let out = run(&e.deck, alias, "id -un").await.unwrap_or_else(|err| panic!("{alias}: {err}"));
        assert_eq!(String::from_utf8(out.stdout.kept_bytes()).unwrap().trim(), e.sshd.user(), "{alias}");
        assert!(out.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_key_needs_the_right_passphrase() {
    let e = env();
    let enc = e.sshd.keys().encrypted.clone();
    let with = |p: Option<&str>| ServerConfig {
        key_path: Some(enc.clone()),
        passphrase: p.map(Secret::new),
        ..key_config(&e.sshd)
    };
    e.deck.add_server("good", with(Some(KEY_PASSPHRASE)), false).unwrap();
    e.deck.add_server("wrong", with(Some("not-the-phrase-123")), false).unwrap();
    e.deck.add_server("none", with(None), false).unwrap();
    assert!(run(&e.deck, "good", "true").await.unwrap().success());
    let err = run(&e.deck, "wrong", "true").await.unwrap_err();
    assert_eq!(err.code(), "KEY_INVALID", "{err}");
    assert!(!err.to_string().contains("not-the-phrase-123"), "{err}");
    let err = run(&e.deck, "none", "true").await.unwrap_err();
    assert_eq!(err.code(), "KEY_INVALID");
    assert!(err.to_string().contains("passphrase"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_auth() {
    let sshd = Sshd::start().unwrap();
    let agent = Agent::start(&[&sshd.keys().ecdsa]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let sock = agent.socket().display().to_string();
    let deck = Deck::open(settings(data.path(), &[("SSH_AUTH_SOCK", &sock)]), "test").unwrap();
    let cfg = ServerConfig { port: sshd.port(), agent: true, ..ServerConfig::new(sshd.host(), sshd.user()) };
    deck.add_server("a", cfg, false).unwrap();
    assert!(run(&deck, "a", "true").await.unwrap().success());

    // An agent without an authorized key fails as AUTH_FAILED naming the agent.
    let empty = Agent::start(&[&sshd.keys().unauthorized]).unwrap();
    let sock = empty.socket().display().to_string();
    let deck2 = Deck::open(settings(data.path(), &[("SSH_AUTH_SOCK", &sock)]), "test").unwrap();
    let err = run(&deck2, "a", "true").await.unwrap_err();
    assert_eq!(err.code(), "AUTH_FAILED", "{err}");
    assert!(err.to_string().contains("agent"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_auth_and_wrong_password() {
    let sshd = Sshd::builder().password_auth().start().unwrap();
    let password = sshd.password().expect("password tests need the harness to run as root (as CI does)");
    let e = env_with(sshd, &[]);
    let cfg = |p: &str| ServerConfig {
        port: e.sshd.port(),
        password: Some(Secret::new(p)),
        ..ServerConfig::new(e.sshd.host(), e.sshd.user())
    };
    e.deck.add_server("pw", cfg(password), false).unwrap();
    e.deck.add_server("badpw", cfg("Wrong-Secret-4711"), false).unwrap();
    assert!(run(&e.deck, "pw", "true").await.unwrap().success());
    let err = run(&e.deck, "badpw", "true").await.unwrap_err();
    assert_eq!(err.code(), "AUTH_FAILED");
    let msg = format!("{err} {err:?}");
    assert!(!msg.contains("Wrong-Secret-4711") && msg.contains("password"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_fails_once_and_is_not_retried() {
    let e = env();
    let cfg = ServerConfig { key_path: Some(e.sshd.keys().unauthorized.clone()), ..key_config(&e.sshd) };
    e.deck.add_server("bad", cfg, false).unwrap();
    assert_eq!(code(run(&e.deck, "bad", "true").await), "AUTH_FAILED");
    let stats = e.deck.pool_stats();
    let s = stats.servers.iter().find(|s| s.alias == "bad").unwrap();
    assert_eq!((s.failures, s.opened, s.connections), (1, 0, 0), "{s:?}");
    // The harness's readiness probe also connects, but closes before the key exchange.
    let log = e.sshd.log();
    let ssh_connections =
        log.matches("Connection from 127.0.0.1").count() - log.matches("kex_exchange_identification").count();
    assert_eq!(ssh_connections, 1, "exactly one SSH connection: {log}");
}
