//! Network diagnostics run from a chosen server: ping, TCP port checks and DNS lookups (HTTP requests
//! are in `ops::http`). Counts, port lists and timeouts are bounded; host names are validated and
//! passed as positional parameters.

use std::time::Duration;

use serde::Serialize;

pub use super::http::{
    HTTP_METHODS, HttpRequest, HttpResponse, MAX_BODY, check_http, curl_config, http_request, parse_http,
};
use super::sections;
use super::{Run, command_failed, missing, run_script, unexpected};
use crate::error::{Error, Result};
use crate::remote::Remote;

const PING: &str = include_str!("ping.sh");
const PORTS: &str = include_str!("ports.sh");
const DNS: &str = include_str!("dns.sh");

/// Most pings per call.
pub const MAX_PING_COUNT: u32 = 20;
/// Most ports per call.
pub const MAX_PORTS: usize = 100;

/// A host name or address that can be placed after `--` or as an argument without being read as an
/// option: letters, digits, `.`, `-`, `_`, `:` (IPv6), `%` (zone), not starting with `-`.
pub fn check_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('-')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'));
    if ok { Ok(()) } else { Err(Error::InvalidArgument(format!("host {host:?}: not a host name or IP address"))) }
}

/// `net_ping` result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ping {
    /// The host pinged.
    pub host: String,
    /// The address it resolved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// True when at least one reply came back.
    pub reachable: bool,
    /// Echo requests sent.
    pub transmitted: u32,
    /// Replies received.
    pub received: u32,
    /// Lost, in percent.
    pub loss_percent: f64,
    /// Round-trip times in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<Rtt>,
    /// Why nothing was sent (unknown host…); shown as `{code: COMMAND_FAILED, message}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "command_failed")]
    pub error: Option<String>,
}

/// min / avg / max round trip.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rtt {
    /// Fastest.
    pub min: f64,
    /// Mean.
    pub avg: f64,
    /// Slowest.
    pub max: f64,
}

/// Pings `host` `count` times (1..=20, default 4) from `alias`.
pub async fn ping(deck: &dyn Remote, alias: &str, host: &str, count: Option<u32>, run: Run) -> Result<Ping> {
    check_host(host)?;
    let count = count.unwrap_or(4).clamp(1, MAX_PING_COUNT);
    let run = Run { timeout: Some(Duration::from_secs(u64::from(count) * 2 + 10)), ..run };
    let out = run_script(deck, alias, PING, &[host, &count.to_string()], run).await?;
    let text = out.stdout.text();
    let secs = sections(&text);
    let Some((head, body)) = secs.first() else { return Err(unexpected(alias, "ping", &out)) };
    if let Some(e) = missing(alias, head) {
        return Err(e);
    }
    if body.contains("Operation not permitted") || body.contains("permission denied") {
        return Err(Error::PermissionDenied { alias: alias.to_string(), reason: body.trim().to_string() });
    }
    Ok(parse_ping(host, body))
}

/// Parses iputils or busybox ping output.
pub fn parse_ping(host: &str, body: &str) -> Ping {
    let mut p = Ping {
        host: host.to_string(),
        address: None,
        reachable: false,
        transmitted: 0,
        received: 0,
        loss_percent: 100.0,
        rtt_ms: None,
        error: None,
    };
    for line in body.lines() {
        if line.starts_with("PING ") {
            // PING host (1.2.3.4) 56(84) bytes of data.  /  PING host (1.2.3.4): 56 data bytes
            p.address = line.split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(a, _)| a.to_string());
        } else if line.contains("packets transmitted") {
            let nums: Vec<&str> = line.split([',', ' ']).filter(|s| !s.is_empty()).collect();
            let count_before = |word: &str| {
                let i = nums.iter().position(|w| w.starts_with(word))?;
                nums[..i].iter().rev().find_map(|w| w.parse::<u32>().ok())
            };
            p.transmitted = count_before("transmitted").unwrap_or(0);
            p.received = count_before("received").unwrap_or(0);
            p.loss_percent = nums
                .iter()
                .find(|w| w.ends_with('%'))
                .and_then(|w| w.trim_end_matches('%').parse().ok())
                .unwrap_or(100.0);
        } else if let Some((_, v)) = line.split_once(" = ").filter(|_| line.contains("min/avg/max")) {
            let v: Vec<f64> = v.split(['/', ' ']).filter_map(|x| x.parse().ok()).collect();
            if v.len() >= 3 {
                p.rtt_ms = Some(Rtt { min: v[0], avg: v[1], max: v[2] });
            }
        }
    }
    p.reachable = p.received > 0;
    if p.transmitted == 0 {
        p.error =
            Some(body.lines().find(|l| !l.trim().is_empty()).unwrap_or("ping printed nothing").trim().to_string());
    }
    p
}

