//! The MCP server: tool routers from each domain summed into one, read-only refusal in one place,
//! resources and prompts.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::handler::server::tool::{ToolCallContext, ToolRouter};
#[allow(deprecated)] // MCP logging (SEP-2577 deprecates it; clients still speak it)
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse, Implementation,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::model::{CancelTaskParams, GetTaskParams, GetTaskResult, SubscribeRequestParams, UnsubscribeRequestParams};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool_handler};
use sshdeck_core::Deck;
use sshdeck_core::jobs::JobId;

/// The server state shared by every tool.
#[derive(Clone)]
pub struct Sshdeck {
    pub deck: Deck,
    pub tool_router: ToolRouter<Sshdeck>,
    /// `rappel` reminders: job → (when it was asked, after how many seconds).
    pub reminders: Arc<Mutex<HashMap<JobId, (Instant, u64)>>>,
    /// Toolsets `tools/list` shows in this session.
    pub listed: Arc<Mutex<BTreeSet<&'static str>>>,
    /// This session's logging level and resource subscriptions.
    pub watch: Arc<crate::watch::Watch>,
}

impl Sshdeck {
    pub fn new(deck: Deck, listed: BTreeSet<&'static str>) -> Self {
        Sshdeck {
            deck,
            tool_router: Self::router(),
            reminders: Arc::default(),
            listed: Arc::new(Mutex::new(listed)),
            watch: Arc::default(),
        }
    }

    /// Every tool, one router per domain summed.
    pub fn router() -> ToolRouter<Sshdeck> {
        Self::servers_router()
            + Self::tasks_router()
            + Self::transfers_router()
            + Self::logs_router()
            + Self::ops_router()
            + Self::apis_router()
            + Self::fleet_router()
            + Self::jobs_router()
            + Self::service_router()
            + Self::files_router()
            + Self::diffs_router()
            + Self::snapshots_router()
            + Self::memory_router()
            + Self::projects_router()
            + Self::work_router()
            + Self::queue_router()
            + Self::tmux_router()
            + Self::shells_router()
            + Self::tunnels_router()
            + Self::keys_router()
            + Self::insight_router()
            + Self::inventory_router()
            + Self::guide_router()
            + Self::policy_router()
            + Self::toolsets_router()
    }
}

