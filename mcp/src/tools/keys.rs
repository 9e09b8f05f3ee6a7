//! ssh_authorize_key (Node's name and parameters): add a public key to a server's `authorized_keys`,
//! checked, once (an identical key is left alone), atomically (the whole file written beside it and
//! renamed, mode 0600, `~/.ssh` 0700), a dry run unless `dry_run: false`, as a job.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;
use sshdeck_core::jobs::JobSpec;
use sshdeck_core::ssh::quote::shell_quote;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    pubkey: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeParams {
    target_alias: String,
    source: KeySource,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    authorized_keys_path: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)] // Node's flag: an identical key is never added twice, so there is nothing to force
    force: bool,
}

/// A public key line, checked: `TYPE BASE64 [COMMENT]`; `comment` replaces its comment.
pub fn checked_key(text: &str, comment: Option<&str>) -> Result<String, Error> {
    const TYPES: &[&str] = &[
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    let line = text.trim();
    if line.lines().count() != 1 {
        return Err(Error::InvalidArgument("a public key is one line".into()));
    }
    let mut parts = line.split_whitespace();
    let (kind, body) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !TYPES.contains(&kind) {
        return Err(Error::InvalidArgument(format!(
            "{kind:?} is not a public key type (ssh-ed25519, ssh-rsa, ecdsa-…)"
        )));
    }
    if body.len() < 16 || sshdeck_core::files::from_base64(body).is_err() {
        return Err(Error::InvalidArgument("the key's body is not base64".into()));
    }
    let rest: Vec<&str> = parts.collect();
    let comment = comment.map(str::to_string).unwrap_or_else(|| rest.join(" "));
    if comment.chars().any(char::is_control) {
        return Err(Error::InvalidArgument("the comment has control characters".into()));
    }
    Ok(if comment.is_empty() { format!("{kind} {body}") } else { format!("{kind} {body} {comment}") })
}

impl Sshdeck {
    fn public_key(&self, s: &KeySource) -> Result<String, Error> {
        let read = |p: &str| {
            std::fs::read_to_string(sshdeck_core::servers::expand_tilde(p))
                .map_err(|e| Error::InvalidArgument(format!("cannot read {p}: {e}")))
        };
        match (s.kind.as_str(), &s.pubkey, &s.path, &s.alias) {
            ("string", Some(k), _, _) => Ok(k.clone()),
            ("local_path", _, Some(p), _) => read(p),
            ("alias", _, _, Some(a)) => {
                let key = self.deck.server(a)?.config.key_path.ok_or_else(|| {
                    Error::InvalidArgument(format!("server {a} has no key file whose public half could be used"))
                })?;
                read(&format!("{}.pub", key.display()))
            }
            (k, ..) => Err(Error::InvalidArgument(format!(
                "source {k:?}: give {{type: string, pubkey}}, {{type: local_path, path}} or {{type: alias, alias}}"
            ))),
        }
    }
}

#[tool_router(router = keys_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Authorize a public key on a server (authorized_keys): checked, added once, written atomically (0600). A dry run unless dry_run is false.",
        input_schema = schema::authorize_key_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn ssh_authorize_key(
        &self,
        Parameters(p): Parameters<AuthorizeParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let key = match self.public_key(&p.source).and_then(|k| checked_key(&k, p.comment.as_deref())) {
            Ok(k) => k,
            Err(e) => return Ok(render::error(&e)),
        };
        // The file: as given, else the user's (or the login user's) ~/.ssh/authorized_keys.
        let file = match (&p.authorized_keys_path, &p.user) {
            (Some(path), _) => shell_quote(path),
            (None, Some(u)) if u.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) => {
                format!("\"$(getent passwd {} | cut -d: -f6)/.ssh/authorized_keys\"", shell_quote(u))
            }
            (None, Some(u)) => {
                return Ok(render::error(&Error::InvalidArgument(format!("user {u:?} is not a user name"))));
            }
            (None, None) => "\"$HOME/.ssh/authorized_keys\"".to_string(),
        };
        let body: String = key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let dry_run = p.dry_run.unwrap_or(true);
        let write = if dry_run {
            "echo \"would add to $f\"".to_string()
        } else {
            "d=$(dirname -- \"$f\"); mkdir -p -- \"$d\" && chmod 700 -- \"$d\" && t=\"$f.sshdeck.tmp\" && \
             { [ -f \"$f\" ] && cat -- \"$f\"; printf '%s\\n' \"$k\"; } > \"$t\" && chmod 600 -- \"$t\" && mv -f -- \"$t\" \"$f\" && \
             echo \"added to $f\""
                .to_string()
        };
        let script = format!(
            "f={file}; k={}; b={}; if [ -f \"$f\" ] && grep -qF -- \"$b\" \"$f\"; then echo \"already authorized in $f\"; else {write}; fi",
            shell_quote(&key),
            shell_quote(&body),
        );
        let spec = JobSpec::Exec { command: script, timeout_ms: Some(30_000), read: dry_run };
        let mut r = self.run_inline(&p.target_alias, spec, None, ctx).await;
        if let Some(v) = r.structured_content.as_mut() {
            v["dryRun"] = json!(dry_run);
            v["key"] = json!(key);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_are_checked_and_their_comment_replaced() {
        let k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKv5ZQ2e0oL8YgYq1c2z0C8m3lJ0m7gJ0QwQ7nD7hZfZ old@host";
        assert_eq!(checked_key(k, Some("ci")).unwrap(), format!("{} ci", &k[..k.len() - 9]));
        assert!(checked_key(k, None).unwrap().ends_with("old@host"));
        for bad in ["", "rm -rf /", "ssh-ed25519 !!notbase64!!", "ssh-ed25519 AAAA\nssh-rsa AAAA"] {
            assert_eq!(checked_key(bad, None).unwrap_err().code(), "INVALID_ARGUMENT", "{bad:?}");
        }
    }
}
