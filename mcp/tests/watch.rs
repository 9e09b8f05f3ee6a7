//! MCP logging (`logging/setLevel`, `notifications/message` as jobs end) and resource subscriptions
//! (`resources/subscribe`, `notifications/resources/updated` as a job changes), over real stdio.

#[path = "support/client.rs"]
mod client;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

/// Waits until a notification matching `want` has arrived (in `seen`, which collects them all).
fn wait_for(c: &mut Client, seen: &mut Vec<Value>, what: &str, want: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        seen.extend(c.notifications());
        if seen.iter().any(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "no {what} in {seen:?}");
        // A ping lets the reader thread deliver what came meanwhile.
        c.request("ping", json!({}));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_session_hears_jobs_end_and_the_jobs_it_watches_change() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_SYNC_TIMEOUT_S", "1")]);
    c.add_server(&sshd, "web");
    let r = c.request("logging/setLevel", json!({"level": "info"}));
    assert!(r.get("error").is_none(), "{r}");
    let r = c.request("resources/subscribe", json!({"uri": "sshdeck://servers"}));
    assert!(r.get("error").is_none(), "any URI is accepted (only jobs ever change): {r}");

    let r = c.call("task_exec", json!({"alias": "web", "cmd": "sleep 2; echo late"}));
    assert_eq!(sc(&r)["status"], "running", "{r}");
    let id = sc(&r)["id"].as_str().unwrap().to_string();
    let uri = format!("sshdeck://jobs/{id}");
    let r = c.request("resources/subscribe", json!({"uri": uri}));
    assert!(r.get("error").is_none(), "{r}");
    let mut seen = Vec::new();
    wait_for(&mut c, &mut seen, "update of the watched job", |n| {
        n["method"] == "notifications/resources/updated" && n["params"]["uri"] == uri.as_str()
    });
    wait_for(&mut c, &mut seen, "a log message as the job ends", |n| {
        n["method"] == "notifications/message" && n["params"]["data"]["job"] == id.as_str()
    });
    let msg = seen
        .iter()
        .find(|n| n["method"] == "notifications/message" && n["params"]["data"]["job"] == id.as_str())
        .unwrap();
    assert_eq!(
        (msg["params"]["level"].as_str(), msg["params"]["data"]["status"].as_str()),
        (Some("info"), Some("completed"))
    );

    // A failure is a warning; with the level at error, nothing is said of it.
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "exit 4"}));
    let failed = sc(&r)["id"].as_str().unwrap().to_string();
    wait_for(&mut c, &mut seen, "a warning for the failed job", |n| {
        n["method"] == "notifications/message" && n["params"]["data"]["job"] == failed.as_str()
    });
    let w = seen.iter().find(|n| n["params"]["data"]["job"] == failed.as_str()).unwrap();
    assert_eq!(w["params"]["level"], "warning", "{w}");
    c.request("logging/setLevel", json!({"level": "error"}));
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "exit 5"}));
    let quiet = sc(&r)["id"].as_str().unwrap().to_string();
    // The list resource reads, and a subscription to it hears of any job.
    let list = c.request("resources/read", json!({"uri": "sshdeck://jobs"}));
    let text = list["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(text.contains(&quiet), "{text}");
    c.request("resources/subscribe", json!({"uri": "sshdeck://jobs"}));
    c.call("task_exec", json!({"alias": "web", "cmd": "true"}));
    wait_for(&mut c, &mut seen, "an update of the job list", |n| {
        n["method"] == "notifications/resources/updated" && n["params"]["uri"] == "sshdeck://jobs"
    });
    assert!(
        !seen.iter().any(|n| n["method"] == "notifications/message" && n["params"]["data"]["job"] == quiet.as_str()),
        "below the level: {seen:?}"
    );
}