/// One port's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// The port.
    pub port: u16,
    /// open, closed (refused), timeout (filtered or down), unreachable or error.
    pub state: String,
    /// Connect time in ms, when the host clock can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// What the connect attempt said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Checks TCP `ports` of `host` from `alias`, all at once, each within `timeout_secs` (1..=10, default 3).
pub async fn port_check(
    deck: &dyn Remote,
    alias: &str,
    host: &str,
    ports: &[u16],
    timeout_secs: Option<u32>,
    run: Run,
) -> Result<Vec<Port>> {
    check_host(host)?;
    if ports.is_empty() || ports.len() > MAX_PORTS || ports.contains(&0) {
        return Err(Error::InvalidArgument(format!("ports: 1 to {MAX_PORTS} ports, each 1-65535")));
    }
    let t = timeout_secs.unwrap_or(3).clamp(1, 10);
    let mut args = vec![host.to_string(), t.to_string()];
    args.extend(ports.iter().map(u16::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = Run { timeout: Some(Duration::from_secs(u64::from(t) + 15)), ..run };
    let out = run_script(deck, alias, PORTS, &args, run).await?;
    let text = out.stdout.text();
    if let Some(e) = text.lines().find_map(|l| missing(alias, l.strip_prefix("@@sshdeck ")?)) {
        return Err(e);
    }
    let mut found = parse_ports(&text);
    if found.is_empty() {
        return Err(unexpected(alias, "port check", &out));
    }
    found.sort_by_key(|p| ports.iter().position(|q| *q == p.port));
    Ok(found)
}

/// Parses `@@sshdeck port PORT RC START_NS END_NS MESSAGE` lines.
pub fn parse_ports(text: &str) -> Vec<Port> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("@@sshdeck port ")?;
            let mut f = rest.splitn(5, ' ');
            let port: u16 = f.next()?.parse().ok()?;
            let rc: i32 = f.next()?.parse().ok()?;
            let start: Option<u128> = f.next().and_then(|s| s.parse().ok());
            let end: Option<u128> = f.next().and_then(|s| s.parse().ok());
            let message = f.next().map(str::trim).filter(|m| !m.is_empty()).map(str::to_string);
            let m = message.as_deref().unwrap_or("");
            let state = match rc {
                0 => "open",
                124 => "timeout",
                _ if m.contains("refused") => "closed",
                _ if m.contains("unreachable") || m.contains("No route") => "unreachable",
                _ if m.is_empty() => "closed",
                _ => "error",
            };
            let latency_ms = match (start, end) {
                (Some(s), Some(e)) if rc == 0 && e >= s && s > 1_000_000_000_000 => {
                    Some(((e - s) as f64 / 1e5).round() / 10.0)
                }
                _ => None,
            };
            Some(Port { port, state: state.to_string(), latency_ms, message: if rc == 0 { None } else { message } })
        })
        .collect()
}

/// Record types `net_dns_lookup` accepts.
pub const DNS_TYPES: [&str; 11] = ["A", "AAAA", "MX", "TXT", "NS", "CNAME", "SOA", "PTR", "SRV", "CAA", "ANY"];

/// `net_dns_lookup` result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dns {
    /// The name asked for.
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub kind: String,
    /// What answered: `getent` (the host's resolver, /etc/hosts included) or `dig`.
    pub resolver: String,
    /// The records (empty: the name does not resolve).
    pub records: Vec<DnsRecord>,
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    /// Owner name.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub kind: String,
    /// TTL in seconds (dig only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Record data.
    pub value: String,
}

/// Looks `name` up from `alias`: A and AAAA through the host's resolver (getent), other types through dig.
pub async fn dns_lookup(deck: &dyn Remote, alias: &str, name: &str, kind: Option<&str>, run: Run) -> Result<Dns> {
    check_host(name.trim_end_matches('.'))?;
    let kind = kind.unwrap_or("A").to_ascii_uppercase();
    if !DNS_TYPES.contains(&kind.as_str()) {
        return Err(Error::InvalidArgument(format!("type {kind:?}: expected one of {}", DNS_TYPES.join(", "))));
    }
    let run = Run { timeout: Some(Duration::from_secs(15)), ..run };
    let out = run_script(deck, alias, DNS, &[name, &kind], run).await?;
    let text = out.stdout.text();
    let secs = sections(&text);
    let Some((head, body)) = secs.first() else { return Err(unexpected(alias, "dns lookup", &out)) };
    if let Some(e) = missing(alias, head) {
        return Err(e);
    }
    let (tool, rc) = head.split_once(' ').unwrap_or((head, ""));
    let records = match tool {
        "getent" if rc == "0" => parse_getent(name, &kind, body),
        // getent: 2 = not found.
        "getent" | "getent-ptr" if rc == "2" => Vec::new(),
        "getent-ptr" if rc == "0" => body
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .map(|h| DnsRecord { name: name.to_string(), kind: "PTR".into(), ttl: None, value: h.to_string() })
            .collect(),
        "dig" if rc == "0" => parse_dig(body),
        _ => {
            return Err(Error::RemoteFailed {
                alias: alias.to_string(),
                what: format!("{tool} lookup"),
                exit: rc.parse().unwrap_or(-1),
                stderr: body.trim().chars().take(300).collect(),
            });
        }
    };
    let resolver = if tool.starts_with("getent") { "getent" } else { "dig" }.to_string();
    Ok(Dns { name: name.to_string(), kind, resolver, records })
}

