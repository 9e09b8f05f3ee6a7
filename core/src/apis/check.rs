//! Health checks: from this machine (reqwest on rustls, the system's roots) or from a server (curl,
//! credentials on its stdin). UP: the expected status (any 2xx/3xx when none is set); DOWN: no
//! response (refused, timeout, name not resolved) or a 5xx; ERROR: another status (a 401 means the
//! credentials are wrong) or a TLS failure.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Api;
use crate::error::Result;
use crate::jobs::{format_time, now_ms};
use crate::ops::net::HttpRequest;
use crate::ops::{self, Run};
use crate::remote::Remote;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// UP, DOWN or ERROR.
    pub status: String,
    /// HTTP status, when a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_code: Option<u16>,
    /// Time to the response (or to the failure), in ms.
    pub response_time_ms: f64,
    /// When the server's certificate expires (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_expires_at: Option<String>,
    /// Days until then (negative: expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_days_left: Option<i64>,
    /// Why it is not UP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was checked.
    pub checked_at: String,
    /// `local`, or the server alias it was checked from.
    pub from: String,
    /// The URL checked.
    pub url: String,
}

/// UP / DOWN / ERROR for a response status (`None`: no response).
pub fn classify(code: Option<u16>, expected: Option<u16>) -> &'static str {
    match (code, expected) {
        (None, _) => "DOWN",
        (Some(c), Some(e)) if c == e => "UP",
        (Some(c), None) if c < 400 => "UP",
        (Some(c), _) if c >= 500 => "DOWN",
        _ => "ERROR",
    }
}

fn timeout(api: &Api) -> Duration {
    Duration::from_secs(u64::from(api.timeout.unwrap_or(10).clamp(1, 60)))
}

fn result(api: &Api, from: &str, code: Option<u16>, elapsed_ms: f64, error: Option<String>) -> CheckResult {
    let mut status = classify(code, api.expected_status);
    if code.is_none() && error.as_deref().is_some_and(is_tls_error) {
        status = "ERROR";
    }
    let error = match (status, code) {
        ("UP", _) => None,
        (_, Some(c)) if error.is_none() => Some(match api.expected_status {
            Some(e) => format!("HTTP {c}, expected {e}"),
            None => format!("HTTP {c}"),
        }),
        _ => error,
    };
    CheckResult {
        status: status.to_string(),
        http_code: code,
        response_time_ms: (elapsed_ms * 10.0).round() / 10.0,
        tls_expires_at: None,
        tls_days_left: None,
        error,
        checked_at: format_time(now_ms()),
        from: from.to_string(),
        url: api.check_url(),
    }
}

fn is_tls_error(e: &str) -> bool {
    let e = e.to_ascii_lowercase();
    ["certificate", "tls", "ssl", "handshake"].iter().any(|w| e.contains(w))
}

fn with_expiry(mut r: CheckResult, not_after: Option<i64>) -> CheckResult {
    if let Some(t) = not_after {
        r.tls_expires_at = Some(format_time(t.max(0) as u64 * 1000));
        r.tls_days_left = Some((t - (now_ms() / 1000) as i64).div_euclid(86_400));
    }
    r
}

/// Checks an API from this machine. Never fails: a failure is the result's status and error.
pub async fn check_local(api: &Api) -> CheckResult {
    // The ring provider (russh's) is the process default; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let elapsed = || started.elapsed().as_secs_f64() * 1000.0;
    let client = reqwest::Client::builder()
        .tls_info(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout(api))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => return result(api, "local", None, elapsed(), Some(format!("HTTP client: {}", chain(&e)))),
    };
    let method = reqwest::Method::from_bytes(api.method().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = client.request(method, api.check_url());
    if let Some((name, value)) = api.key_header() {
        req = req.header(name, value);
    }
    if let Some((user, pass)) = api.basic() {
        req = req.basic_auth(user, Some(pass));
    }
    match req.send().await {
        Ok(resp) => {
            let expiry = resp
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|t| t.peer_certificate())
                .and_then(cert_not_after);
            let r = result(api, "local", Some(resp.status().as_u16()), elapsed(), None);
            with_expiry(r, expiry)
        }
        Err(e) => {
            let what = if e.is_timeout() { "timeout: " } else { "" };
            result(api, "local", None, elapsed(), Some(format!("{what}{}", chain(&e.without_url()))))
        }
    }
}

/// An error and its causes, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

