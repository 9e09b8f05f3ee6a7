//! sshdeck-mcp over real stdio, driven by a minimal JSON-RPC client, against a real sshd.

#[path = "support/client.rs"]
mod client;

use std::time::Duration;

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

use client::{Client, structured};

/// Shell injection attempts that would create `marker` if any ran.
fn injection_payloads(marker: &std::path::Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("'; touch {m}; '"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x\ntouch {m}"),
        format!("x;touch {m}"),
        "--help".to_string(),
    ]
}

/// The toolsets as `toolsets` reports them: name → tool names.
fn toolsets(c: &mut Client) -> Vec<(String, Vec<String>)> {
    let r = c.call("toolsets", json!({}));
    structured(&r)["toolsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let tools = t["tools"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
            (t["name"].as_str().unwrap().to_string(), tools)
        })
        .collect()
}

#[test]
fn tools_list_matches_golden_and_stays_small() {
    // Every tool, as MCP_TOOLSETS=all lists them: the golden file shows every change.
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    let r = c.request("tools/list", json!({}));
    let result = &r["result"];
    let compact = serde_json::to_string(result).unwrap();
    let pretty = serde_json::to_string_pretty(result).unwrap() + "\n";
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tools_list.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &pretty).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 to create)");
    assert!(pretty == want, "tools/list changed: review `git diff` after a run with UPDATE_GOLDEN=1");
    assert!(!compact.contains("$ref"));
    let all: Vec<&Value> = result["tools"].as_array().unwrap().iter().collect();
    for t in &all {
        assert_eq!(t["inputSchema"]["type"], "object", "{}", t["name"]);
        assert_eq!(t["outputSchema"]["type"], "object", "{}", t["name"]);
        assert!(t["annotations"].is_object(), "{}", t["name"]);
        assert!(!t["description"].as_str().unwrap().is_empty());
    }
    let bytes = |names: &[String]| {
        let tools: Vec<&&Value> = all.iter().filter(|t| names.iter().any(|n| t["name"] == *n)).collect();
        assert_eq!(tools.len(), names.len(), "every tool of {names:?} is listed");
        serde_json::to_string(&json!({"tools": tools})).unwrap().len()
    };
    // Every tool is in exactly one toolset; each toolset within 8 KB.
    let sets = toolsets(&mut c);
    let mut seen: Vec<String> = sets.iter().flat_map(|(_, t)| t.clone()).collect();
    seen.sort();
    let mut names: Vec<String> = all.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(seen, names, "every tool belongs to exactly one toolset");
    // Each toolset within 8 KB; core, the Node orchestrator's 16 tools plus `toolsets`, within 12 KB.
    for (set, tools) in &sets {
        let n = bytes(tools);
        eprintln!("toolset {set}: {} tools, {n} bytes", tools.len());
        let budget = if set == "core" { 12 * 1024 } else { 8 * 1024 };
        assert!(n <= budget, "toolset {set} takes {n} bytes");
    }
    // The 16 core tools of the Node orchestrator within 12 KB.
    let (_, core) = sets.iter().find(|(n, _)| n == "core").unwrap();
    let node_core: Vec<String> = core.iter().filter(|t| *t != "toolsets").cloned().collect();
    assert_eq!(node_core.len(), 16);
    let core_bytes = bytes(&node_core);
    assert!(core_bytes <= 12 * 1024, "core tools take {core_bytes} bytes");

    // The default listing within 16 KB.
    let mut d = Client::start(&[]);
    let listed = d.request("tools/list", json!({}));
    let n = serde_json::to_string(&listed["result"]).unwrap().len();
    eprintln!(
        "default tools/list: {} tools, {n} bytes; all: {} tools, {} bytes",
        listed["result"]["tools"].as_array().unwrap().len(),
        all.len(),
        compact.len()
    );
    assert!(n <= 16 * 1024, "the default tools/list is {n} bytes");
}

