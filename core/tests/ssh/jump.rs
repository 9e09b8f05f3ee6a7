use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

use crate::{env_with, key_config, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_jump_through_a_bastion() {
    let bastion = Sshd::builder().debug_log().start().unwrap();
    let e = env_with(Sshd::start().unwrap(), &[]);
    e.deck.add_server("bastion", key_config(&bastion), false).unwrap();
    let cfg = ServerConfig { proxy_jump: Some("bastion".into()), ..key_config(&e.sshd) };
    e.deck.add_server("inner", cfg, false).unwrap();

    let out = run(&e.deck, "inner", "echo via-jump").await.unwrap();
    assert_eq!(out.stdout.kept_bytes(), b"via-jump\n");
    let log = bastion.log();
    assert!(
        log.contains(&format!("to 127.0.0.1 port {}", e.sshd.port())),
        "the bastion forwarded to the target:\n{log}"
    );
    // Both host keys were verified and learned.
    let kh = std::fs::read_to_string(e.deck.data_dir().known_hosts_file()).unwrap();
    assert!(kh.contains(&format!(":{}", bastion.port())) && kh.contains(&format!(":{}", e.sshd.port())), "{kh}");

    // A literal user@host:port hop works too.
    let literal = format!("{}@127.0.0.1:{}", bastion.user(), bastion.port());
    let cfg = ServerConfig { proxy_jump: Some(literal), ..key_config(&e.sshd) };
    e.deck.add_server("inner2", cfg, false).unwrap();
    assert!(run(&e.deck, "inner2", "true").await.unwrap().success());
}
