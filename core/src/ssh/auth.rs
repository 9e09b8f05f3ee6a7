//! Authentication: ssh-agent, private key (optionally encrypted), password, or `auto` (agent, then the
//! default key files), in that order. Messages list the methods tried, never a secret.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};

use super::Verifier;
use crate::data_dir::home_dir;
use crate::error::{Error, Result};
use crate::servers::ServerConfig;

pub(super) async fn authenticate(
    handle: &mut Handle<Verifier>,
    cfg: &ServerConfig,
    agent_socket: Option<&Path>,
) -> Result<()> {
    let mut tried: Vec<String> = Vec::new();
    let lost = |e: russh::Error| Error::HandshakeDropped {
        host: cfg.host.clone(),
        port: cfg.port,
        reason: format!("during authentication: {e}"),
    };
    let rsa = handle.best_supported_rsa_hash().await.ok().flatten().flatten();

    let auto = cfg.auth_kind() == "auto";
    if cfg.agent || (auto && agent_socket.is_some()) {
        tried.push("agent".into());
        match agent_auth(handle, cfg, agent_socket, rsa).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if cfg.agent => return Err(e),
            Err(e) => tracing::debug!(error = %e, "ssh-agent unavailable"),
        }
    }
    if let Some(path) = &cfg.key_path {
        tried.push(format!("publickey({})", path.display()));
        let key = load_key(path, cfg.passphrase.as_ref().map(|p| p.expose()))?;
        let res = handle
            .authenticate_publickey(&cfg.user, PrivateKeyWithHashAlg::new(Arc::new(key), rsa))
            .await
            .map_err(lost)?;
        if res.success() {
            return Ok(());
        }
    }
    if auto {
        for path in default_keys() {
            // Encrypted default keys need a passphrase we do not have: skip them quietly.
            let Ok(key) = russh::keys::load_secret_key(&path, None) else {
                continue;
            };
            tried.push(format!("publickey({})", path.display()));
            let res = handle
                .authenticate_publickey(&cfg.user, PrivateKeyWithHashAlg::new(Arc::new(key), rsa))
                .await
                .map_err(lost)?;
            if res.success() {
                return Ok(());
            }
        }
    }
    if let Some(password) = &cfg.password {
        tried.push("password".into());
        let res = handle.authenticate_password(&cfg.user, password.expose()).await.map_err(lost)?;
        if res.success() {
            return Ok(());
        }
    }
    if handle.is_closed() {
        // No answer is no refusal: the connection went away during authentication (a restarting or
        // overloaded sshd). That is a connection failure, retried like a dropped handshake.
        return Err(Error::HandshakeDropped {
            host: cfg.host.clone(),
            port: cfg.port,
            reason: "the connection closed during authentication".into(),
        });
    }
    Err(Error::AuthFailed {
        user: cfg.user.clone(),
        host: cfg.host.clone(),
        tried: if tried.is_empty() {
            "nothing (no key, agent or password configured)".into()
        } else {
            tried.join(", ")
        },
    })
}

/// Tries every identity of the agent at `SSH_AUTH_SOCK`. `Ok(false)`: none was accepted.
async fn agent_auth(
    handle: &mut Handle<Verifier>,
    cfg: &ServerConfig,
    socket: Option<&Path>,
    rsa: Option<HashAlg>,
) -> Result<bool> {
    let agent_err = |reason: String| Error::AuthFailed {
        user: cfg.user.clone(),
        host: cfg.host.clone(),
        tried: format!("agent ({reason})"),
    };
    let socket = socket.ok_or_else(|| agent_err("SSH_AUTH_SOCK is not set".into()))?;
    let mut agent = AgentClient::connect_uds(socket)
        .await
        .map_err(|e| agent_err(format!("cannot reach ssh-agent at {}: {e}", socket.display())))?;
    if let Some(binding) = handle.agent_session_binding() {
        // Needed for destination-constrained keys; older agents refuse it harmlessly.
        let _ = agent.bind_session(binding, false).await;
    }
    let identities = agent.request_identities().await.map_err(|e| agent_err(e.to_string()))?;
    for identity in identities {
        let key = identity.public_key().into_owned();
        let hash = if key.algorithm().is_rsa() { rsa } else { None };
        match handle.authenticate_publickey_with(&cfg.user, key, hash, &mut agent).await {
            Ok(AuthResult::Success) => return Ok(true),
            Ok(AuthResult::Failure { .. }) => {}
            Err(e) => tracing::debug!(error = %e, "agent could not sign"),
        }
    }
    Ok(false)
}

fn load_key(path: &Path, passphrase: Option<&str>) -> Result<russh::keys::PrivateKey> {
    let invalid = |reason: String| Error::KeyInvalid { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
    russh::keys::decode_secret_key(&text, passphrase).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => invalid("the key is encrypted and no passphrase is set".into()),
        russh::keys::Error::SshKey(russh::keys::ssh_key::Error::Crypto) => invalid("wrong passphrase".into()),
        other => invalid(other.to_string()),
    })
}

fn default_keys() -> Vec<PathBuf> {
    let Some(home) = home_dir() else {
        return vec![];
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"].iter().map(|n| home.join(".ssh").join(n)).filter(|p| p.exists()).collect()
}
