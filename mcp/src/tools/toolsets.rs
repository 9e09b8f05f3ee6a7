//! toolsets: list the toolsets, and list more of them in `tools/list` for this session.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::Targets;
use crate::toolsets::{self, TOOLSETS};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsetsParams {
    /// Toolsets to list from now on in this session (a name, a list, or "all").
    #[serde(default)]
    enable: Option<Targets>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpParams {
    #[serde(default)]
    tool: Option<String>,
}

/// One tool's arguments from its input schema: name, type, whether required, what it is.
fn arguments(schema: &serde_json::Map<String, Value>) -> Vec<Value> {
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let props = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    props
        .iter()
        .map(|(name, p)| {
            json!({"name": name, "type": p.get("type").cloned().unwrap_or(Value::Null),
                "required": required.contains(&name.as_str()),
                "description": p.get("description").and_then(Value::as_str).unwrap_or("")})
        })
        .collect()
}

#[tool_router(router = toolsets_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Toolsets and whether tools/list shows them; enable lists more this session. Every tool is callable either way.",
        input_schema = schema::toolsets_in(),
        output_schema = schema::toolsets_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn toolsets(
        &self,
        Parameters(p): Parameters<ToolsetsParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let mut added = Vec::new();
        if let Some(enable) = p.enable {
            let wanted = match toolsets::parse(&enable.exprs().join(",")) {
                Ok(w) => w,
                Err(e) => return Ok(render::error(&e)),
            };
            let mut listed = self.listed.lock().expect("lock");
            for name in wanted {
                if listed.insert(name) {
                    added.push(name);
                }
            }
        }
        if !added.is_empty() {
            let _ = ctx.peer.notify_tool_list_changed().await;
        }
        let listed = self.listed.lock().expect("lock").clone();
        let rows: Vec<Value> = TOOLSETS
            .iter()
            .map(|t| json!({"name": t.name, "about": t.about, "tools": t.tools, "listed": listed.contains(t.name)}))
            .collect();
        let mut text: String = TOOLSETS
            .iter()
            .map(|t| {
                let mark = if listed.contains(t.name) { "listed" } else { "not listed" };
                format!("{} ({} tools, {mark}): {}\n", t.name, t.tools.len(), t.about)
            })
            .collect();
        if !added.is_empty() {
            text.push_str(&format!("enabled: {}", added.join(", ")));
        }
        Ok(render::ok(json!({"toolsets": rows, "enabled": added}), text.trim_end().to_string()))
    }

    #[tool(
        description = "Help from the live tool list: every tool by toolset with what it does, or one tool's arguments.",
        input_schema = schema::help_in(),
        output_schema = schema::help_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn help(&self, Parameters(p): Parameters<HelpParams>) -> Result<CallToolResult, ErrorData> {
        let all = self.tool_router.list_all();
        let set_of = |name: &str| TOOLSETS.iter().find(|t| t.tools.contains(&name)).map_or("", |t| t.name);
        if let Some(name) = p.tool {
            let Some(t) = all.iter().find(|t| t.name == name) else {
                let e = sshdeck_core::Error::NotFound { what: "tool", name };
                return Ok(render::error(&e));
            };
            let args = arguments(&t.input_schema);
            let ann = t.annotations.as_ref();
            let mut text =
                format!("{} ({} toolset): {}", t.name, set_of(&t.name), t.description.as_deref().unwrap_or(""));
            for a in &args {
                let req = if a["required"] == true { " (required)" } else { "" };
                text.push_str(&format!(
                    "\n  {}{req}: {}",
                    a["name"].as_str().unwrap_or(""),
                    a["description"].as_str().unwrap_or("")
                ));
            }
            let v = json!({"tool": {"name": t.name, "toolset": set_of(&t.name), "description": t.description,
                "arguments": args, "readOnly": ann.and_then(|a| a.read_only_hint).unwrap_or(false),
                "destructive": ann.and_then(|a| a.destructive_hint).unwrap_or(false)}});
            return Ok(render::ok(v, text));
        }
        let mut text = String::new();
        let sets: Vec<Value> = TOOLSETS
            .iter()
            .map(|set| {
                text.push_str(&format!("{} — {}\n", set.name, set.about));
                let tools: Vec<Value> = set
                    .tools
                    .iter()
                    .filter_map(|n| all.iter().find(|t| t.name == *n))
                    .map(|t| {
                        let d = t.description.as_deref().unwrap_or("");
                        text.push_str(&format!("  {}: {d}\n", t.name));
                        json!({"name": t.name, "description": d})
                    })
                    .collect();
                json!({"name": set.name, "about": set.about, "tools": tools})
            })
            .collect();
        text.push_str("help {tool: NAME} gives a tool's arguments.");
        Ok(render::ok(json!({"toolsets": sets}), text))
    }
}
