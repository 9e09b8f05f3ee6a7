//! `sshdeck-mcp --http` on a free loopback port: health without a token, 401 without or with a wrong
//! token, 403 for a foreign `Origin`, a non-loopback bind refused without tokens; then the official
//! Python MCP SDK's Streamable HTTP client (tests/python/http_client.py) against the test sshd.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sshdeck_testkit::Sshd;

const BIN: &str = env!("CARGO_BIN_EXE_sshdeck-mcp");

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SSHDECK_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyvenv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

fn token(data: &Path, name: &str, readonly: bool) -> String {
    let mut c = Command::new(BIN);
    c.args(["token", "create", name]).env("MCP_DATA_DIR", data);
    if readonly {
        c.arg("--readonly");
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The server on port 0, and the port it bound (it says so on stderr).
struct Server(Child, u16);

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["--http", "127.0.0.1:0"])
            .env("MCP_DATA_DIR", data)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines.next().expect("the server says where it serves").unwrap();
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                break rest.trim_end_matches("/mcp").parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server(child, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request; returns the status code and the body.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[test]
fn http_is_authenticated_origin_checked_and_serves_real_clients() {
    let data = tempfile::tempdir().unwrap();
    // Without any token, a non-loopback bind is refused.
    let out = Command::new(BIN).args(["--http", "0.0.0.0:0"]).env("MCP_DATA_DIR", data.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without authentication"), "{out:?}");

    let rw = token(data.path(), "agent", false);
    let ro = token(data.path(), "viewer", true);
    let server = Server::start(data.path());
    let port = server.1;
    let json = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    let bearer = format!("Bearer {rw}");

    let (status, body) = request(port, "GET", "/health", &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\"") && body.contains("dataDirWritable"), "{body}");
    assert!(!body.contains("agent"), "no token or server names in /health: {body}");
    assert_eq!(request(port, "GET", "/ready", &[], "").0, 200);
    let (status, body) = request(port, "POST", "/mcp", &json, INIT);
    assert_eq!(status, 401, "no token: {body}");
    assert!(body.to_ascii_lowercase().contains("www-authenticate: bearer"), "{body}");
    let wrong = [json[0], json[1], ("Authorization", "Bearer sshdeck_not_a_token")];
    assert_eq!(request(port, "POST", "/mcp", &wrong, INIT).0, 401);
    let foreign = [json[0], json[1], ("Authorization", bearer.as_str()), ("Origin", "http://evil.example")];
    assert_eq!(request(port, "POST", "/mcp", &foreign, INIT).0, 403, "DNS rebinding: a foreign Origin");
    let ok = [json[0], json[1], ("Authorization", bearer.as_str())];
    let (status, body) = request(port, "POST", "/mcp", &ok, INIT);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"serverInfo\""), "{body}");

    // The Python SDK's Streamable HTTP client, two sessions at once and a read-only token.
    let sshd = Sshd::start().unwrap();
    let py = python();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&py)
        .arg(dir.join("tests/python/http_client.py"))
        .env("MCP_URL", format!("http://127.0.0.1:{port}/mcp"))
        .env("TOKEN_RW", &rw)
        .env("TOKEN_RO", &ro)
        .env("SSHD_PORT", sshd.port().to_string())
        .env("SSHD_USER", sshd.user())
        .env("SSHD_KEY", &sshd.keys().ed25519)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("http-client: passed"), "{text}");

    // The MCP Inspector's CLI over HTTP, with the token as a header.
    let out = Command::new("npx")
        .args(["-y", "@modelcontextprotocol/inspector@2.12.0", "--cli", &format!("http://127.0.0.1:{port}/mcp")])
        .args(["--transport", "http", "--header", &format!("Authorization: Bearer {rw}")])
        .args(["--method", "tools/call", "--tool-name", "task_exec", "--tool-arg", "alias=web"])
        .args(["--tool-arg", "cmd=echo over-http"])
        .output()
        .expect("npx (Node.js) is needed for this test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("over-http"), "{text}{}", String::from_utf8_lossy(&out.stderr));

    // A revoked token stops working at once; the jobs it started carry its name.
    let out = Command::new(BIN).args(["token", "revoke", "agent"]).env("MCP_DATA_DIR", data.path()).output().unwrap();
    assert!(out.status.success());
    assert_eq!(request(port, "POST", "/mcp", &ok, INIT).0, 401);
    let journal = std::fs::read_to_string(data.path().join("jobs/journal.jsonl")).unwrap();
    assert!(journal.contains("\"origin\":\"mcp:agent\""), "jobs record the token's name");
    assert!(!journal.contains(&rw) && !journal.contains(&ro), "no token in the journal");
    let logs: String = std::fs::read_dir(data.path().join("logs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(!logs.contains(&rw) && !logs.contains(&ro), "no token in the logs");
}
