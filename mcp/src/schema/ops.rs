//! Schemas of the monitoring, network, API catalog and fleet tools.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::{ALIAS, input, int, num, output, s, targets};

fn obj() -> Value {
    json!({"type": "object"})
}

fn arr() -> Value {
    json!({"type": "array", "items": {"type": "object"}})
}

pub fn targets_in() -> Arc<JsonObject> {
    input(json!({"alias": targets()}), &["alias"])
}

pub fn resources_out() -> Arc<JsonObject> {
    output(json!({
        "hostname": {"type": "string"}, "kernel": {"type": "string"}, "uptimeSeconds": {"type": "number"},
        "cpu": obj(), "load": obj(), "memory": obj(), "disks": arr(), "warnings": {"type": "array"}
    }))
}

pub fn services_out() -> Arc<JsonObject> {
    output(json!({"systemd": obj(), "docker": obj(), "pm2": obj()}))
}

pub fn fail2ban_in() -> Arc<JsonObject> {
    input(json!({"alias": s(ALIAS), "jail": s("One jail (all if absent)")}), &["alias"])
}

pub fn fail2ban_out() -> Arc<JsonObject> {
    output(json!({"status": {"type": "string"}, "jails": arr()}))
}

const FROM: &str = "Server alias to run it from";

pub fn ping_in() -> Arc<JsonObject> {
    input(json!({"alias": s(FROM), "host": s("Host or IP"), "count": int("Pings (4, max 20)")}), &["alias", "host"])
}

pub fn ping_out() -> Arc<JsonObject> {
    output(
        json!({"reachable": {"type": "boolean"}, "received": {"type": "integer"}, "lossPercent": {"type": "number"}, "rttMs": obj()}),
    )
}

pub fn port_check_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s(FROM), "host": s("Host or IP"),
               "ports": {"description": "[22, 443] or \"22,80,8000-8010\" (max 100)", "type": ["array", "string", "integer"], "items": {"type": "integer"}},
               "timeout": int("Seconds per port (3, max 10)")}),
        &["alias", "host", "ports"],
    )
}

pub fn port_check_out() -> Arc<JsonObject> {
    output(json!({"host": {"type": "string"}, "ports": arr()}))
}

pub fn dns_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s(FROM), "name": s("Name (or IP for PTR)"),
               "type": {"type": "string", "enum": ["A", "AAAA", "MX", "TXT", "NS", "CNAME", "SOA", "PTR", "SRV", "CAA", "ANY"], "description": "Record type (A)"}}),
        &["alias", "name"],
    )
}

pub fn dns_out() -> Arc<JsonObject> {
    output(json!({"resolver": {"type": "string"}, "records": arr()}))
}

pub fn http_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s(FROM), "url": s("http(s) URL"),
               "method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
               "headers": {"type": "object", "additionalProperties": {"type": "string"}},
               "body": s("Request body"), "timeout": int("Seconds (10, max 60)")}),
        &["alias", "url"],
    )
}

pub fn http_out() -> Arc<JsonObject> {
    output(
        json!({"status": {"type": "integer"}, "timeMs": {"type": "number"}, "headers": obj(), "body": {"type": "string"}}),
    )
}

pub fn api_add_in() -> Arc<JsonObject> {
    input(
        json!({
            "alias": s("API alias"), "url": s("Base URL"),
            "health_check_endpoint": s("Path checked, e.g. /health"),
            "health_check_method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
            "auth_method": {"type": "string", "enum": ["none", "api_key", "htpasswd", "both"]},
            "api_key": s("Key (secret)"), "auth_header_name": s("Header for the key (Authorization)"),
            "auth_scheme": s("Prefix before the key (Bearer; '' for none)"),
            "htpasswd_user": s("Basic-auth user"), "htpasswd_pass": s("Basic-auth password (secret)"),
            "notes": s("Notes"), "expected_status": int("Status meaning UP (any 2xx/3xx)"),
            "timeout": int("Seconds (10, max 60)")
        }),
        &["alias", "url"],
    )
}

pub fn api_alias_in() -> Arc<JsonObject> {
    input(json!({"alias": s("API alias")}), &["alias"])
}

pub fn api_check_in() -> Arc<JsonObject> {
    input(
        json!({"alias": s("API alias"), "server_alias": s("Check from this server (curl) instead of here")}),
        &["alias"],
    )
}

pub fn api_health_in() -> Arc<JsonObject> {
    input(json!({"alias": s("Server the check runs from (curl)"), "url": s("URL to check")}), &["alias", "url"])
}

pub fn api_out() -> Arc<JsonObject> {
    output(json!({"alias": {"type": "string"}, "url": {"type": "string"}, "auth_method": {"type": "string"}}))
}

pub fn apis_out() -> Arc<JsonObject> {
    output(json!({"apis": arr()}))
}

pub fn api_check_out() -> Arc<JsonObject> {
    output(json!({
        "status": {"type": "string", "enum": ["UP", "DOWN", "ERROR"]}, "http_code": {"type": "integer"},
        "response_time_ms": {"type": "number"}, "tls_expires_at": {"type": "string"}, "tls_days_left": {"type": "integer"}
    }))
}

pub fn group_set_in() -> Arc<JsonObject> {
    input(
        json!({"name": s("Group name"), "aliases": {"type": "array", "items": {"type": "string"}}}),
        &["name", "aliases"],
    )
}

pub fn group_name_in() -> Arc<JsonObject> {
    input(json!({"name": s("Group name")}), &["name"])
}

pub fn group_out() -> Arc<JsonObject> {
    output(json!({"name": {"type": "string"}, "aliases": {"type": "array", "items": {"type": "string"}}}))
}

pub fn groups_out() -> Arc<JsonObject> {
    output(json!({"groups": arr()}))
}

pub fn fleet_status_in() -> Arc<JsonObject> {
    input(json!({"alias": targets(), "timeout_s": num("Seconds per host (15)")}), &[])
}

pub fn fleet_out() -> Arc<JsonObject> {
    output(
        json!({"total": {"type": "integer"}, "ok": {"type": "integer"}, "failed": {"type": "integer"}, "hosts": arr()}),
    )
}
