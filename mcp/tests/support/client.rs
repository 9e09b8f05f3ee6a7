//! A minimal MCP client over the server's real stdin/stdout.
#![allow(dead_code)] // each test binary uses part of it

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    next_id: u64,
    pending_notifications: Vec<Value>,
    data: tempfile::TempDir,
}

impl Client {
    /// Starts `sshdeck-mcp` on a fresh data dir and completes the initialize handshake.
    pub fn start(env: &[(&str, &str)]) -> Client {
        Client::start_with(env, json!({}))
    }

    /// Like [`Client::start`], declaring `capabilities` in `initialize`.
    pub fn start_with(env: &[(&str, &str)], capabilities: Value) -> Client {
        let data = tempfile::tempdir().unwrap();
        let cwd = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sshdeck-mcp"))
            .current_dir(cwd.path())
            .env("MCP_DATA_DIR", data.path())
            .env_remove("SSH_AUTH_SOCK")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("non-JSON on stdout ({e}): {line}"));
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut c = Client { child, stdin: Some(stdin), lines, next_id: 1, pending_notifications: vec![], data };
        let init = c.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": capabilities, "clientInfo": {"name": "sshdeck-test", "version": "1"}}),
        );
        assert!(init["result"]["serverInfo"]["name"] == "sshdeck", "{init}");
        c.notify("notifications/initialized", json!({}));
        c
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.path().to_path_buf()
    }

    pub fn send_raw(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_raw(&format!("{msg}\n"));
    }

    /// Sends a request and returns its id without waiting.
    pub fn send_request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&format!("{msg}\n"));
        id
    }

    /// Sends a request and waits for its response (notifications are kept for [`Client::notifications`]).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        loop {
            let v = self.lines.recv_timeout(Duration::from_secs(60)).expect("response within 60 s");
            if v["id"] == json!(id) && v.get("method").is_none() {
                return v;
            }
            // Notifications, and answers to no request (a parse error has `id: null`).
            if (v.get("method").is_some() && v.get("id").is_none()) || v["id"].is_null() {
                self.pending_notifications.push(v);
            }
        }
    }

    /// Calls a tool and returns its result (panics on a JSON-RPC error, or on a result that does not
    /// match the tool's advertised outputSchema).
    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        assert!(r.get("error").is_none(), "{tool}: JSON-RPC error {r}");
        validate(tool, &r["result"]);
        r["result"].clone()
    }

    pub fn call_with_meta(&mut self, tool: &str, args: Value, meta: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args, "_meta": meta}));
        if r.get("error").is_none() {
            validate(tool, &r["result"]);
        }
        r["result"].clone()
    }

    /// Registers `sshd` as `alias` with the client key (`server_add`), asserting it worked.
    pub fn add_server(&mut self, sshd: &sshdeck_testkit::Sshd, alias: &str) {
        let r = self.call(
            "server_add",
            json!({"alias": alias, "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(),
                   "keyPath": sshd.keys().ed25519.display().to_string()}),
        );
        assert_eq!(r["isError"], false, "{r}");
    }

    /// Closes the server's stdin, as a client that goes away does, and waits for it to exit.
    pub fn hang_up(mut self) -> std::process::ExitStatus {
        self.stdin.take();
        self.child.wait().unwrap()
    }

    /// Kills the server (SIGKILL), as a crash would, and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Notifications received so far.
    pub fn notifications(&mut self) -> Vec<Value> {
        while let Ok(v) = self.lines.try_recv() {
            self.pending_notifications.push(v);
        }
        std::mem::take(&mut self.pending_notifications)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool result's structured content.
pub fn structured(r: &Value) -> &Value {
    &r["structuredContent"]
}

/// Every tool's outputSchema, from a server run with every toolset listed.
pub fn output_schemas() -> &'static HashMap<String, Value> {
    static SCHEMAS: OnceLock<HashMap<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let c = Client::start(&[("MCP_TOOLSETS", "all")]);
        let mut c = c;
        let r = c.request("tools/list", json!({}));
        r["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| Some((t["name"].as_str()?.to_string(), t.get("outputSchema")?.clone())))
            .collect()
    })
}

/// Checks a tools/call result against the tool's outputSchema with a JSON Schema validator, on
/// success and on failure alike (a task handle, which carries no content, is left alone).
pub fn validate(tool: &str, result: &Value) {
    if result["resultType"] == "task" {
        return;
    }
    let Some(schema) = output_schemas().get(tool) else {
        return;
    };
    let content = result
        .get("structuredContent")
        .unwrap_or_else(|| panic!("{tool} declares an outputSchema but returned no structuredContent: {result}"));
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{tool}: invalid outputSchema: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(content).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{tool} result does not match its outputSchema: {errors:?}\n{content}");
}