#[test]
fn toolsets_list_more_tools_on_request_and_every_tool_stays_callable() {
    let mut c = Client::start(&[("MCP_TOOLSETS", "core")]);
    let names = |c: &mut Client| -> Vec<String> {
        let r = c.request("tools/list", json!({}));
        r["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
    };
    assert!(!names(&mut c).contains(&"server_group_list".to_string()));
    // A tool of a toolset that is not listed still answers (prompts written for Node keep working).
    let r = c.call("server_group_list", json!({}));
    assert_eq!(r["isError"], false, "{r}");
    c.notifications();
    let r = c.call("toolsets", json!({"enable": "fleet"}));
    assert_eq!(structured(&r)["enabled"], json!(["fleet"]), "{r}");
    let fleet = structured(&r)["toolsets"].as_array().unwrap().iter().find(|t| t["name"] == "fleet").unwrap().clone();
    assert_eq!(fleet["listed"], true);
    std::thread::sleep(Duration::from_millis(200));
    let notes = c.notifications();
    assert!(notes.iter().any(|n| n["method"] == "notifications/tools/list_changed"), "{notes:?}");
    assert!(names(&mut c).contains(&"server_group_list".to_string()));
    let r = c.call("toolsets", json!({"enable": "nope"}));
    assert_eq!(structured(&r)["error"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn every_tool_against_a_real_server() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let r =
        c.call("server_add", json!({"alias": "pw", "host": "127.0.0.1", "user": "x", "password": "Sekret-Walrus-55"}));
    assert_eq!(structured(&r)["action"], "created");
    let r = c.call("server_list", json!({}));
    assert!(!r.to_string().contains("Sekret-Walrus-55"), "secret shown: {r}");
    assert_eq!(structured(&r)["servers"].as_array().unwrap().len(), 2);

    // Success: exit code, stdout, stderr, duration.
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "echo hello; echo warn >&2"}));
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["status"].as_str(), s["exitCode"].as_u64()),
        (Some(false), Some("completed"), Some(0))
    );
    assert_eq!((s["stdout"].as_str(), s["stderr"].as_str()), (Some("hello\n"), Some("warn\n")));
    assert!(s["durationMs"].is_u64() && s["id"].as_str().unwrap().len() == 13);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("hello"));
    let ok_id = s["id"].as_str().unwrap().to_string();

    // A non-zero exit is an error result with the exit code and stderr.
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "echo bad >&2; exit 3"}));
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["status"].as_str(), s["exitCode"].as_u64()),
        (Some(true), Some("failed"), Some(3))
    );
    assert_eq!(s["stderr"], "bad\n");
    let failed_id = s["id"].as_str().unwrap().to_string();

    // A timeout kills the command on the server.
    let file = sshd.scratch().join("mcp-timeout");
    let r =
        c.call("task_exec", json!({"alias": "web", "cmd": format!("sleep 3; touch {}", file.display()), "timeout": 1}));
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["status"].as_str(), s["timedOut"].as_bool()),
        (Some(true), Some("timed_out"), Some(true))
    );
    assert_eq!(s["error"]["code"], "COMMAND_TIMEOUT");

    let r = c.call("task_status", json!({"id": ok_id}));
    assert_eq!(
        (structured(&r)["status"].as_str(), structured(&r)["outputTail"].as_str()),
        (Some("completed"), Some("hello\nwarn\n"))
    );
    let r = c.call("task_retry", json!({"id": failed_id}));
    assert_eq!(structured(&r)["exitCode"], 3);
    let r = c.call("task_retry", json!({"id": failed_id}));
    assert_eq!(structured(&r)["error"]["code"], "ALREADY_RETRIED");
    let r = c.call("task_history", json!({"alias": "web", "limit": 2}));
    assert_eq!((structured(&r)["total"].as_u64(), structured(&r)["jobs"].as_array().unwrap().len()), (Some(4), 2));
    let r = c.call("queue_stats", json!({}));
    assert_eq!(structured(&r)["byStatus"]["timed_out"], 1);
    assert_eq!(structured(&r)["byType"]["exec"], 4);
    let r = c.call("task_queue", json!({}));
    assert_eq!(structured(&r)["total"], 4, "every job, as the seed documents say: {r}");
    let r = c.call("task_queue", json!({"status": "running"}));
    assert_eq!(structured(&r)["total"], 0);
    let r = c.call("pool_stats", json!({}));
    assert!(structured(&r)["servers"][0]["opened"].as_u64().unwrap() >= 1, "{r}");
    let r = c.call("system_diagnostics", json!({"verbose": true}));
    assert_eq!((structured(&r)["servers"].as_u64(), structured(&r)["jobs"]["total"].as_u64()), (Some(2), Some(4)));
    assert_eq!(structured(&r)["settings"]["maxConnectionsPerServer"], 5);
    let r = c.call("task_logs", json!({"level": "info", "search": "job finished", "limit": 3}));
    assert_eq!(structured(&r)["lines"].as_array().unwrap().len(), 3, "{r}");
    let r = c.call("server_remove", json!({"alias": "pw"}));
    assert_eq!(structured(&r)["action"], "removed");
    std::thread::sleep(Duration::from_millis(2200));
    assert!(!file.exists(), "the timed-out command was killed");
}

#[test]
fn long_jobs_go_to_the_background_and_remind() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_SYNC_TIMEOUT_S", "1")]);
    c.add_server(&sshd, "web");
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "sleep 2.5; echo done", "rappel": 1}));
    // Answered while the job still runs: the sync wait ended first.
    let s = structured(&r);
    assert_eq!((r["isError"].as_bool(), s["status"].as_str()), (Some(false), Some("running")));
    assert!(s["message"].as_str().unwrap().contains("task_wait"));
    let id = s["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(300));
    let r = c.call("task_status", json!({"id": id}));
    assert!(structured(&r)["reminder"].as_str().unwrap_or("").contains("still running"), "{r}");
    let r = c.call("task_wait", json!({"id": id, "timeout": 10}));
    assert_eq!(
        (structured(&r)["status"].as_str(), structured(&r)["outputTail"].as_str()),
        (Some("completed"), Some("done\n"))
    );
    assert!(structured(&r)["reminder"].is_null(), "no reminder once finished");
}

#[test]
fn cancellation_kills_the_command_and_progress_is_reported() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");

    // Progress: a job that prints over time, with a progress token.
    let r = c.call_with_meta(
        "task_exec",
        json!({"alias": "web", "cmd": "for i in 1 2 3 4; do echo $i; sleep 0.4; done"}),
        json!({"progressToken": "p1"}),
    );
    assert_eq!(structured(&r)["stdout"], "1\n2\n3\n4\n");
    let progress: Vec<Value> =
        c.notifications().into_iter().filter(|n| n["method"] == "notifications/progress").collect();
    assert!(progress.len() >= 2, "{progress:?}");
    assert!(progress.iter().all(|p| p["params"]["progressToken"] == "p1"));

    // Cancel: the client abandons the request; the job is cancelled and its command killed.
    let file = sshd.scratch().join("mcp-cancelled");
    let id = c.send_request("tools/call", json!({"name": "task_exec", "arguments": {"alias": "web", "cmd": format!("sleep 2; touch {}", file.display())}}));
    std::thread::sleep(Duration::from_millis(500));
    c.notify("notifications/cancelled", json!({"requestId": id, "reason": "test"}));
    std::thread::sleep(Duration::from_millis(1000));
    let r = c.call("task_history", json!({"limit": 1}));
    let job = &structured(&r)["jobs"][0];
    assert_eq!(job["status"], "cancelled", "{r}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!file.exists(), "the cancelled command was killed");
}

