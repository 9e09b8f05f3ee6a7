//! policy_blocklist_list, policy_blocklist_add, policy_blocklist_remove (Node's names): the deny list
//! an agent may tighten but only a human may loosen. Added patterns live in `policy.added.json` beside
//! the operator's `policy.toml` (never rewritten); removing one needs the human's confirmation through
//! MCP elicitation, else `POLICY_DENIED`; the operator's own patterns cannot be removed by a tool.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;
use sshdeck_core::policy::{DESTRUCTIVE, Policy};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::guard::Confirmation;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternParams {
    pattern: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

#[tool_router(router = policy_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "The command policy: the operator's deny, confirm and deny_paths patterns, patterns added by agents, the built-in destructive list.",
        input_schema = schema::empty_in(),
        output_schema = schema::policy_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn policy_blocklist_list(&self, Parameters(_): Parameters<NoParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match Policy::new(self.deck.data_root()).listing() {
            Ok(l) => {
                let (deny, confirm, deny_paths, added) = (l.deny, l.confirm, l.deny_paths, l.added);
                let builtin: Vec<_> = DESTRUCTIVE.iter().map(|(p, why)| json!({"pattern": p, "what": why})).collect();
                let text = format!(
                    "deny: {} (operator) + {} (added by agents); confirm first: {} + {} built in; denied paths: {}",
                    deny.len(),
                    added.len(),
                    confirm.len(),
                    builtin.len(),
                    deny_paths.len()
                );
                render::ok(
                    json!({"deny": deny, "added": added, "confirm": confirm, "denyPaths": deny_paths, "destructive": builtin}),
                    text,
                )
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Deny commands matching a regular expression, from now on, for every front end (tightens the policy).",
        input_schema = schema::pattern_in(),
        output_schema = schema::policy_change_out(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn policy_blocklist_add(
        &self,
        Parameters(p): Parameters<PatternParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match Policy::new(self.deck.data_root()).add_deny(&p.pattern) {
            Ok(added) => {
                let text = if added { format!("denied from now on: {}", p.pattern) } else { "already denied".into() };
                render::ok(json!({"pattern": p.pattern, "changed": added}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Stop denying an agent-added pattern: only with the human's confirmation (asked through the client), else POLICY_DENIED; the operator's own patterns stay.",
        input_schema = schema::pattern_in(),
        output_schema = schema::policy_change_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = false)
    )]
    async fn policy_blocklist_remove(
        &self,
        Parameters(p): Parameters<PatternParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let policy = Policy::new(self.deck.data_root());
        let denied =
            || Error::PolicyDenied { pattern: p.pattern.clone(), path: self.deck.data_root().join("policy.toml") };
        match policy.added() {
            Ok(added) if !added.contains(&p.pattern) => {
                let listed = policy.listing().map(|l| l.deny.contains(&p.pattern)).unwrap_or(false);
                let e =
                    if listed { denied() } else { Error::NotFound { what: "deny pattern", name: p.pattern.clone() } };
                return Ok(render::error(&e));
            }
            Ok(_) => {}
            Err(e) => return Ok(render::error(&e)),
        }
        let question = format!("An agent asks to stop denying commands matching:\n\n{}\n\nAllow it?", p.pattern);
        match ctx.peer.elicit::<Confirmation>(question).await {
            Ok(Some(Confirmation { confirm: true })) => {}
            _ => {
                let msg = format!(
                    "{:?} stays denied: loosening the policy needs the human's confirmation, which was not given",
                    p.pattern
                );
                let v = json!({"error": {"code": "POLICY_DENIED", "message": msg}});
                return Ok(render::failed(v, format!("error[POLICY_DENIED]: {msg}")));
            }
        }
        Ok(match policy.remove_deny(&p.pattern) {
            Ok(()) => {
                render::ok(json!({"pattern": p.pattern, "changed": true}), format!("no longer denied: {}", p.pattern))
            }
            Err(e) => render::error(&e),
        })
    }
}
