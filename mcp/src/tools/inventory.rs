//! server_inventory and infra_overview (Node's names): what a server is and runs, parsed (PM2
//! included), cached in the data dir for an hour unless `force`; and the graph domain → proxy →
//! port → process, container or PM2 app of one server or many, cached five minutes unless `live`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::ops::Run;
use sshdeck_core::ops::{inventory, overview};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::{Targets, cancel_on_request};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryParams {
    alias: String,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    compact: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverviewParams {
    #[serde(default)]
    alias: Option<Targets>,
    #[serde(default)]
    live: bool,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    compact: Option<bool>,
    #[serde(default, rename = "timeoutMs")]
    timeout_ms: Option<u64>,
}

/// The compact form: no parsed sites, ports as `port(owner)`.
fn compact_overview(o: &mut Value) {
    if let Some(m) = o.as_object_mut() {
        m.remove("sites");
        let ports: Vec<Value> = m
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| json!(inventory::port_owner(p)))
            .collect();
        m.insert("ports".into(), json!(ports));
    }
}

#[tool_router(router = inventory_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "What a server is and runs, parsed: OS, CPU, memory, disks, uptime, listening ports with processes, systemd, Docker, PM2. Cached an hour; force refreshes.",
        input_schema = schema::inventory_in(),
        output_schema = schema::inventory_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn server_inventory(
        &self,
        Parameters(p): Parameters<InventoryParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if let Err(e) = self.deck.server(&p.alias) {
            return Ok(render::error(&e));
        }
        let (cancel, _watch) = cancel_on_request(&ctx);
        let run = Run { cancel: Some(cancel), ..Run::default() };
        let root = self.deck.data_root().to_path_buf();
        Ok(match inventory::inventory(&self.deck, &root, &p.alias, p.force, run).await {
            Ok((mut inv, cached, age)) => {
                let text = inventory::summary(&inv);
                if p.compact.unwrap_or(false) {
                    // Names instead of the services' full records.
                    let s = &inv["services"];
                    inv["services"] = json!({
                        "systemd": inventory::names(&s["systemd"]["running"], "unit"),
                        "docker": inventory::names(&s["docker"]["containers"], "name"),
                        "pm2": inventory::names(&s["pm2"]["apps"], "name"),
                    });
                }
                inv["cached"] = json!(cached);
                inv["ageSeconds"] = json!(age);
                let note =
                    if cached { format!("\n(cached {age} s ago; force: true refreshes)") } else { String::new() };
                render::ok(inv, format!("{text}{note}"))
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Topology: domain -> nginx location -> port -> process, container or PM2 app, from ss, nginx -T (sudo -n), docker ps and pm2 jlist. One alias, a list, a group or all (default). Cached 5 min; live or force reads now.",
        input_schema = schema::overview_in(),
        output_schema = schema::overview_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn infra_overview(
        &self,
        Parameters(p): Parameters<OverviewParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let timeout = match p.timeout_ms {
            None => 25_000,
            Some(ms) if (5_000..=60_000).contains(&ms) => ms,
            Some(ms) => {
                let e = sshdeck_core::Error::InvalidArgument(format!("timeoutMs: 5000 to 60000, not {ms}"));
                return Ok(render::error(&e));
            }
        };
        let targets = p.alias.unwrap_or_else(|| Targets::One("all".into()));
        let (fresh, compact) = (p.live || p.force, p.compact.unwrap_or(true));
        let deck = &self.deck;
        let get = |alias: String, mut run: Run| async move {
            run.timeout = Some(std::time::Duration::from_millis(timeout));
            let (mut o, cached, age) = overview::overview_cached(deck, deck.data_root(), &alias, fresh, run).await?;
            if compact {
                compact_overview(&mut o);
            }
            o["cached"] = json!(cached);
            o["ageSeconds"] = json!(age);
            Ok::<_, sshdeck_core::Error>(o)
        };
        if let Some(alias) = self.single_target(&targets) {
            if let Err(e) = self.deck.server(&alias) {
                return Ok(render::error(&e));
            }
            let (cancel, _watch) = cancel_on_request(&ctx);
            return Ok(match get(alias.clone(), Run { cancel: Some(cancel), ..Run::default() }).await {
                Ok(mut o) => {
                    let text = overview::text(&alias, &o);
                    o["alias"] = json!(alias);
                    render::ok(o, text)
                }
                Err(e) => render::error(&e),
            });
        }
        Ok(self.probe_targets(&ctx, &targets, get).await)
    }
}