#[test]
fn bad_input_gets_clear_errors_and_the_server_keeps_serving() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let r = c.request("tools/call", json!({"name": "no_such_tool", "arguments": {}}));
    assert!(r["error"]["message"].as_str().unwrap().contains("no_such_tool") || r["error"].is_object(), "{r}");
    let r = c.call("task_exec", json!({"alias": "web"}));
    assert_eq!(
        (r["isError"].as_bool(), structured(&r)["error"]["code"].as_str()),
        (Some(true), Some("INVALID_ARGUMENT"))
    );
    assert!(structured(&r)["error"]["message"].as_str().unwrap().contains("cmd"), "missing argument named: {r}");
    let r = c.call("task_exec", json!({"alias": "web", "cmd": 5}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "wrong type: {r}");
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "true", "bogus": 1}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "unknown argument: {r}");
    let r = c.call("task_exec", json!({"alias": "nope", "cmd": "true"}));
    assert_eq!((r["isError"].as_bool(), structured(&r)["error"]["code"].as_str()), (Some(true), Some("NOT_FOUND")));
    let r = c.call("task_status", json!({"id": "zzzzzzzzzzzzz"}));
    assert_eq!(structured(&r)["error"]["code"], "NOT_FOUND");
    let r = c.call("task_status", json!({"id": "bad"}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT");
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "x".repeat(1 << 20)}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT");
    assert!(structured(&r)["error"]["message"].as_str().unwrap().contains("limit"));
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "printf 'ok\\377\\376'"}));
    assert_eq!(structured(&r)["stdout"], "ok\u{fffd}\u{fffd}");
    c.send_raw("this is not json\n");
    c.send_raw("{\"jsonrpc\":\"2.0\",\"id\":\n");
    let r = c.request("tools/list", json!({}));
    assert!(r["result"]["tools"].is_array(), "still serving after malformed lines: {r}");
    // A NUL byte in any argument is refused at once, whatever the tool.
    for (tool, args) in [
        ("tail_file", json!({"alias": "web", "filepath": "/var/log/a\0b"})),
        ("task_transfer", json!({"alias": "web", "direction": "download", "remote": "/x\0", "local": "/tmp/"})),
        ("net_http_request", json!({"alias": "web", "url": "http://127.0.0.1/", "headers": {"X-A": "a\0b"}})),
        ("task_exec", json!({"alias": "web", "cmd": "echo \0"})),
    ] {
        let r = c.call(tool, args);
        assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "{tool}: {r}");
        assert!(structured(&r)["error"]["message"].as_str().unwrap().contains("NUL"), "{r}");
    }

    // A line that is not JSON gets JSON-RPC's parse error (id null); a huge one too, and the server
    // keeps serving.
    let _ = c.request("ping", json!({}));
    std::thread::sleep(Duration::from_millis(100));
    let earlier = c.notifications().into_iter().filter(|n| n["error"]["code"] == -32700).count();
    assert_eq!(earlier, 2, "the two garbage lines above were answered");
    c.send_raw("{this is not json\n");
    c.send_raw(&format!("{{\"jsonrpc\": \"2.0\", \"method\": \"{}\n", "m".repeat(2 << 20)));
    let huge = c.request(&"m".repeat(2 << 20), json!({}));
    assert!(huge.get("error").is_some(), "an unknown 2 MB method is an error, not a crash");
    let pong = c.request("ping", json!({}));
    assert!(pong.get("result").is_some(), "{pong}");
    let errors: Vec<Value> =
        c.notifications().into_iter().filter(|n| n["error"]["code"] == -32700 && n["id"].is_null()).collect();
    assert_eq!(errors.len(), 2, "one parse error per bad line");
    // Log lines quote at most a bounded part of what they were sent.
    std::thread::sleep(Duration::from_millis(300));
    for e in std::fs::read_dir(c.data_dir().join("logs")).unwrap().flatten() {
        let meta = e.metadata().unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600, "{:?}", e.path());
        assert!(meta.len() < 1 << 20, "{:?} is {} bytes", e.path(), meta.len());
    }
}

#[test]
fn read_only_mode_and_command_policy_refuse_centrally() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    std::fs::write(c.data_dir().join("policy.toml"), "deny = ['\\brm\\s+-rf\\b']\n").unwrap();
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "rm -rf /tmp/nothing"}));
    assert_eq!(structured(&r)["error"]["code"], "POLICY_DENIED");
    drop(c);

    let mut ro = Client::start(&[("MCP_READONLY", "1")]);
    for (tool, args) in [
        ("task_exec", json!({"alias": "web", "cmd": "true"})),
        ("server_add", json!({"alias": "x", "host": "h", "user": "u"})),
        ("server_remove", json!({"alias": "web"})),
        ("task_cancel", json!({"id": "zzzzzzzzzzzzz"})),
        ("task_retry", json!({"id": "zzzzzzzzzzzzz"})),
    ] {
        let r = ro.call(tool, args);
        assert_eq!(structured(&r)["error"]["code"], "READ_ONLY", "{tool}: {r}");
    }
    let r = ro.call("server_list", json!({}));
    assert_eq!(r["isError"], false);
}

