//! HTTP requests made with curl from a chosen server: the URL, headers, credentials and body go to
//! curl on stdin (a curl config), never on a command line; the response is parsed, its body bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{Run, connection_failed, missing, run_script, unexpected};
use crate::error::{Error, Result};
use crate::remote::Remote;

const HTTP: &str = include_str!("http.sh");
/// Most bytes of an HTTP response body returned.
pub const MAX_BODY: usize = 64 * 1024;

/// Methods `net_http_request` accepts.
pub const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// An HTTP request made by curl on a server.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// http:// or https:// URL.
    pub url: String,
    /// Method (GET by default).
    pub method: Option<String>,
    /// Request headers.
    pub headers: BTreeMap<String, String>,
    /// Request body.
    pub body: Option<String>,
    /// Whole-request timeout in seconds (1..=60, default 10).
    pub timeout_secs: Option<u32>,
    /// Basic auth `user:password`.
    pub basic_auth: Option<(String, String)>,
    /// Also report the certificate's expiry (https).
    pub want_cert: bool,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    /// HTTP status (0 when no response).
    pub status: u16,
    /// Total time in ms.
    pub time_ms: f64,
    /// The address connected to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Response headers (lower-case names; repeated ones joined with ", ").
    pub headers: BTreeMap<String, String>,
    /// Body as text (lossy UTF-8), at most 64 KiB.
    pub body: String,
    /// Body bytes received.
    pub body_bytes: u64,
    /// True when `body` was cut.
    pub body_truncated: bool,
    /// Certificate expiry (`Expire date` as curl prints it), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_expires: Option<String>,
    /// curl's error when there was no response (refused, timeout, TLS…); shown as
    /// `{code: CONNECTION_FAILED, message}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "connection_failed")]
    pub error: Option<String>,
    /// curl's exit code (0: a response arrived).
    pub curl_exit: i32,
}

/// Checks an HTTP request's parts.
pub fn check_http(req: &HttpRequest) -> Result<String> {
    let url = req.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_control) {
        return Err(Error::InvalidArgument(format!("url {url:?}: expected an http:// or https:// URL")));
    }
    let method = req.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    if !HTTP_METHODS.contains(&method.as_str()) {
        return Err(Error::InvalidArgument(format!("method {method:?}: expected one of {}", HTTP_METHODS.join(", "))));
    }
    for (k, v) in &req.headers {
        let bad_name = k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || "-_!#$%&'*+.^`|~".contains(c));
        if bad_name || v.contains(['\r', '\n']) {
            return Err(Error::InvalidArgument(format!("header {k:?}: invalid name or a line break in its value")));
        }
    }
    Ok(method)
}

/// A string as a curl config value: double quotes, with `\\`, `\"` and control characters escaped.
fn curl_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '\\' => q.push_str("\\\\"),
            '"' => q.push_str("\\\""),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The curl config (read from stdin) for a request: everything about it, secrets included.
pub fn curl_config(req: &HttpRequest, method: &str) -> String {
    let mut c = format!("url = {}\n", curl_quote(req.url.trim()));
    match method {
        "GET" => {}
        "HEAD" => c.push_str("head\n"),
        m => c.push_str(&format!("request = {}\n", curl_quote(m))),
    }
    for (k, v) in &req.headers {
        c.push_str(&format!("header = {}\n", curl_quote(&format!("{k}: {v}"))));
    }
    if let Some((u, p)) = &req.basic_auth {
        c.push_str(&format!("user = {}\n", curl_quote(&format!("{u}:{p}"))));
    }
    if let Some(body) = &req.body {
        c.push_str(&format!("data-raw = {}\n", curl_quote(body)));
    }
    c
}

/// Makes an HTTP request with curl on `alias`.
pub async fn http_request(deck: &dyn Remote, alias: &str, req: &HttpRequest, run: Run) -> Result<HttpResponse> {
    let method = check_http(req)?;
    let t = req.timeout_secs.unwrap_or(10).clamp(1, 60);
    let certs = if req.want_cert && req.url.trim().starts_with("https://") { "@@sshdeck certs\n%{certs}" } else { "" };
    let run = Run {
        timeout: Some(Duration::from_secs(u64::from(t) + 10)),
        stdin: Some(curl_config(req, &method).into_bytes()),
        ..run
    };
    let out = run_script(deck, alias, HTTP, &[&t.to_string(), certs], run).await?;
    let text = out.stdout.text();
    if let Some(e) = text.lines().find_map(|l| missing(alias, l.strip_prefix("@@sshdeck ")?)) {
        return Err(e);
    }
    parse_http(&text, &out.stderr.text()).ok_or_else(|| unexpected(alias, "curl", &out))
}

