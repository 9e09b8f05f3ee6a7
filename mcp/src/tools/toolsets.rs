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
}
