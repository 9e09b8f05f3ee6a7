//! server_note_set, server_note_get, server_note_list, server_note_remove: what an agent remembers
//! about each server, in Node's `server_notes.json`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::notes::{NotePatch, one_line};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteSetParams {
    alias: String,
    #[serde(default)]
    services: Option<Vec<String>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    conventions: Option<Vec<String>>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    intervention: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteAliasParams {
    alias: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

fn note_text(alias: &str, n: &Value) -> String {
    let mut t = format!("{alias}: {}", one_line(n).unwrap_or_else(|| "(empty note)".into()));
    for k in ["services", "warnings", "conventions"] {
        if let Some(a) = n[k].as_array().filter(|a| !a.is_empty()) {
            let items: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            t.push_str(&format!("\n  {k}: {}", items.join(", ")));
        }
    }
    if let Some(s) = n["last_intervention"]["summary"].as_str() {
        t.push_str(&format!("\n  last intervention ({}): {s}", n["last_intervention"]["at"].as_str().unwrap_or("")));
    }
    t
}

#[tool_router(router = memory_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Remember facts about a server (partial merge): services, warnings, conventions, note; intervention records what was just done.",
        input_schema = schema::note_set_in(),
        output_schema = schema::note_out(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn server_note_set(&self, Parameters(p): Parameters<NoteSetParams>) -> Result<CallToolResult, ErrorData> {
        if let Err(e) = self.deck.server(&p.alias) {
            return Ok(render::error(&e));
        }
        let patch = NotePatch {
            services: p.services,
            warnings: p.warnings,
            conventions: p.conventions,
            note: p.note,
            intervention: p.intervention,
        };
        Ok(match self.deck.notes().set(&p.alias, patch) {
            Ok(n) => render::ok(json!({"alias": p.alias, "note": n}), note_text(&p.alias, &n)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "What is remembered about a server.",
        input_schema = schema::alias_in(),
        output_schema = schema::note_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn server_note_get(&self, Parameters(p): Parameters<NoteAliasParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.notes().get(&p.alias) {
            Ok(Some(n)) => render::ok(json!({"alias": p.alias, "note": n}), note_text(&p.alias, &n)),
            Ok(None) => render::ok(json!({"alias": p.alias, "note": null}), format!("no note for {}", p.alias)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Every server's note.",
        input_schema = schema::empty_in(),
        output_schema = schema::notes_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn server_note_list(&self, Parameters(_): Parameters<NoParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.notes().list() {
            Ok(all) => {
                let text = if all.is_empty() {
                    "no notes".to_string()
                } else {
                    all.iter().map(|(a, n)| note_text(a, n)).collect::<Vec<_>>().join("\n")
                };
                render::ok(json!({"total": all.len(), "notes": all}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Forget a server's note.",
        input_schema = schema::alias_in(),
        output_schema = schema::note_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = false)
    )]
    async fn server_note_remove(
        &self,
        Parameters(p): Parameters<NoteAliasParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.notes().remove(&p.alias) {
            Ok(n) => render::ok(json!({"alias": p.alias, "removed": n}), format!("note of {} removed", p.alias)),
            Err(e) => render::error(&e),
        })
    }
}