/// Parses curl's `--include` output followed by the meta, certs and rc lines of the script.
pub fn parse_http(text: &str, stderr: &str) -> Option<HttpResponse> {
    let meta_at = text.rfind("\n@@sshdeck meta ")?;
    let (response, tail) = text.split_at(meta_at);
    let tail = &tail[1..];
    let meta_line = tail.lines().next()?;
    let mut meta = meta_line.trim_start_matches("@@sshdeck meta ").split(' ');
    let status: u16 = meta.next()?.parse().ok()?;
    let time_ms = meta.next()?.parse::<f64>().ok().map(|s| (s * 10_000.0).round() / 10.0)?;
    let remote_ip = meta.next().filter(|s| !s.is_empty()).map(str::to_string);
    let body_bytes = meta.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let curl_exit = tail.lines().find_map(|l| l.strip_prefix("@@sshdeck rc ")?.trim().parse().ok()).unwrap_or(-1);
    let tls_expires = tail
        .lines()
        .find_map(|l| l.strip_prefix("Expire date:").or_else(|| l.strip_prefix("Expire Date:")))
        .map(|s| s.trim().to_string());

    // Header blocks (interim 1xx responses first), then the body.
    let mut rest = response;
    let mut headers = BTreeMap::new();
    while rest.starts_with("HTTP/") {
        let (block, after) = match rest.find("\r\n\r\n") {
            Some(i) => (&rest[..i], &rest[i + 4..]),
            None => match rest.find("\n\n") {
                Some(i) => (&rest[..i], &rest[i + 2..]),
                None => (rest, ""),
            },
        };
        headers.clear();
        for line in block.lines().skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim().to_string();
                headers.entry(k).and_modify(|e: &mut String| *e = format!("{e}, {v}")).or_insert(v);
            }
        }
        rest = after;
    }
    let body_truncated = rest.len() > MAX_BODY;
    let body = super::prefix(rest, MAX_BODY).to_string();
    let error = (curl_exit != 0).then(|| {
        let e = stderr.lines().find(|l| l.starts_with("curl:")).unwrap_or(stderr.trim());
        e.trim_start_matches("curl: ").trim().to_string()
    });
    Some(HttpResponse {
        status,
        time_ms,
        remote_ip,
        headers,
        body,
        body_bytes,
        body_truncated,
        tls_expires,
        error,
        curl_exit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_requests_are_checked_and_configs_escaped() {
        let mut req = HttpRequest { url: "https://x.test/a?b=1".into(), ..Default::default() };
        assert_eq!(check_http(&req).unwrap(), "GET");
        req.headers.insert("X-Evil".into(), "a\r\nInjected: 1".into());
        assert_eq!(check_http(&req).unwrap_err().code(), "INVALID_ARGUMENT");
        req.headers.clear();
        req.url = "file:///etc/passwd".into();
        assert_eq!(check_http(&req).unwrap_err().code(), "INVALID_ARGUMENT");
        req.url = "http://x.test/".into();
        req.method = Some("TRACE".into());
        assert_eq!(check_http(&req).unwrap_err().code(), "INVALID_ARGUMENT");
        req.method = Some("post".into());
        req.body = Some("{\"a\":\"b\\\\\"}\n@/etc/passwd".into());
        req.basic_auth = Some(("u".into(), "p\"w".into()));
        let c = curl_config(&req, &check_http(&req).unwrap());
        assert_eq!(
            c,
            "url = \"http://x.test/\"\nrequest = \"POST\"\nuser = \"u:p\\\"w\"\ndata-raw = \"{\\\"a\\\":\\\"b\\\\\\\\\\\"}\\n@/etc/passwd\"\n"
        );
    }

    #[test]
    fn curl_output_parses() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello\n@@sshdeck meta 200 0.001234 127.0.0.1 6\n@@sshdeck rc 0\n";
        let r = parse_http(text, "").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "hello");
        assert_eq!(r.headers["set-cookie"], "a=1, b=2");
        assert_eq!(r.time_ms, 1.2);
        assert_eq!(r.error, None);
        let refused = "\n@@sshdeck meta 000 0.000321  0\n@@sshdeck rc 7\n";
        let r = parse_http(
            refused,
            "curl: (7) Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server\n",
        )
        .unwrap();
        assert_eq!((r.status, r.curl_exit), (0, 7));
        assert!(r.error.unwrap().starts_with("(7) Failed to connect"));
        let with_cert = "HTTP/1.1 204 No Content\r\n\r\n\n@@sshdeck meta 204 0.01 127.0.0.1 0\n@@sshdeck certs\nSubject:CN = localhost\nExpire date:Dec 31 23:59:59 2027 GMT\n@@sshdeck rc 0\n";
        assert_eq!(parse_http(with_cert, "").unwrap().tls_expires.as_deref(), Some("Dec 31 23:59:59 2027 GMT"));
    }
}