/// Checks an API from a server with curl. Fails only when the server cannot run it (connection,
/// auth, curl missing); the API's own failures are the result's status.
pub async fn check_from_server(deck: &dyn Remote, server: &str, api: &Api, run: Run) -> Result<CheckResult> {
    let mut req = HttpRequest {
        url: api.check_url(),
        method: Some(api.method()),
        timeout_secs: Some(timeout(api).as_secs() as u32),
        basic_auth: api.basic(),
        want_cert: true,
        ..Default::default()
    };
    if let Some((name, value)) = api.key_header() {
        req.headers.insert(name, value);
    }
    let resp = ops::net::http_request(deck, server, &req, run).await?;
    let code = (resp.curl_exit == 0 && resp.status > 0).then_some(resp.status);
    let error = resp.error.clone().map(|e| match resp.curl_exit {
        35 | 51 | 53 | 54 | 58 | 59 | 60 | 64 | 66 | 77 | 80 | 82 | 83 | 90 | 91 => format!("TLS: {e}"),
        _ => e,
    });
    let r = result(api, server, code, resp.time_ms, error);
    Ok(with_expiry(r, resp.tls_expires.as_deref().and_then(parse_openssl_time)))
}

/// `Dec 26 18:30:54 2027 GMT` (curl's `Expire date`, OpenSSL's format) as Unix seconds.
pub(crate) fn parse_openssl_time(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut f = s.split_whitespace();
    let name = f.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? as u32 + 1;
    let day: u32 = f.next()?.parse().ok()?;
    let mut hms = f.next()?.split(':').map(|x| x.parse::<u32>().ok());
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let year: i64 = f.next()?.parse().ok()?;
    Some(unix_time(year, month, day, h, mi, sec))
}

fn unix_time(year: i64, month: u32, day: u32, h: u32, mi: u32, s: u32) -> i64 {
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
}

/// One DER element: (tag, content, rest).
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&len, mut b) = b.split_first()?;
    let len = if len < 0x80 {
        usize::from(len)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 3 || b.len() < n {
            return None;
        }
        let v = b[..n].iter().fold(0usize, |a, &x| a << 8 | usize::from(x));
        b = &b[n..];
        v
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// A certificate's notAfter, as Unix seconds, read from its DER.
pub(crate) fn cert_not_after(cert: &[u8]) -> Option<i64> {
    let (_, cert, _) = der(cert)?;
    let (_, tbs, _) = der(cert)?;
    let (tag, _, mut rest) = der(tbs)?;
    if tag == 0xa0 {
        rest = der(rest)?.2; // version was explicit: skip the serial too
    }
    let rest = der(rest)?.2; // signature algorithm
    let rest = der(rest)?.2; // issuer
    let (_, validity, _) = der(rest)?;
    let (_, _, after) = der(validity)?;
    let (tag, t, _) = der(after)?;
    let t = std::str::from_utf8(t).ok()?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = t.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, t.get(2..)?)
        }
        0x18 => (t.get(..4)?.parse().ok()?, t.get(4..)?),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2)?.parse::<u32>().ok();
    Some(unix_time(year, n(0)?, n(2)?, n(4)?, n(6)?, n(8)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        assert_eq!(classify(Some(200), None), "UP");
        assert_eq!(classify(Some(301), None), "UP");
        assert_eq!(classify(Some(401), None), "ERROR");
        assert_eq!(classify(Some(503), None), "DOWN");
        assert_eq!(classify(None, None), "DOWN");
        assert_eq!(classify(Some(204), Some(204)), "UP");
        assert_eq!(classify(Some(200), Some(204)), "ERROR");
    }

    #[test]
    fn certificate_expiry_is_read_from_der() {
        // openssl req -x509 … -days 400 on 2026-11-21: notAfter=Dec 26 18:30:54 2027 GMT (UTCTime).
        let t = cert_not_after(include_bytes!("fixtures/cert-2027.der")).unwrap();
        assert_eq!(format_time(t as u64 * 1000), "2027-12-26T18:30:54Z");
        assert_eq!(Some(t), parse_openssl_time("Dec 26 18:30:54 2027 GMT"));
        // -days 12000: notAfter=Sep 29 18:30:55 2059 GMT (GeneralizedTime after 2049).
        let t = cert_not_after(include_bytes!("fixtures/cert-far.der")).unwrap();
        assert_eq!(format_time(t as u64 * 1000), "2059-09-29T18:30:55Z");
        assert_eq!(cert_not_after(b"\x30\x03\x02\x01\x01"), None);
        assert_eq!(cert_not_after(b""), None);
    }
}
