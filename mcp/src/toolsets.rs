//! Toolsets: named groups of tools. `MCP_TOOLSETS` picks which ones `tools/list` shows (listing every
//! tool costs an agent context on every turn); the `toolsets` tool lists them and enables more for the
//! session. A call to any tool works whether or not its toolset is listed, so prompts written for the
//! Node orchestrator keep working.

use std::collections::BTreeSet;

use sshdeck_core::Error;

/// One toolset: name, what it is for (one line), its tools.
pub struct Toolset {
    pub name: &'static str,
    pub about: &'static str,
    pub tools: &'static [&'static str],
}

/// Every toolset; every tool belongs to exactly one (a test checks it).
pub const TOOLSETS: &[Toolset] = &[
    Toolset {
        name: "core",
        about: "servers and jobs: register servers, run commands, sequences and prompts, follow the queue",
        tools: &[
            "server_add",
            "server_list",
            "server_remove",
            "task_exec",
            "task_exec_sequence",
            "task_exec_interactive",
            "task_queue",
            "task_status",
            "task_wait",
            "task_cancel",
            "task_history",
            "task_retry",
            "queue_stats",
            "task_logs",
            "pool_stats",
            "system_diagnostics",
            "toolsets",
        ],
    },
    Toolset {
        name: "transfers",
        about: "SFTP uploads, downloads and server-to-server copies of files, directories and globs",
        tools: &["task_transfer", "task_transfer_multi"],
    },
    Toolset {
        name: "ops",
        about: "monitoring and logs: CPU/memory/disks, services, fail2ban, tail, journald, docker, pm2",
        tools: &[
            "get_system_resources",
            "get_services_status",
            "get_fail2ban_status",
            "tail_file",
            "get_journal_logs",
            "get_docker_logs",
            "get_pm2_logs",
        ],
    },
    Toolset {
        name: "fleet",
        about: "server groups and a reachability/health digest of many servers",
        tools: &["server_group_set", "server_group_list", "server_group_remove", "fleet_status"],
    },
    Toolset {
        name: "network",
        about: "ping, port checks, DNS lookups and HTTP requests made from a server; SSH tunnels (-L, -R, SOCKS)",
        tools: &[
            "net_ping",
            "net_port_check",
            "net_dns_lookup",
            "net_http_request",
            "tunnel_create",
            "tunnel_list",
            "tunnel_close",
            "tunnel_allowlist_add",
            "tunnel_allowlist_remove",
        ],
    },
    Toolset {
        name: "apis",
        about: "the API health-check catalog: add, list, remove, check (from here or from a server)",
        tools: &["api_add", "api_list", "api_remove", "api_check", "check_api_health"],
    },
    Toolset {
        name: "files",
        about: "read, write and edit a server's files safely (sha256-guarded, atomic), diffs of files and trees, fleet drift",
        tools: &["file_read", "file_write", "file_edit", "diff_files", "diff_folders", "compare_all_sources"],
    },
    Toolset {
        name: "snapshots",
        about: "snapshots of files and directories before a change: create, list, diff, restore, delete",
        tools: &["snapshot_create", "snapshot_list", "snapshot_diff", "snapshot_restore", "snapshot_delete"],
    },
    Toolset {
        name: "memory",
        about: "what an agent remembers between conversations: server notes, projects (where an app lives on each server), work sessions (an intervention's log and jobs)",
        tools: &[
            "server_note_set",
            "server_note_get",
            "server_note_list",
            "server_note_remove",
            "project_list",
            "project_get",
            "project_set",
            "project_remove",
            "project_resolve",
            "project_diff",
            "work_start",
            "work_log",
            "work_list",
            "work_end",
        ],
    },
    Toolset {
        name: "admin",
        about: "queue maintenance (retry every crashed or failed job, purge finished ones) and the command policy's deny list",
        tools: &[
            "task_retry_all",
            "task_purge",
            "policy_blocklist_list",
            "policy_blocklist_add",
            "policy_blocklist_remove",
        ],
    },
    Toolset {
        name: "sessions",
        about: "persistent shells (cd/export last; held by the runner) and tmux sessions: create, exec, read, list, close",
        tools: &[
            "shell_create",
            "shell_exec",
            "shell_list",
            "shell_close",
            "tmux_create",
            "tmux_exec",
            "tmux_read",
            "tmux_list",
            "tmux_kill",
        ],
    },
    Toolset {
        name: "keys",
        about: "authorize a public key on a server (authorized_keys, atomic, once)",
        tools: &["ssh_authorize_key"],
    },
    Toolset {
        name: "insight",
        about: "fleet insight: one read of everything sshdeck knows (infra_audit), a server's parsed inventory (OS, ports, services, containers, PM2), the domain -> proxy -> process graph (infra_overview)",
        tools: &["infra_audit", "server_inventory", "infra_overview"],
    },
    Toolset {
        name: "help",
        about: "help from the live tool list (every tool by toolset, or one tool's arguments) and a short guide",
        tools: &["help", "guide"],
    },
];

/// What `MCP_TOOLSETS=default` lists.
pub const DEFAULT: &[&str] = &["core", "transfers"];

/// The toolsets a setting names: `default`, `all`, or names separated by commas (`default` may be
/// combined with names, e.g. `default,fleet`).
pub fn parse(setting: &str) -> Result<BTreeSet<&'static str>, Error> {
    let mut out = BTreeSet::new();
    for word in setting.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match word {
            "default" => out.extend(DEFAULT),
            "all" => out.extend(TOOLSETS.iter().map(|t| t.name)),
            name => {
                out.insert(find(name)?.name);
            }
        };
    }
    if out.is_empty() {
        out.extend(DEFAULT);
    }
    Ok(out)
}

/// A toolset by name, or `NOT_FOUND` listing the names.
pub fn find(name: &str) -> Result<&'static Toolset, Error> {
    TOOLSETS.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = TOOLSETS.iter().map(|t| t.name).collect();
        Error::NotFound { what: "toolset", name: format!("{name} (toolsets: {}, all)", names.join(", ")) }
    })
}

/// The toolset a tool belongs to.
pub fn of(tool: &str) -> Option<&'static str> {
    TOOLSETS.iter().find(|t| t.tools.contains(&tool)).map(|t| t.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        assert_eq!(parse("default").unwrap().into_iter().collect::<Vec<_>>(), ["core", "transfers"]);
        assert_eq!(parse("").unwrap(), parse("default").unwrap());
        assert_eq!(parse("all").unwrap().len(), TOOLSETS.len());
        assert!(parse("default, fleet").unwrap().contains("fleet"));
        assert_eq!(parse("core,nope").unwrap_err().code(), "NOT_FOUND");
        assert_eq!(of("task_exec"), Some("core"));
        assert_eq!(of("nope"), None);
    }
}
