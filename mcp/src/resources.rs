//! Resources (`sshdeck://servers`, `sshdeck://jobs`, `sshdeck://jobs/{id}`, `sshdeck://jobs/{id}/output`)
//! and prompts.

use rmcp::ErrorData;
use rmcp::model::{
    GetPromptResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, Prompt, PromptArgument,
    PromptMessage, ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
};
use sshdeck_core::Deck;
use sshdeck_core::jobs::{Filter, JobId, JobReport};
use sshdeck_core::servers::ServerSummary;

/// Largest page of output one resource read returns.
const MAX_OUTPUT_READ: u64 = 8 << 20;
/// Recent jobs listed as resources.
const LISTED_JOBS: usize = 20;

pub fn list(deck: &Deck) -> ListResourcesResult {
    let mut items = vec![
        Resource::new("sshdeck://servers", "servers")
            .with_description("Registered servers (no secrets)")
            .with_mime_type("application/json"),
        Resource::new("sshdeck://jobs", "jobs")
            .with_description("The most recent jobs (subscribe to hear when any job changes)")
            .with_mime_type("application/json"),
    ];
    if let Ok(page) = deck.jobs_page(&Filter { limit: LISTED_JOBS, ..Default::default() }) {
        for j in page.jobs {
            items.push(
                Resource::new(format!("sshdeck://jobs/{}", j.id), format!("job {} ({})", j.id, j.status.as_str()))
                    .with_description(j.spec.summary())
                    .with_mime_type("application/json"),
            );
        }
    }
    ListResourcesResult::with_all_items(items)
}

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new("sshdeck://jobs/{id}", "job")
            .with_description("A job's record and result")
            .with_mime_type("application/json"),
        ResourceTemplate::new("sshdeck://jobs/{id}/output", "job output")
            .with_description(
                "A job's output (stdout and stderr as they arrived, up to JOB_OUTPUT_LIMIT_BYTES), 8 MiB a page: \
                 add ?offset=N (bytes) for the next page; a last line says where the next page starts",
            )
            .with_mime_type("text/plain"),
    ])
}

pub fn read(deck: &Deck, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let not_found = || ErrorData::resource_not_found(format!("no resource {uri}"), None);
    let internal = |e: sshdeck_core::Error| ErrorData::internal_error(e.to_string(), None);
    if uri == "sshdeck://servers" {
        let list: Vec<ServerSummary> = deck.servers().map_err(internal)?.iter().map(ServerSummary::from).collect();
        let text = serde_json::to_string_pretty(&list).expect("serializes");
        return Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type("application/json")]));
    }
    if uri == "sshdeck://jobs" {
        let page = deck.jobs_page(&Filter { limit: LISTED_JOBS, ..Default::default() }).map_err(internal)?;
        let jobs: Vec<JobReport> = page.jobs.iter().map(JobReport::of).collect();
        let text =
            serde_json::to_string_pretty(&serde_json::json!({"total": page.total, "jobs": jobs})).expect("serializes");
        return Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type("application/json")]));
    }
    let rest = uri.strip_prefix("sshdeck://jobs/").ok_or_else(not_found)?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut offset = 0u64;
    let mut length = MAX_OUTPUT_READ;
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        let n: u64 = v.parse().map_err(|_| ErrorData::invalid_params(format!("{k}={v:?} is not a number"), None))?;
        match k {
            "offset" => offset = n,
            "length" => length = n.clamp(1, MAX_OUTPUT_READ),
            _ => return Err(ErrorData::invalid_params(format!("unknown parameter {k} (offset, length)"), None)),
        }
    }
    let (id, output) = match rest.strip_suffix("/output") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let id = JobId::parse(id).map_err(|_| not_found())?;
    let job = deck.job(&id).map_err(|_| not_found())?;
    let contents = if output {
        let (bytes, total) = deck.job_output(&id, offset, length);
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        let next = offset + bytes.len() as u64;
        if next < total {
            text.push_str(&format!(
                "\n[sshdeck: bytes {offset}..{next} of {total}; next page: sshdeck://jobs/{id}/output?offset={next}]\n"
            ));
        } else if job.result.as_ref().is_some_and(|r| r.truncated) {
            text.push_str("\n[sshdeck: the output was cut at JOB_OUTPUT_LIMIT_BYTES; the rest was not kept]\n");
        }
        ResourceContents::text(text, uri).with_mime_type("text/plain")
    } else {
        let text = serde_json::to_string_pretty(&JobReport::of(&job)).expect("serializes");
        ResourceContents::text(text, uri).with_mime_type("application/json")
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

pub fn prompts() -> ListPromptsResult {
    let alias = || PromptArgument::new("alias").with_description("Server alias").with_required(true);
    ListPromptsResult::with_all_items(vec![
        Prompt::new("diagnose_server", Some("Check a server's health step by step"), Some(vec![alias()])),
        Prompt::new(
            "investigate_logs",
            Some("Find the cause of a problem in a server's logs"),
            Some(vec![
                alias(),
                PromptArgument::new("problem").with_description("What is going wrong").with_required(false),
            ]),
        ),
        Prompt::new(
            "deploy_sequence",
            Some("Run a deployment as a checked sequence of commands"),
            Some(vec![
                alias(),
                PromptArgument::new("steps").with_description("The deployment steps, one per line").with_required(true),
            ]),
        ),
    ])
}

pub fn prompt(name: &str, args: &serde_json::Map<String, serde_json::Value>) -> Result<GetPromptResult, ErrorData> {
    let arg = |k: &str| args.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let alias = arg("alias");
    if alias.is_empty() {
        return Err(ErrorData::invalid_params("argument alias is required", None));
    }
    let text = match name {
        "diagnose_server" => format!(
            "Diagnose server `{alias}`. With task_exec, check in turn: uptime and load (`uptime`), memory \
             (`free -m`), disks (`df -hP`), failed services (`systemctl --failed --no-legend`), recent errors \
             (`journalctl -p err -n 50 --no-pager`). Read each exit code and stderr before going on. Summarise \
             what is wrong, with evidence, and propose fixes; do not change anything without asking."
        ),
        "investigate_logs" => format!(
            "Investigate the logs of server `{alias}`{}. Start from the newest errors (`journalctl -p warning -n 100 \
             --no-pager`, then the application's own logs with `tail -n 200 FILE`), narrow down by time and \
             message, and quote the lines that explain the problem. Read-only commands only.",
            match arg("problem") {
                p if p.is_empty() => String::new(),
                p => format!(" about this problem: {p}"),
            }
        ),
        "deploy_sequence" => format!(
            "Deploy on server `{alias}` with task_exec_sequence, continueOnError false, these steps in order:\n{}\n\
             Before, show the plan and ask for confirmation. After, check each step's exit code and stderr, \
             then verify the service responds. If a step fails, stop and report it; do not improvise fixes.",
            arg("steps")
        ),
        other => return Err(ErrorData::invalid_params(format!("unknown prompt {other}"), None)),
    };
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]))
}