#[test]
fn sequences_report_each_step() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let r = c.call(
        "task_exec_sequence",
        json!({"alias": "web", "commands": ["echo one", {"command": "echo two >&2; exit 4"}, "echo three"]}),
    );
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["status"].as_str(), s["exitCode"].as_u64()),
        (Some(true), Some("failed"), Some(4))
    );
    let steps = s["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "stopped at the failing step: {r}");
    assert_eq!((steps[0]["stdout"].as_str(), steps[1]["stderr"].as_str()), (Some("one\n"), Some("two\n")));

    let r = c.call(
        "task_exec_sequence",
        json!({"alias": "web", "commands": [{"command": "exit 1", "continueOnError": true}, "echo after"]}),
    );
    let s = structured(&r);
    assert_eq!(s["steps"].as_array().unwrap().len(), 2);
    assert_eq!(s["steps"][1]["stdout"], "after\n");
    assert_eq!(s["status"], "completed", "failures that were allowed do not fail the sequence (as in Node)");
    assert_eq!((s["steps"][0]["exitCode"].as_u64(), s["steps"][1]["exitCode"].as_u64()), (Some(1), Some(0)), "{r}");

    let r = c.call("task_exec_sequence", json!({"alias": "web", "commands": ["true", "echo ok"]}));
    assert_eq!((r["isError"].as_bool(), structured(&r)["status"].as_str()), (Some(false), Some("completed")));
    let r = c.call("task_exec_sequence", json!({"alias": "web", "commands": []}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT");
}

#[test]
fn interactive_answers_prompts_and_never_shows_answers() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let cmd = r#"read -p "Proceed? [Y/n] " a; echo "a:$a"; read -p "Name: " n; echo "name:$n"; read -s -p "Password: " p; echo; echo "len:${#p}""#;
    let r = c.call(
        "task_exec_interactive",
        json!({"alias": "web", "cmd": cmd, "autoRespond": true,
               "responses": {"Name: ": "bob", "Password: ": {"answer": "Pw-Mcp-Heron-7", "max": 1}}}),
    );
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["status"].as_str(), s["exitCode"].as_u64()),
        (Some(false), Some("completed"), Some(0)),
        "{r}"
    );
    let out = s["stdout"].as_str().unwrap();
    assert!(out.contains("a:Y") || out.contains("a:y"), "{out}");
    assert!(out.contains("name:bob") && out.contains("len:14"), "{out}");
    let id = s["id"].as_str().unwrap().to_string();

    let r = c.call(
        "task_exec_interactive",
        json!({"alias": "web", "cmd": "read -s -p 'Password: ' p", "autoRespond": true}),
    );
    assert_eq!(structured(&r)["error"]["code"], "PROMPT_UNANSWERED", "{r}");
    let r = c.call("task_exec_interactive", json!({"alias": "web", "cmd": "true", "responses": {"re:(bad": "x"}}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT");

    // A prompt that says nothing of secrets, a long answer echoed and printed back across chunks.
    let code = format!("Vc-Quokka-{}", "9".repeat(3000));
    let r = c.call(
        "task_exec_interactive",
        json!({"alias": "web", "cmd": "read -p 'Verification code: ' v; echo \"you typed $v\"",
               "responses": {"Verification code:": code}, "autoRespond": false}),
    );
    assert_eq!(structured(&r)["status"], "completed", "{r}");
    assert!(structured(&r)["stdout"].as_str().unwrap().contains("you typed ***"), "{r}");
    assert!(!r.to_string().contains("Vc-Quokka"), "answer shown in the result");
    let code_job = structured(&r)["id"].as_str().unwrap().to_string();
    // A secret sent with the wrong type is not quoted back in the error.
    let r = c.call("server_add", json!({"alias": "x", "host": "h", "user": "u", "password": 918_273_645}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
    assert!(!r.to_string().contains("918273645"), "{r}");

    let mut seen = vec![
        c.call("task_status", json!({"id": code_job})),
        c.call("task_status", json!({"id": id})),
        c.call("task_history", json!({})),
        c.call("task_logs", json!({"limit": 500})),
        c.call("task_retry", json!({"id": id})),
    ];
    seen.extend(c.notifications());
    for v in &seen {
        assert!(!v.to_string().contains("Pw-Mcp-Heron-7"), "answer shown: {v}");
        assert!(!v.to_string().contains("Vc-Quokka") && !v.to_string().contains("918273645"), "secret shown: {v}");
    }
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            // files only: the runner's socket holds no data
            if e.path().is_dir() {
                walk(&e.path(), out)
            } else if e.path().is_file() {
                out.push(e.path())
            }
        }
    }
    let mut files = Vec::new();
    walk(&c.data_dir(), &mut files);
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains("Pw-Mcp-Heron-7"), "answer leaked into {}", f.display());
        assert!(!text.contains("Vc-Quokka") && !text.contains("918273645"), "secret leaked into {}", f.display());
    }
}

#[test]
fn resources_and_prompts() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    c.call("server_add", json!({"alias": "pw", "host": "h", "user": "u", "password": "Res-Secret-31"}));
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "echo out; echo err >&2"}));
    let id = structured(&r)["id"].as_str().unwrap().to_string();

    let list = c.request("resources/list", json!({}));
    let uris: Vec<String> = list["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap().to_string())
        .collect();
    assert!(
        uris.contains(&"sshdeck://servers".to_string()) && uris.contains(&format!("sshdeck://jobs/{id}")),
        "{uris:?}"
    );
    let t = c.request("resources/templates/list", json!({}));
    assert_eq!(t["result"]["resourceTemplates"].as_array().unwrap().len(), 2);

    let read = |c: &mut Client, uri: &str| c.request("resources/read", json!({"uri": uri}));
    let servers = read(&mut c, "sshdeck://servers");
    let text = servers["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(text.contains("\"web\"") && !text.contains("Res-Secret-31"), "{text}");
    let job = read(&mut c, &format!("sshdeck://jobs/{id}"));
    let v: Value = serde_json::from_str(job["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(v["status"], "completed");
    let out = read(&mut c, &format!("sshdeck://jobs/{id}/output"));
    assert_eq!(out["result"]["contents"][0]["text"], "out\nerr\n");
    assert!(read(&mut c, "sshdeck://jobs/zzzzzzzzzzzzz").get("error").is_some());
    assert!(read(&mut c, "file:///etc/passwd").get("error").is_some());

    let prompts = c.request("prompts/list", json!({}));
    assert_eq!(prompts["result"]["prompts"].as_array().unwrap().len(), 3);
    let p = c.request("prompts/get", json!({"name": "diagnose_server", "arguments": {"alias": "web"}}));
    assert!(p["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains("`web`"), "{p}");
    assert!(c.request("prompts/get", json!({"name": "nope", "arguments": {"alias": "web"}})).get("error").is_some());
}

#[test]
fn mcp_tasks_map_onto_jobs() {
    let sshd = Sshd::start().unwrap();
    let caps = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let mut c = Client::start_with(&[("MCP_SYNC_TIMEOUT_S", "1")], caps);
    c.add_server(&sshd, "web");
    let quick = c.call("task_exec", json!({"alias": "web", "cmd": "echo quick"}));
    assert_eq!(structured(&quick)["stdout"], "quick\n", "a job done in time is answered inline");

    // Without asking for a task in the request, even a client that declared the extension gets an
    // ordinary result with the running job's id (as the MCP Inspector needs).
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "sleep 1.2; echo plain"}));
    assert_eq!((structured(&r)["status"].as_str(), r.get("resultType")), (Some("running"), None), "{r}");
    let ask = json!({"io.modelcontextprotocol/tasks": {}});
    let r = c.call_with_meta("task_exec", json!({"alias": "web", "cmd": "sleep 1.5; echo late; exit 6"}), ask.clone());
    assert_eq!(r["resultType"], "task", "{r}");
    let task_id = r["taskId"].as_str().unwrap().to_string();
    assert_eq!(r["status"], "working");
    let g = c.request("tasks/get", json!({"taskId": task_id}));
    assert_eq!(g["result"]["status"], "working", "{g}");
    std::thread::sleep(Duration::from_millis(1800));
    let g = c.request("tasks/get", json!({"taskId": task_id}));
    assert_eq!(g["result"]["status"], "completed", "{g}");
    let result = &g["result"]["result"];
    assert_eq!((result["isError"].as_bool(), result["structuredContent"]["exitCode"].as_u64()), (Some(true), Some(6)));
    assert_eq!(result["structuredContent"]["outputTail"], "late\n");

    let file = sshd.scratch().join("task-cancelled");
    let r = c.call_with_meta(
        "task_exec",
        json!({"alias": "web", "cmd": format!("sleep 3; touch {}", file.display())}),
        ask,
    );
    let task_id = r["taskId"].as_str().unwrap().to_string();
    let ack = c.request("tasks/cancel", json!({"taskId": task_id}));
    assert!(ack.get("error").is_none(), "{ack}");
    std::thread::sleep(Duration::from_millis(1000));
    let g = c.request("tasks/get", json!({"taskId": task_id}));
    assert_eq!(g["result"]["status"], "cancelled", "{g}");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!file.exists());
    assert!(c.request("tasks/get", json!({"taskId": "zzzzzzzzzzzzz"})).get("error").is_some());
}