const INSTRUCTIONS: &str = "Run and watch work on registered Linux servers over SSH. Register a server with \
server_add (or use server_list), run commands with task_exec: results carry exit code, stdout and stderr. \
A call waits up to MCP_SYNC_TIMEOUT_S seconds; a longer job keeps running and the answer carries its id: \
follow it with task_wait or task_status, stop it with task_cancel.";

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Sshdeck {
    #[allow(deprecated)] // enable_logging: see watch.rs
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_logging()
                .enable_prompts()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new("sshdeck", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let listed = self.listed.lock().expect("lock").clone();
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| crate::toolsets::of(&t.name).is_none_or(|set| listed.contains(set)))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(crate::resources::list(&self.deck))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(crate::resources::templates())
    }

    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.watch.set_level(request.level, &self.deck, context.peer.clone());
        Ok(())
    }

    #[allow(deprecated)] // resources/subscribe: what clients speak today
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        // Any URI is accepted (as the MCP conformance suite expects); only sshdeck://jobs and
        // sshdeck://jobs/ID ever change.
        if !crate::watch::watchable(&request.uri) {
            tracing::debug!(uri = %request.uri, "subscription to a resource that never changes");
        }
        self.watch.subscribe(request.uri, &self.deck, context.peer.clone());
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.watch.unsubscribe(&request.uri);
        Ok(())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        crate::resources::read(&self.deck, &request.uri).map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(crate::resources::prompts())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        crate::resources::prompt(&request.name, &request.arguments.unwrap_or_default()).map(Into::into)
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        crate::tasks::get(&self.deck, &request.task_id, |job| self.job_answer(job))
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        crate::tasks::cancel(&self.deck, &request.task_id)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // Over HTTP, the request's token (checked by the HTTP layer) names the caller.
        let caller = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::tokens::Caller>())
            .cloned();
        // Read-only mode (or a read-only token): every tool not annotated read-only is refused here,
        // and only here.
        if (self.deck.settings().readonly || caller.as_ref().is_some_and(|c| c.readonly))
            && let Some(tool) = self.tool_router.get(&request.name)
            && tool.annotations.as_ref().and_then(|a| a.read_only_hint) != Some(true)
        {
            let e = sshdeck_core::Error::ReadOnly(request.name.to_string());
            return Ok(crate::render::error(&e).into());
        }
        // A task handle only where the request asked for one (its `_meta` names the tasks extension) of a
        // client that declared the extension: clients that declare it without handling task results
        // (the MCP Inspector 2.12) get the ordinary result with the running job's id.
        // A NUL byte cannot travel in a remote command line, path or header: refused at once, whichever
        // tool and argument it is in.
        if let Some(args) = &request.arguments
            && let Some(name) = args.iter().find_map(|(k, v)| has_nul(k, v).then_some(k))
        {
            let e = sshdeck_core::Error::InvalidArgument(format!(
                "{name} contains a NUL byte, which no remote shell, path or header can carry"
            ));
            return Ok(crate::render::error(&e).into());
        }
        let tasks = context.client_capabilities().is_some_and(|c| c.supports_tasks())
            && context.meta.contains_key(rmcp::model::TASKS_EXTENSION_ID);
        // A file tool call is recorded as a job around the call.
        let origin = caller.as_ref().map_or_else(|| "mcp".to_string(), |c| format!("mcp:{}", c.name));
        // A tool that is not read-only leaves a line in the audit trail.
        let audited = self
            .tool_router
            .get(&request.name)
            .is_some_and(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) != Some(true))
            .then(|| (request.name.to_string(), request.arguments.clone()));
        let record = crate::file_jobs::touches(&self.deck, &request.name, request.arguments.as_ref())
            .and_then(|t| crate::file_jobs::begin(&self.deck, &request.name, t, &origin));
        let tcc = ToolCallContext::new(self, request, context);
        let mut response = match caller.clone() {
            Some(c) => crate::tokens::CALLER.scope(c, self.tool_router.call(tcc)).await?,
            None => self.tool_router.call(tcc).await?,
        };
        if let (Some(job), CallToolResponse::Complete(r)) = (record, &mut response) {
            crate::file_jobs::conclude(job, r);
        }
        if let Some((tool, args)) = audited {
            let who = caller.as_ref().map_or("stdio", |c| c.name.as_str());
            crate::trail::record(&self.deck, &tool, args, who, &response);
        }
        // A client that speaks MCP Tasks gets a task handle for a job still running: the job is the task.
        if tasks
            && let CallToolResponse::Complete(r) = &response
            && let Some(handle) = crate::tasks::handle_for(&self.deck, r)
        {
            return Ok(CallToolResponse::Task(handle));
        }
        Ok(match response {
            // rmcp reports arguments that do not deserialize as a bare text error: give it our shape.
            CallToolResponse::Complete(r) if r.is_error == Some(true) && r.structured_content.is_none() => {
                let message =
                    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join(" ");
                let message = hide_values(&message);
                crate::render::error(&sshdeck_core::Error::InvalidArgument(message)).into()
            }
            other => other,
        })
    }
}

/// Whether a JSON argument (its name, a string in it, or a key of an object in it) holds a NUL byte.
fn has_nul(key: &str, v: &serde_json::Value) -> bool {
    use serde_json::Value;
    key.contains('\0')
        || match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(|x| has_nul("", x)),
            Value::Object(m) => m.iter().any(|(k, x)| has_nul(k, x)),
            _ => false,
        }
}

/// A deserialization message without the values it quotes (`invalid type: integer `918273645``): a
/// password or key sent with the wrong type must not come back in the error. Field names stay.
fn hide_values(message: &str) -> String {
    static VALUE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = VALUE.get_or_init(|| {
        regex::Regex::new(r#"(invalid (?:type|value|length): [a-z ]*?)\s*(`[^`]*`|"(?:[^"\\]|\\.)*")"#).expect("valid")
    });
    re.replace_all(message, "$1 (value not shown)").into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn deserialization_errors_never_quote_the_value() {
        let m = super::hide_values(
            "failed to deserialize parameters: invalid type: integer `918273645`, expected a string",
        );
        assert!(!m.contains("918273645") && m.contains("invalid type: integer (value not shown)"), "{m}");
        let m = super::hide_values(r#"invalid value: string "hunter2", expected one of `a`; unknown field `pasword`"#);
        assert!(!m.contains("hunter2") && m.contains("`pasword`"), "{m}");
    }
}
