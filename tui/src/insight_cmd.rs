//! `sshdeck inventory ALIAS` and `sshdeck overview [TARGET...]`: what a server is and runs, and the
//! graph domain → proxy → port → process of one server or many — the MCP tools' answers for people.

use std::io::Write;

use futures_util::StreamExt;
use serde_json::{Value, json};
use sshdeck_core::Deck;
use sshdeck_core::ops::{Run, inventory, overview};

/// `sshdeck inventory` arguments.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Server alias.
    pub alias: String,
    /// Gather again (an inventory is cached in the data dir for an hour).
    #[arg(long)]
    pub force: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `sshdeck overview` arguments.
#[derive(Debug, clap::Args)]
pub struct OverviewArgs {
    /// Aliases, `group:NAME`, `tag:NAME` or `all` (the default).
    pub targets: Vec<String>,
    /// Read the servers now (an overview is cached five minutes).
    #[arg(long)]
    pub live: bool,
    /// Print JSON: one object per server.
    #[arg(long)]
    pub json: bool,
}

/// Prints one server's inventory; exit 0.
pub async fn inventory(deck: &Deck, a: InventoryArgs) -> anyhow::Result<i32> {
    deck.server(&a.alias)?;
    let (mut inv, cached, age) =
        inventory::inventory(deck, deck.data_root(), &a.alias, a.force, Run::default()).await?;
    let mut out = std::io::stdout().lock();
    if a.json {
        inv["cached"] = json!(cached);
        inv["ageSeconds"] = json!(age);
        writeln!(out, "{}", serde_json::to_string_pretty(&inv)?)?;
    } else {
        writeln!(out, "{}", inventory::summary(&inv))?;
        if cached {
            writeln!(out, "(cached {age} s ago; --force gathers again)")?;
        }
    }
    Ok(0)
}

/// Prints each server's overview as its answers come; exit 1 when one failed.
pub async fn overview(deck: &Deck, a: OverviewArgs) -> anyhow::Result<i32> {
    let exprs = if a.targets.is_empty() { vec!["all".to_string()] } else { a.targets };
    let aliases = deck.resolve_targets(&exprs)?;
    let live = a.live;
    let mut answers = futures_util::stream::iter(aliases)
        .map(|alias| async move {
            let r = overview::overview_cached(deck, deck.data_root(), &alias, live, Run::default()).await;
            (alias, r)
        })
        .buffered(deck.settings().fleet_concurrency);
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    while let Some((alias, r)) = answers.next().await {
        match r {
            Ok((mut o, cached, age)) => {
                if a.json {
                    o["alias"] = json!(alias);
                    o["cached"] = json!(cached);
                    o["ageSeconds"] = json!(age);
                    writeln!(out, "{}", serde_json::to_string(&o)?)?;
                } else {
                    writeln!(out, "{}", overview::text(&alias, &o))?;
                    writeln!(out, "  ports: {}", ports(&o))?;
                }
            }
            Err(e) => {
                failed += 1;
                if a.json {
                    writeln!(
                        out,
                        "{}",
                        json!({"alias": alias, "error": {"code": e.code(), "message": e.to_string()}})
                    )?;
                } else {
                    writeln!(out, "{alias}: error[{}]: {e}", e.code())?;
                }
            }
        }
    }
    Ok(i32::from(failed > 0))
}

/// Listening ports with what owns them: `80(nginx) 3000(pm2 api)`.
fn ports(o: &Value) -> String {
    let list: Vec<String> = o["ports"].as_array().into_iter().flatten().map(inventory::port_owner).collect();
    if list.is_empty() { "-".into() } else { list.join(" ") }
}
