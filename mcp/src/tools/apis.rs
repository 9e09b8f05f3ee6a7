//! api_add, api_list, api_remove, api_check: the API catalog (apis.json, 0600). Secrets go in and are
//! never shown again: listings say only whether they are set.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::apis::{self, Api, AuthMethod, Catalog};
use sshdeck_core::secret::Secret;

use crate::render;
use crate::schema;
use crate::server::Sshdeck;
use crate::tools::common::probe;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddParams {
    alias: String,
    url: String,
    #[serde(default)]
    health_check_endpoint: Option<String>,
    #[serde(default)]
    health_check_method: Option<String>,
    #[serde(default)]
    auth_method: Option<String>,
    #[serde(default)]
    api_key: Option<Secret>,
    #[serde(default)]
    auth_header_name: Option<String>,
    #[serde(default)]
    auth_scheme: Option<String>,
    #[serde(default)]
    htpasswd_user: Option<String>,
    #[serde(default)]
    htpasswd_pass: Option<Secret>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    expected_status: Option<u16>,
    #[serde(default)]
    timeout: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiAliasParams {
    alias: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    alias: String,
    #[serde(default)]
    server_alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthParams {
    alias: String,
    url: String,
}

#[tool_router(router = apis_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Add (or replace) an API in the health-check catalog. Secrets are stored 0600 and never shown.",
        input_schema = schema::api_add_in(),
        output_schema = schema::api_out(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn api_add(&self, Parameters(p): Parameters<AddParams>) -> Result<CallToolResult, ErrorData> {
        let auth_method = match AuthMethod::parse(p.auth_method.as_deref().unwrap_or("none")) {
            Ok(m) => m,
            Err(e) => return Ok(render::error(&e)),
        };
        let api = Api {
            url: p.url,
            health_check_endpoint: p.health_check_endpoint,
            health_check_method: p.health_check_method,
            auth_method,
            api_key: p.api_key,
            auth_header_name: p.auth_header_name,
            auth_scheme: p.auth_scheme,
            htpasswd_user: p.htpasswd_user,
            htpasswd_pass: p.htpasswd_pass,
            notes: p.notes,
            expected_status: p.expected_status,
            timeout: p.timeout,
            created_at: String::new(),
            last_check: None,
        };
        let catalog = self.catalog();
        Ok(match catalog.add(&p.alias, api).and_then(|replaced| Ok((replaced, catalog.get(&p.alias)?))) {
            Ok((replaced, api)) => {
                let mut v = api.public(&p.alias);
                v["replaced"] = json!(replaced);
                let verb = if replaced { "replaced" } else { "added" };
                render::ok(v, format!("API {} {verb}: {}", p.alias, api.check_url()))
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "APIs in the catalog with their last check (secrets never shown).",
        input_schema = schema::empty_in(),
        output_schema = schema::apis_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn api_list(&self) -> Result<CallToolResult, ErrorData> {
        Ok(match self.catalog().list() {
            Ok(map) => {
                let mut text = format!("{} API(s)", map.len());
                for (alias, api) in &map {
                    let last = api.last_check.as_ref().map_or("never checked".to_string(), |c| {
                        format!(
                            "{} {} at {}",
                            c.status,
                            c.http_code.map_or("-".into(), |h| h.to_string()),
                            c.checked_at
                        )
                    });
                    text.push_str(&format!("\n{alias}: {} [{last}]", api.check_url()));
                }
                let apis: Vec<_> = map.iter().map(|(alias, api)| api.public(alias)).collect();
                render::ok(json!({"apis": apis}), text)
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Remove an API from the catalog.",
        input_schema = schema::api_alias_in(),
        output_schema = schema::api_out(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn api_remove(&self, Parameters(p): Parameters<ApiAliasParams>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.catalog().remove(&p.alias) {
            Ok(api) => render::ok(api.public(&p.alias), format!("API {} removed", p.alias)),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Health-check an API: from here, or from server_alias with curl. UP / DOWN (no response, 5xx) / ERROR (other status, TLS), HTTP code, time, TLS expiry.",
        input_schema = schema::api_check_in(),
        output_schema = schema::api_check_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn api_check(
        &self,
        Parameters(p): Parameters<CheckParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let catalog = self.catalog();
        let api = match catalog.get(&p.alias) {
            Ok(a) => a,
            Err(e) => return Ok(render::error(&e)),
        };
        let check = |run| async {
            let r = match p.server_alias.as_deref() {
                None => apis::check_local(&api).await,
                Some(server) => apis::check_from_server(&self.deck, server, &api, run).await?,
            };
            catalog.record(&p.alias, &r)?;
            Ok(check_value(&p.alias, &r))
        };
        Ok(probe(&ctx, check).await)
    }

    #[tool(
        description = "HTTP health check of a URL from a server (curl there): UP / DOWN / ERROR, HTTP code, time, TLS expiry.",
        input_schema = schema::api_health_in(),
        output_schema = schema::api_check_out(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn check_api_health(
        &self,
        Parameters(p): Parameters<HealthParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let api = apis::Api::new(p.url.clone());
        if let Err(e) = api.validate() {
            return Ok(render::error(&e));
        }
        let check = |run| async {
            let r = apis::check_from_server(&self.deck, &p.alias, &api, run).await?;
            Ok(check_value(&p.alias, &r))
        };
        Ok(probe(&ctx, check).await)
    }
}

/// A check's result as tool output; `error` is `{code, message}` in every tool's output, so a DOWN or
/// ERROR check says why there.
fn check_value(alias: &str, r: &apis::CheckResult) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("serializes");
    v["alias"] = json!(alias);
    if let Some(reason) = r.error.as_deref() {
        v["error"] = json!({"code": format!("API_{}", r.status), "message": reason});
    }
    v
}

impl Sshdeck {
    fn catalog(&self) -> Catalog {
        self.deck.api_catalog()
    }
}
