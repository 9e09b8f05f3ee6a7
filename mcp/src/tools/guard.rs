//! What an agent's command passes before it runs: the operator's policy (`policy.toml`, which no
//! argument skips), the destructive-command confirmation (`force: true`, or the human's answer through
//! MCP elicitation), and `dry_run`, which answers what would run and runs nothing.

use rmcp::model::CallToolResult;
use rmcp::service::{ElicitationError, RequestContext};
use rmcp::{RoleServer, elicit_safe};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;
use sshdeck_core::jobs::JobSpec;

use crate::render;
use crate::server::Sshdeck;
use crate::tools::common::Targets;

/// The Node orchestrator's guard arguments of a command tool.
#[derive(Debug, Default, Clone, Copy)]
pub struct Guard {
    /// Node's escape hatch from its policy; sshdeck accepts it but the operator's policy still applies.
    pub skip_policy: bool,
    /// Answer what would run, run nothing.
    pub dry_run: bool,
    /// Run a destructive command without asking.
    pub force: bool,
}

/// The human's answer to "run this destructive command?".
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Confirmation {
    /// true to run the command.
    pub confirm: bool,
}
elicit_safe!(Confirmation);

impl Sshdeck {
    /// `Some(answer)` when the call must answer now instead of running: a dry run, a policy refusal, or
    /// a destructive command that nobody confirmed.
    pub async fn guard(
        &self,
        targets: &Targets,
        spec: &JobSpec,
        guard: &Guard,
        ctx: &RequestContext<RoleServer>,
    ) -> Option<CallToolResult> {
        let aliases = match self.deck.resolve_targets(&targets.exprs()) {
            Ok(a) => a,
            Err(e) => return Some(render::error(&e)),
        };
        // The refusal as {code, message}; with skip_policy, the message says why it did not help.
        let checked = self.deck.preflight(&aliases, spec).map_err(|e| {
            let mut message = e.to_string();
            if guard.skip_policy && matches!(e, Error::PolicyDenied { .. }) {
                message.push_str(
                    "; skip_policy does not bypass the operator's policy.toml (only the operator can change it)",
                );
            }
            (e.code(), message)
        });
        let destructive = match self.deck.destructive(spec) {
            Ok(d) => d,
            Err(e) => return Some(render::error(&e)),
        };
        if guard.dry_run {
            let (verdict, refusal) = match &checked {
                Ok(()) => ("allowed", None),
                Err((code, message)) => ("refused", Some(json!({"code": code, "message": message}))),
            };
            let would_run = checked.is_ok() && (destructive.is_none() || guard.force);
            let v = json!({
                "dryRun": true,
                "status": "dry_run",
                "targets": aliases,
                "commands": spec.commands(),
                "policy": verdict,
                "refusal": refusal,
                "destructive": destructive.as_ref().map(|(_, why)| why),
                "wouldRun": would_run,
                "message": if would_run { "nothing was run: call again without dry_run to run it" }
                    else if checked.is_err() { "this would be refused" }
                    else { "this needs force: true (a destructive command)" },
            });
            let text = format!(
                "dry run: {} on {} — policy {verdict}{}{}",
                spec.summary(),
                aliases.join(", "),
                destructive.as_ref().map(|(_, w)| format!(", destructive ({w})")).unwrap_or_default(),
                if would_run { ", would run" } else { ", would not run" }
            );
            return Some(render::ok(v, text));
        }
        if let Err((code, message)) = checked {
            let v = json!({"error": {"code": code, "message": message}});
            return Some(render::failed(v, format!("error[{code}]: {message}")));
        }
        let (command, reason) = destructive?;
        if guard.force {
            return None;
        }
        let question = format!(
            "An agent asks to run a destructive command ({reason}) on {}:\n\n{command}\n\nRun it?",
            aliases.join(", ")
        );
        let refusal = match ctx.peer.elicit::<Confirmation>(question).await {
            Ok(Some(Confirmation { confirm: true })) => return None,
            Ok(_) | Err(ElicitationError::UserDeclined) | Err(ElicitationError::UserCancelled) => {
                format!("{command:?} looks destructive ({reason}) and the user did not confirm it: it was not run")
            }
            Err(_) => return Some(render::error(&Error::ConfirmationRequired { command, reason })),
        };
        let e = Error::ConfirmationRequired { command: String::new(), reason: String::new() };
        let v = json!({"error": {"code": e.code(), "message": refusal}});
        Some(render::failed(v, format!("error[{}]: {refusal}", e.code())))
    }
}