#[test]
fn transfers_up_and_down() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("a.txt"), "alpha").unwrap();
    std::fs::write(local.path().join("b.log"), "beta").unwrap();
    let remote_dir = sshd.scratch().join("up");
    let r = c.call(
        "task_transfer",
        json!({"alias": "web", "direction": "upload", "local": local.path().join("a.txt"), "remote": format!("{}/", remote_dir.display()), "verify": true}),
    );
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["status"].as_str(), s["transfer"]["ok"].as_u64()),
        (Some(false), Some("completed"), Some(1)),
        "{r}"
    );
    assert_eq!(std::fs::read_to_string(remote_dir.join("a.txt")).unwrap(), "alpha");

    let r = c.call(
        "task_transfer_multi",
        json!({"alias": "web", "direction": "upload", "files": [
            {"local": format!("{}/*.log", local.path().display()), "remote": remote_dir.display().to_string()},
            {"local": "/nonexistent/file", "remote": remote_dir.display().to_string()}
        ]}),
    );
    let s = structured(&r);
    assert_eq!((r["isError"].as_bool(), s["status"].as_str()), (Some(true), Some("failed")), "{r}");
    assert_eq!((s["transfer"]["ok"].as_u64(), s["transfer"]["failed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(s["error"]["code"], "NOT_FOUND");

    let down = tempfile::tempdir().unwrap();
    let r = c.call(
        "task_transfer",
        json!({"alias": "web", "direction": "download", "local": down.path(), "remote": remote_dir.display().to_string()}),
    );
    assert_eq!(structured(&r)["transfer"]["ok"], 2, "{r}");
    assert_eq!(std::fs::read_to_string(down.path().join("up/b.log")).unwrap(), "beta");
    let r = c.call("task_transfer", json!({"alias": "web", "direction": "sideways", "local": "a", "remote": "b"}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT");
}

#[test]
fn log_tools_report_errors_and_execute_no_injected_code() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let log = sshd.scratch().join("app.log");
    std::fs::write(&log, "one\ntwo\nthree\nfour\nfive\n").unwrap();
    let r = c.call("tail_file", json!({"alias": "web", "filepath": log, "lines": 2}));
    assert_eq!((r["isError"].as_bool(), structured(&r)["stdout"].as_str()), (Some(false), Some("four\nfive\n")), "{r}");

    let r = c.call("tail_file", json!({"alias": "web", "filepath": sshd.scratch().join("missing.log")}));
    let s = structured(&r);
    assert_eq!(
        (r["isError"].as_bool(), s["exitCode"].as_u64()),
        (Some(true), Some(1)),
        "a failed tail is an error, not an empty log: {r}"
    );
    assert!(s["stderr"].as_str().unwrap().contains("No such file"), "{r}");

    let r = c.call("get_journal_logs", json!({"alias": "web", "priority": "$(id)"}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT");

    let marker = sshd.scratch().join("injected");
    let payloads = injection_payloads(&marker);
    for p in &payloads {
        c.call("tail_file", json!({"alias": "web", "filepath": p}));
        c.call("get_journal_logs", json!({"alias": "web", "unit": p, "since": p, "lines": 1}));
        c.call("get_docker_logs", json!({"alias": "web", "container": p, "since": p}));
        c.call("get_pm2_logs", json!({"alias": "web", "app": p}));
    }
    assert!(!marker.exists(), "an injected command ran");
    let r = c.call("get_docker_logs", json!({"alias": "web", "container": "no-such-container"}));
    assert_eq!(r["isError"], true, "{r}");
}

#[test]
fn ops_tools_return_structure() {
    let sshd = Sshd::start().unwrap();
    let http = sshdeck_testkit::http::HttpServer::start(&[]).unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");

    let r = c.call("get_system_resources", json!({"alias": "web"}));
    let s = structured(&r);
    assert_eq!(r["isError"], false, "{r}");
    assert!(s["cpu"]["cores"].as_u64().unwrap() >= 1, "{r}");
    assert!(s["memory"]["totalBytes"].as_u64().unwrap() > 0, "{r}");
    assert!(s["disks"].as_array().unwrap().iter().any(|d| d["mount"] == "/"), "{r}");

    let r = c.call("get_services_status", json!({"alias": "web"}));
    let s = structured(&r);
    assert_eq!(r["isError"], false, "{r}");
    for section in ["systemd", "docker", "pm2"] {
        let st = s[section]["status"].as_str().unwrap();
        assert!(["ok", "not_installed", "unavailable"].contains(&st), "{section}: {st}");
    }

    let r = c.call("get_fail2ban_status", json!({"alias": "web"}));
    assert!(
        structured(&r)["status"] == "not_installed" || structured(&r)["error"]["code"] == "PERMISSION_DENIED",
        "{r}"
    );

    let r = c.call("net_port_check", json!({"alias": "web", "host": "127.0.0.1", "ports": format!("{}", sshd.port())}));
    assert_eq!(structured(&r)["ports"][0]["state"], "open", "{r}");
    let r = c.call("net_port_check", json!({"alias": "web", "host": "127.0.0.1", "ports": [0]}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
    let r = c.call("net_port_check", json!({"alias": "web", "host": "127.0.0.1", "ports": "1-1000"}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "more than 100 ports: {r}");

    let r = c.call("net_dns_lookup", json!({"alias": "web", "name": "localhost"}));
    assert!(structured(&r)["records"].as_array().unwrap().iter().any(|x| x["value"] == "127.0.0.1"), "{r}");

    let r = c.call("net_ping", json!({"alias": "web", "host": "127.0.0.1", "count": 1}));
    assert!(structured(&r)["reachable"] == true || structured(&r)["error"]["code"] == "NOT_INSTALLED", "{r}");

    let r = c.call(
        "net_http_request",
        json!({"alias": "web", "url": format!("{}/echo", http.url()), "method": "PUT",
               "headers": {"X-A": "1"}, "body": "payload"}),
    );
    let s = structured(&r);
    assert_eq!(s["status"], 200, "{r}");
    assert!(s["body"].as_str().unwrap().starts_with("PUT /echo"), "{r}");
    assert!(s["body"].as_str().unwrap().ends_with("payload"), "{r}");
}

#[test]
fn ops_tools_execute_no_injected_code() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let marker = sshd.scratch().join("injected");
    let payloads = injection_payloads(&marker);
    for p in &payloads {
        let url = format!("http://127.0.0.1:1/{p}");
        for (tool, args) in [
            ("get_fail2ban_status", json!({"alias": "web", "jail": p})),
            ("net_ping", json!({"alias": "web", "host": p, "count": 1})),
            ("net_port_check", json!({"alias": "web", "host": p, "ports": [22]})),
            ("net_dns_lookup", json!({"alias": "web", "name": p})),
            ("net_http_request", json!({"alias": "web", "url": url, "headers": {"X-P": p}, "body": p})),
            ("net_http_request", json!({"alias": "web", "url": p})),
        ] {
            let r = c.call(tool, args.clone());
            // Host and name arguments are validated: every payload is refused before anything runs.
            if args.get("host").is_some() || args.get("name").is_some() {
                assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "{tool}: {r}");
            }
        }
    }
    assert!(!marker.exists(), "an injected command ran");
}

#[test]
fn api_catalog_checks_each_auth_method_and_never_shows_a_secret() {
    let sshd = Sshd::start().unwrap();
    let basic = "Basic b3BzOnB3LVNFQ1JFVDM="; // ops:pw-SECRET3
    let http = sshdeck_testkit::http::HttpServer::start(&["Bearer tok-SECRET1", "k-SECRET2", basic]).unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let url = http.url();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut outputs = Vec::new();
    let apis = [
        ("plain", json!({"url": url, "health_check_endpoint": "/ok"}), "UP", Some(200)),
        (
            "bearer",
            json!({"url": url, "health_check_endpoint": "/auth", "auth_method": "api_key", "api_key": "tok-SECRET1"}),
            "UP",
            Some(200),
        ),
        (
            "header",
            json!({"url": format!("{url}/"), "health_check_endpoint": "auth", "auth_method": "api_key", "api_key": "k-SECRET2",
                          "auth_header_name": "X-API-Key", "auth_scheme": ""}),
            "UP",
            Some(200),
        ),
        (
            "basic",
            json!({"url": url, "health_check_endpoint": "/auth", "auth_method": "htpasswd", "htpasswd_user": "ops",
                         "htpasswd_pass": "pw-SECRET3"}),
            "UP",
            Some(200),
        ),
        (
            "both",
            json!({"url": url, "health_check_endpoint": "/auth", "auth_method": "both", "api_key": "wrong-SECRET4", "auth_header_name": "X-Key",
                        "htpasswd_user": "ops", "htpasswd_pass": "pw-SECRET3"}),
            "UP",
            Some(200),
        ),
        (
            "badkey",
            json!({"url": url, "health_check_endpoint": "/auth", "auth_method": "api_key", "api_key": "bad-SECRET5"}),
            "ERROR",
            Some(401),
        ),
        ("broken", json!({"url": format!("{url}/status/503")}), "DOWN", Some(503)),
        ("expect", json!({"url": format!("{url}/ok"), "expected_status": 204}), "ERROR", Some(200)),
        ("refused", json!({"url": format!("http://127.0.0.1:{refused}/")}), "DOWN", None),
    ];
    for (alias, args, _, _) in &apis {
        let mut args = args.clone();
        args["alias"] = json!(alias);
        let r = c.call("api_add", args);
        assert_eq!(r["isError"], false, "{r}");
        outputs.push(r);
    }
    for (alias, _, want, code) in &apis {
        for from in [None, Some("web")] {
            let mut args = json!({"alias": alias});
            if let Some(f) = from {
                args["server_alias"] = json!(f);
            }
            let r = c.call("api_check", args);
            let s = structured(&r);
            assert_eq!(s["status"], *want, "{alias} from {from:?}: {r}");
            assert_eq!(s["http_code"].as_u64(), code.map(|c: u16| u64::from(c)), "{alias} from {from:?}: {r}");
            assert_eq!(s["from"], from.unwrap_or("local"), "{r}");
            assert!(s["response_time_ms"].as_f64().is_some(), "{r}");
            outputs.push(r);
        }
    }
    // The server saw the credentials where they belong, from here and through curl.
    let seen = http.requests();
    let auth: Vec<_> = seen.iter().filter(|r| r.path == "/auth").collect();
    assert!(auth.iter().filter(|r| r.header("x-api-key") == Some("k-SECRET2")).count() == 2);
    assert!(auth.iter().filter(|r| r.header("authorization") == Some(basic)).count() >= 2);
    assert!(auth.iter().any(|r| r.header("user-agent").is_some_and(|u| u.starts_with("curl/"))));

    let r = c.call("api_list", json!({}));
    assert_eq!(structured(&r)["apis"].as_array().unwrap().len(), apis.len(), "{r}");
    let plain = structured(&r)["apis"].as_array().unwrap().iter().find(|a| a["alias"] == "plain").unwrap().clone();
    assert_eq!(plain["last_check"]["status"], "UP", "the last check is kept: {plain}");
    outputs.push(r);
    let r = c.call("api_remove", json!({"alias": "badkey"}));
    assert_eq!(r["isError"], false);
    outputs.push(r);
    assert_eq!(structured(&c.call("api_check", json!({"alias": "badkey"})))["error"]["code"], "NOT_FOUND");
    let r = c.call("api_add", json!({"alias": "x", "url": url, "auth_method": "api_key"}));
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "a key is needed: {r}");
    let r = c.call(
        "api_add",
        json!({"alias": "x", "url": url, "auth_method": "both", "api_key": "k", "htpasswd_user": "u", "htpasswd_pass": "p"}),
    );
    assert_eq!(structured(&r)["error"]["code"], "INVALID_ARGUMENT", "both cannot share Authorization: {r}");

    // No secret in any result, nor anywhere in the data dir but apis.json, which is 0600.
    let secrets = ["tok-SECRET1", "k-SECRET2", "pw-SECRET3", "wrong-SECRET4", "bad-SECRET5", "b3BzOnB3LVNFQ1JFVDM"];
    let all = serde_json::to_string(&outputs).unwrap();
    for s in secrets {
        assert!(!all.contains(s), "{s} appears in a tool result");
    }
    let data = c.data_dir();
    let apis_file = data.join("apis.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&apis_file).unwrap().permissions().mode() & 0o777, 0o600);
    let mut stack = vec![data.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p != apis_file && p.is_file() {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
                for s in secrets {
                    assert!(!text.contains(s), "{s} found in {}", p.display());
                }
            }
        }
    }
}

#[test]
fn fleets_fan_out_with_per_host_progress_and_grouped_output() {
    let (a, b) = (Sshd::start().unwrap(), Sshd::start().unwrap());
    let mut c = Client::start(&[]);
    for (alias, sshd, tags) in [("w1", &a, "web"), ("w2", &b, "web"), ("d1", &a, "db")] {
        let r = c.call(
            "server_add",
            json!({"alias": alias, "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(),
                   "keyPath": sshd.keys().ed25519.display().to_string(), "tags": [tags]}),
        );
        assert_eq!(r["isError"], false, "{r}");
    }
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    c.call(
        "server_add",
        json!({"alias": "gone", "host": "127.0.0.1", "port": down, "user": a.user(),
               "keyPath": a.keys().ed25519.display().to_string()}),
    );

    let r = c.call("server_group_set", json!({"name": "edge", "aliases": ["w1", "w2", "gone"]}));
    assert_eq!(structured(&r)["aliases"], json!(["w1", "w2", "gone"]), "{r}");
    let r = c.call("server_group_set", json!({"name": "bad", "aliases": ["nope"]}));
    assert_eq!(structured(&r)["error"]["code"], "NOT_FOUND", "{r}");
    let r = c.call("server_group_list", json!({}));
    assert_eq!(structured(&r)["groups"][0]["name"], "edge", "{r}");

    // A command on a tag: one parent job, a child per host, identical outputs grouped.
    let r =
        c.call_with_meta("task_exec", json!({"alias": "tag:web", "cmd": "echo hello"}), json!({"progressToken": "f1"}));
    let s = structured(&r);
    assert_eq!((r["isError"].as_bool(), s["status"].as_str()), (Some(false), Some("completed")), "{r}");
    assert_eq!(s["fleet"]["ok"], 2, "{r}");
    assert_eq!(s["fleet"]["groups"][0]["aliases"], json!(["w1", "w2"]), "{r}");
    assert_eq!(s["fleet"]["groups"][0]["output"], "hello\n", "{r}");
    let hosts: Vec<&str> = s["hosts"].as_array().unwrap().iter().map(|h| h["alias"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["w1", "w2"]);
    let progress: Vec<Value> =
        c.notifications().into_iter().filter(|n| n["method"] == "notifications/progress").collect();
    let messages: Vec<&str> = progress.iter().filter_map(|p| p["params"]["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.starts_with("w1: completed")), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("w2: completed")), "{messages:?}");
    assert!(progress.iter().all(|p| p["params"]["total"].as_f64() == Some(2.0)), "{progress:?}");

    // A group with a host down: the parent fails, the summary says which.
    let r = c.call("task_exec", json!({"alias": "group:edge", "cmd": "hostname >/dev/null; echo ok"}));
    let s = structured(&r);
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!((s["fleet"]["ok"].as_u64(), s["fleet"]["unreachable"].as_u64()), (Some(2), Some(1)), "{r}");
    let gone = s["hosts"].as_array().unwrap().iter().find(|h| h["alias"] == "gone").unwrap();
    assert_eq!(gone["error"]["code"], "CONNECTION_FAILED", "{r}");
    // The parent is a job like any other: task_status shows the summary.
    let r = c.call("task_status", json!({"id": s["id"]}));
    assert_eq!(structured(&r)["fleet"]["total"], 3, "{r}");

    // A list of aliases in a sequence and in a log tool, and a probe on all.
    let r = c.call("task_exec_sequence", json!({"alias": ["w1", "d1"], "commands": ["true", "echo two"]}));
    assert_eq!(structured(&r)["fleet"]["ok"], 2, "{r}");
    let log = a.scratch().join("fleet.log");
    std::fs::write(&log, "x\ny\n").unwrap();
    let r = c.call("tail_file", json!({"alias": ["w1", "d1"], "filepath": log, "lines": 1}));
    assert_eq!(structured(&r)["fleet"]["groups"][0]["output"], "y\n", "{r}");
    let r = c.call("get_system_resources", json!({"alias": "all"}));
    let s = structured(&r);
    assert_eq!((s["total"].as_u64(), s["ok"].as_u64()), (Some(4), Some(3)), "{r}");
    assert!(s["hosts"][0]["memory"]["totalBytes"].as_u64().unwrap() > 0, "{r}");

    let r = c.call("fleet_status", json!({"targets": "all", "timeout": 5000}));
    let s = structured(&r);
    let rows = s["hosts"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for h in rows {
        if h["alias"] == "gone" {
            assert_eq!(
                (h["reachable"].as_bool(), h["error"]["code"].as_str()),
                (Some(false), Some("CONNECTION_FAILED"))
            );
        } else {
            assert_eq!(h["reachable"], true, "{h}");
            assert!(h["latencyMs"].as_f64().unwrap() > 0.0 && h["memoryPercent"].is_number(), "{h}");
        }
    }
    let r = c.call("server_group_remove", json!({"name": "edge"}));
    assert_eq!(r["isError"], false);
    assert_eq!(
        structured(&c.call("task_exec", json!({"alias": "group:edge", "cmd": "true"})))["error"]["code"],
        "NOT_FOUND"
    );
}

#[test]
fn api_check_over_https_reports_certificate_expiry_and_tls_failures() {
    // A real TLS server (openssl s_server) with a certificate valid for 30 days from a test CA.
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).output().expect("the openssl command is needed");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let (ca, ca_key, csr, cert, key, ext) =
        (p("ca.pem"), p("ca.key"), p("leaf.csr"), p("cert.pem"), p("key.pem"), p("ext"));
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &["-subj", "/CN=sshdeck test CA", "-days", "30", "-keyout", &ca_key, "-out", &ca],
        ]
        .concat(),
    );
    openssl(&[&["req"], &ec[..], &["-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &csr]].concat());
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://127.0.0.1:{port}/");

    // Trusting the certificate (SSL_CERT_FILE, as with any rustls-native-certs program): UP, and the
    // expiry read from the certificate.
    let mut c = Client::start(&[("SSL_CERT_FILE", ca.as_str())]);
    c.add_server(&sshd, "web");
    c.call("api_add", json!({"alias": "tls", "url": url}));
    let r = c.call("api_check", json!({"alias": "tls"}));
    let s = structured(&r);
    assert_eq!((s["status"].as_str(), s["http_code"].as_u64()), (Some("UP"), Some(200)), "{r}");
    let days = s["tls_days_left"].as_i64().unwrap();
    assert!((29..=30).contains(&days), "{r}");
    assert!(s["tls_expires_at"].as_str().unwrap().ends_with('Z'), "{r}");

    // From the server, curl does not trust it: a TLS failure is ERROR, not DOWN.
    let r = c.call("api_check", json!({"alias": "tls", "server_alias": "web"}));
    let s = structured(&r);
    assert_eq!(s["status"], "ERROR", "{r}");
    assert!(s["error"]["message"].as_str().unwrap().starts_with("TLS:"), "{r}");
    assert_eq!(s["error"]["code"], "API_ERROR", "{r}");
    drop(c);

    // Without that trust, from here too.
    let mut c = Client::start(&[]);
    c.call("api_add", json!({"alias": "tls", "url": url}));
    let r = c.call("api_check", json!({"alias": "tls"}));
    let s = structured(&r);
    assert_eq!(s["status"], "ERROR", "{r}");
    assert!(s["error"]["message"].as_str().unwrap().to_lowercase().contains("certificate"), "{r}");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn a_67_mb_output_is_paged_through_and_its_cut_is_marked() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_SYNC_TIMEOUT_S", "60")]);
    c.add_server(&sshd, "web");
    let r =
        c.call("task_exec", json!({"alias": "web", "cmd": "head -c 70000000 /dev/zero | tr '\\0' x", "timeout": 120}));
    let s = structured(&r);
    assert_eq!(s["status"], "completed", "{}", r.to_string().chars().take(500).collect::<String>());
    let id = s["id"].as_str().unwrap().to_string();
    assert!(s["stdout"].as_str().unwrap().contains(&format!("sshdeck://jobs/{id}/output")));
    let mut uri = format!("sshdeck://jobs/{id}/output");
    let (mut bytes, mut pages) = (0usize, 0);
    let last = loop {
        let r = c.request("resources/read", json!({"uri": uri}));
        let text = r["result"]["contents"][0]["text"].as_str().unwrap().to_string();
        pages += 1;
        match text.rfind("next page: ") {
            Some(i) => {
                // The page, then a last line saying where the next one starts.
                bytes += text.rfind("\n[sshdeck: bytes ").expect("a page note");
                uri = text[i + "next page: ".len()..].trim().trim_end_matches(']').to_string();
            }
            None => {
                bytes += text.len();
                break text;
            }
        }
        assert!(pages < 20, "too many pages");
    };
    assert_eq!(pages, 9, "64 MiB kept, 8 MiB a page");
    assert!(bytes >= 64 << 20, "{bytes}");
    assert!(
        last.contains("[sshdeck: output cut at 67108864 bytes; the rest is not kept]"),
        "{}",
        &last[last.len() - 200..]
    );
}

#[test]
fn help_and_version_on_the_command_line() {
    let bin = env!("CARGO_BIN_EXE_sshdeck-mcp");
    let out = std::process::Command::new(bin).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("sshdeck-mcp {}\n", env!("CARGO_PKG_VERSION")));
    let out = std::process::Command::new(bin).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: sshdeck-mcp"));
    let out = std::process::Command::new(bin).arg("--nope").output().unwrap();
    assert!(!out.status.success() && out.stdout.is_empty(), "an unknown argument is refused, nothing on stdout");
}