/// `getent ahostsv4|ahostsv6` lines: address, socket type, [canonical name]; addresses once each.
pub fn parse_getent(name: &str, kind: &str, body: &str) -> Vec<DnsRecord> {
    let mut seen = Vec::new();
    for line in body.lines() {
        if let Some(addr) = line.split_whitespace().next()
            && !seen.iter().any(|r: &DnsRecord| r.value == addr)
        {
            seen.push(DnsRecord { name: name.to_string(), kind: kind.to_string(), ttl: None, value: addr.to_string() });
        }
    }
    seen
}

/// `dig +noall +answer` lines: name, TTL, class, type, data.
pub fn parse_dig(body: &str) -> Vec<DnsRecord> {
    body.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let ttl = f.next()?.parse().ok()?;
            let _class = f.next()?;
            let kind = f.next()?.to_string();
            let value = f.collect::<Vec<_>>().join(" ");
            Some(DnsRecord { name, kind, ttl: Some(ttl), value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked() {
        for ok in ["example.com", "127.0.0.1", "::1", "fe80::1%eth0", "web_1.local"] {
            check_host(ok).unwrap();
        }
        for bad in ["", "-c", "--help", "a b", "a;b", "$(id)", "a\nb", "`x`", "'x'"] {
            assert_eq!(check_host(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad:?}");
        }
    }

    #[test]
    fn iputils_and_busybox_ping_parse() {
        // iputils 20221126 (Debian 12), captured.
        let p = parse_ping("localhost", include_str!("fixtures/ping-iputils.txt"));
        assert_eq!((p.transmitted, p.received, p.reachable), (3, 3, true));
        assert_eq!(p.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(p.loss_percent, 0.0);
        assert!(p.rtt_ms.as_ref().unwrap().min <= p.rtt_ms.as_ref().unwrap().max);
        // busybox 1.35, captured.
        let p = parse_ping("127.0.0.1", include_str!("fixtures/ping-busybox.txt"));
        assert_eq!((p.transmitted, p.received), (2, 2));
        assert!(p.rtt_ms.is_some());
        let lost = "PING 10.255.255.1 (10.255.255.1) 56(84) bytes of data.\n\n--- 10.255.255.1 ping statistics ---\n2 packets transmitted, 0 received, 100% packet loss, time 1010ms\n";
        let p = parse_ping("10.255.255.1", lost);
        assert_eq!((p.transmitted, p.received, p.reachable, p.loss_percent), (2, 0, false, 100.0));
        let p = parse_ping("nope.invalid", "ping: nope.invalid: Name or service not known\n");
        assert!(!p.reachable);
        assert_eq!(p.error.as_deref(), Some("ping: nope.invalid: Name or service not known"));
    }

    #[test]
    fn port_lines_parse() {
        let text = "@@sshdeck port 22 0 1700000000000000000 1700000000001500000 \n\
                    @@sshdeck port 1 1 1700000000000000000 1700000000000100000 bash: connect: Connection refused bash: line 1: /dev/tcp/127.0.0.1/1: Connection refused\n\
                    @@sshdeck port 81 124 1700000000000000000 1700000003000000000 \n\
                    @@sshdeck port 82 1 %s%N %s%N \n";
        let p = parse_ports(text);
        assert_eq!(p[0].state, "open");
        assert_eq!(p[0].latency_ms, Some(1.5));
        assert_eq!(p[1].state, "closed");
        assert_eq!(p[2].state, "timeout");
        assert_eq!(p[3].state, "closed");
        assert_eq!(p[3].latency_ms, None);
    }

    #[test]
    fn dns_outputs_parse() {
        let r = parse_getent(
            "localhost",
            "A",
            "127.0.0.1       STREAM localhost\n127.0.0.1       DGRAM  \n127.0.0.1       RAW    \n",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].value, "127.0.0.1");
        let d = parse_dig(
            "example.com.\t\t3600\tIN\tMX\t10 mail.example.com.\n;; comment\nexample.com.\t3600\tIN\tMX\t20 mx2.example.com.\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].value, "10 mail.example.com.");
        assert_eq!(d[1].ttl, Some(3600));
    }
}
