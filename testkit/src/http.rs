//! A small HTTP/1.1 server on 127.0.0.1 for API-check and `net_http_request` tests. It records every
//! request and answers by path:
//! - `/ok` → 200 `ok`; `/status/N` → N; `/slow` → 200 after 3 s;
//! - `/echo` → 200 with the request (method, headers, body) as the body;
//! - `/auth` → 200 when the `Authorization` or `X-API-Key` header equals the expected value, else 401.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;

/// One request as received.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers as sent (name, value).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The running server. Its accept thread lives until the test process ends (each test uses its own
/// port, so a server left behind answers no one).
pub struct HttpServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl HttpServer {
    /// Starts a server; `/auth` accepts header values in `accepted` (`Bearer xyz`, `Basic …`, a key).
    pub fn start(accepted: &[&str]) -> Result<HttpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accepted: Arc<Vec<String>> = Arc::new(accepted.iter().map(|s| s.to_string()).collect());
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                let accepted = accepted.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &log, &accepted);
                });
            }
        });
        Ok(HttpServer { port, requests })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Request>>, accepted: &[String]) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let req = Request { method, path, headers, body: Vec::new() };
    let len: usize = req.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let req = Request { body, ..req };
    log.lock().expect("lock").push(req.clone());

    let (status, text) = match req.path.split('?').next().unwrap_or("") {
        "/ok" => (200, "ok".to_string()),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            (200, "slow".to_string())
        }
        "/echo" => {
            let mut t = format!("{} {}\n", req.method, req.path);
            for (k, v) in &req.headers {
                t.push_str(&format!("{k}: {v}\n"));
            }
            t.push('\n');
            t.push_str(&String::from_utf8_lossy(&req.body));
            (200, t)
        }
        "/auth" => {
            let given = [req.header("authorization"), req.header("x-api-key")];
            if given.iter().flatten().any(|g| accepted.iter().any(|a| a == g)) {
                (200, "welcome".to_string())
            } else {
                (401, "denied".to_string())
            }
        }
        p => match p.strip_prefix("/status/").and_then(|n| n.parse::<u16>().ok()) {
            Some(n) => (n, format!("status {n}")),
            None => (404, "not found".to_string()),
        },
    };
    let body = if req.method == "HEAD" { String::new() } else { text.clone() };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Test: a\r\nX-Test: b\r\nConnection: close\r\n\r\n{body}",
        if req.method == "HEAD" { text.len() } else { body.len() }
    )?;
    out.flush()?;
    Ok(())
}
