//! project_list, project_get, project_set, project_remove, project_resolve, project_diff (Node's
//! names): where an application lives here and on each server, in Node's `projects.json`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sshdeck_core::Error;
use sshdeck_core::files::Source;
use sshdeck_core::files::folders::{FolderOptions, diff_folders};
use sshdeck_core::notes::one_line;
use sshdeck_core::projects::{self, ProjectPatch};

use super::files::DIFF_MAX;
use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// Names listed in a result's text, at most.
const LISTED: usize = 30;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameParams {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetParams {
    name: String,
    #[serde(default)]
    local: Option<Value>,
    #[serde(default)]
    servers: Option<Map<String, Value>>,
    #[serde(default)]
    ignore: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    network: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveParams {
    name: String,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiffParams {
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    include_diff: bool,
    #[serde(default)]
    compact: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// One line about a project: its roles and local path.
fn project_line(name: &str, p: &Value) -> String {
    let roles: Vec<String> = projects::roles(p).iter().map(|r| format!("{}={}:{}", r.role, r.alias, r.path)).collect();
    let local = p["local"]["path"].as_str().map(|l| format!(" local {l}")).unwrap_or_default();
    let roles = if roles.is_empty() { "no server role".to_string() } else { roles.join(" ") };
    format!("{name}: {roles}{local}")
}

impl Sshdeck {
    /// The project's roles with their servers' coordinates (never a secret) and notes.
    fn resolve(&self, name: &str, only: Option<&str>) -> Result<Vec<Value>, Error> {
        let p = self.deck.projects().get(name)?;
        let roles = match only {
            Some(_) => vec![projects::role(&p, only)?],
            None => projects::roles(&p),
        };
        let notes = self.deck.notes().list().unwrap_or_default();
        roles
            .into_iter()
            .map(|r| {
                let s = &p["servers"][r.role.as_str()];
                let mut v = json!({"role": r.role, "alias": r.alias, "path": r.path});
                for k in ["url", "runtime"] {
                    if !s[k].is_null() {
                        v[k] = s[k].clone();
                    }
                }
                match self.deck.server(&r.alias) {
                    Ok(srv) => {
                        v["host"] = json!(srv.config.host);
                        v["user"] = json!(srv.config.user);
                        v["port"] = json!(srv.config.port);
                    }
                    Err(e) => v["error"] = json!({"code": e.code(), "message": e.to_string()}),
                }
                if let Some(line) = notes.get(&r.alias).and_then(one_line) {
                    v["note"] = json!(line);
                }
                Ok(v)
            })
            .collect()
    }
}

#[tool_router(router = projects_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Every project: its roles (role=alias:path) and local path.",
        input_schema = schema::empty_in(),
        output_schema = schema::projects_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn project_list(&self, Parameters(_): Parameters<NoParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.projects().list() {
            Ok(all) => {
                let lines: Vec<String> = all.iter().map(|(n, p)| project_line(n, p)).collect();
                let text = if lines.is_empty() { "no projects".to_string() } else { lines.join("\n") };
                render::ok(json!({"total": all.len(), "projects": all.into_values().collect::<Vec<_>>()}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "One project: local path, roles (alias, path, runtime, url), ignore, tags, network.",
        input_schema = schema::project_name_in(),
        output_schema = schema::project_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn project_get(&self, Parameters(p): Parameters<NameParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.projects().get(&p.name) {
            Ok(v) => render::ok(json!({"name": p.name, "project": v}), project_line(&p.name, &v)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Create or update a project (partial; servers merge by role; aliases must exist).",
        input_schema = schema::project_set_in(),
        output_schema = schema::project_out(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn project_set(&self, Parameters(p): Parameters<SetParams>) -> Result<CallToolResult, ErrorData> {
        let patch =
            ProjectPatch { local: p.local, servers: p.servers, ignore: p.ignore, tags: p.tags, network: p.network };
        let exists = |alias: &str| self.deck.server(alias).is_ok();
        Ok(match self.deck.projects().set(&p.name, patch, exists) {
            Ok((v, created)) => {
                let verb = if created { "created" } else { "updated" };
                render::ok(json!({"name": p.name, "project": v, "created": created}), {
                    format!("project {verb}: {}", project_line(&p.name, &v))
                })
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Forget a project (its servers and files are untouched).",
        input_schema = schema::project_name_in(),
        output_schema = schema::project_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = false)
    )]
    async fn project_remove(&self, Parameters(p): Parameters<NameParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.projects().remove(&p.name) {
            Ok(v) => render::ok(json!({"name": p.name, "project": v}), format!("project {} removed", p.name)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Where a project runs: each role's server, path, url, runtime and note.",
        input_schema = schema::project_resolve_in(),
        output_schema = schema::project_resolve_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn project_resolve(&self, Parameters(p): Parameters<ResolveParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.resolve(&p.name, p.role.as_deref()) {
            Ok(roles) => {
                let text: Vec<String> = roles
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: {} ({}@{}:{}) {}{}",
                            r["role"].as_str().unwrap_or(""),
                            r["alias"].as_str().unwrap_or(""),
                            r["user"].as_str().unwrap_or("?"),
                            r["host"].as_str().unwrap_or("?"),
                            r["port"],
                            r["path"].as_str().unwrap_or(""),
                            r["url"].as_str().map(|u| format!(" {u}")).unwrap_or_default()
                        )
                    })
                    .collect();
                render::ok(json!({"name": p.name, "roles": roles}), format!("{}\n{}", p.name, text.join("\n")))
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Compare a project's local directory with a role's directory on its server: only local, only remote, modified (+/- lines).",
        input_schema = schema::project_diff_in(),
        output_schema = schema::project_diff_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn project_diff(&self, Parameters(p): Parameters<DiffParams>) -> Result<CallToolResult, ErrorData> {
        let prepared = (|| {
            let proj = self.deck.projects().get(&p.name)?;
            let role = projects::role(&proj, p.role.as_deref())?;
            let local = proj["local"]["path"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::InvalidArgument(format!("project {} has no local.path to compare", p.name)))?;
            self.deck.server(&role.alias)?;
            self.deck.check_file_path(&role.path)?;
            Ok::<_, Error>((proj, role, local))
        })();
        let (proj, role, local) = match prepared {
            Ok(x) => x,
            Err(e) => return Ok(render::error(&e)),
        };
        let opts = FolderOptions {
            recursive: true,
            compare_content: true,
            diff_bytes: p.include_diff.then_some(DIFF_MAX / 4),
            ignore: projects::ignore(&proj),
        };
        let remote = Source::Remote { alias: role.alias.clone(), path: role.path.clone() };
        let d = match diff_folders(&self.deck, &remote, &Source::Local(local.clone()), &opts).await {
            Ok(d) => d,
            Err(e) => return Ok(render::error(&e)),
        };
        let compact = p.compact.unwrap_or(true);
        let modified: Vec<Value> = d
            .modified
            .iter()
            .map(|m| {
                if compact && m.diff.is_none() {
                    json!({"path": m.path, "added": m.added, "removed": m.removed, "binary": m.binary})
                } else {
                    json!(m)
                }
            })
            .collect();
        let mut text = format!(
            "{} {} ({}:{}) vs local {}: {} identical, {} modified, {} only local, {} only on the server",
            p.name,
            role.role,
            role.alias,
            role.path,
            local,
            d.identical.len(),
            d.modified.len(),
            d.only_in2.len(),
            d.only_in1.len()
        );
        for m in d.modified.iter().take(LISTED) {
            let lines = match (m.added, m.removed) {
                (Some(a), Some(r)) => format!(" +{a} -{r}"),
                _ => String::new(),
            };
            text.push_str(&format!("\nM {}{lines}", m.path));
        }
        for (mark, list) in [("+", &d.only_in2), ("-", &d.only_in1)] {
            for path in list.iter().take(LISTED) {
                text.push_str(&format!("\n{mark} {path}"));
            }
        }
        for m in d.modified.iter().filter_map(|m| m.diff.as_ref()) {
            text.push_str(&format!("\n{m}"));
        }
        let mut v = json!({
            "name": p.name, "role": role.role, "alias": role.alias, "remotePath": role.path, "localPath": local,
            "same": d.same(), "onlyLocal": d.only_in2, "onlyRemote": d.only_in1, "modified": modified,
            "unreadable": d.unreadable, "filesLocal": d.files2, "filesRemote": d.files1,
        });
        if compact {
            v["identical"] = json!(d.identical.len());
        } else {
            v["identical"] = json!(d.identical);
        }
        Ok(render::ok(v, text))
    }
}
