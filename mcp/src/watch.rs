//! What a session asked to be told as jobs change: MCP logging (`logging/setLevel`, then
//! `notifications/message` for each job that ends, at `info`, or `warning` when it did not succeed)
//! and resource subscriptions (`resources/subscribe` on `sshdeck://jobs/{id}` or `sshdeck://jobs`,
//! then `notifications/resources/updated` when that job, or any job, changes). One task per session
//! follows the deck's job events once either is asked for, and ends with the session.
// MCP logging is deprecated by SEP-2577 (rmcp marks its types so) but it is what clients and the
// conformance suite speak today.
#![allow(deprecated)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ResourceUpdatedNotificationParam};
use rmcp::service::Peer;
use serde_json::json;
use sshdeck_core::Deck;
use sshdeck_core::jobs::{JobEvent, JobStatus};
use tokio::sync::broadcast::error::RecvError;

/// The job list's resource.
pub const JOBS_URI: &str = "sshdeck://jobs";

/// A session's logging level and subscriptions.
#[derive(Default)]
pub struct Watch {
    level: Mutex<Option<LoggingLevel>>,
    uris: Mutex<HashSet<String>>,
    started: Mutex<bool>,
}

fn rank(l: LoggingLevel) -> u8 {
    match l {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// Whether `uri` names something that can be watched: a job, or the job list.
pub fn watchable(uri: &str) -> bool {
    uri == JOBS_URI
        || uri
            .strip_prefix("sshdeck://jobs/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/') && !id.contains('?'))
}

impl Watch {
    /// Sets the level from which messages are sent.
    pub fn set_level(self: &Arc<Self>, level: LoggingLevel, deck: &Deck, peer: Peer<RoleServer>) {
        *self.level.lock().expect("lock") = Some(level);
        self.start(deck, peer);
    }

    /// Adds a subscription.
    pub fn subscribe(self: &Arc<Self>, uri: String, deck: &Deck, peer: Peer<RoleServer>) {
        self.uris.lock().expect("lock").insert(uri);
        self.start(deck, peer);
    }

    /// Removes a subscription.
    pub fn unsubscribe(&self, uri: &str) {
        self.uris.lock().expect("lock").remove(uri);
    }

    fn start(self: &Arc<Self>, deck: &Deck, peer: Peer<RoleServer>) {
        let mut started = self.started.lock().expect("lock");
        if *started {
            return;
        }
        *started = true;
        let me = self.clone();
        let mut events = deck.job_events();
        tokio::spawn(async move {
            loop {
                let job = match events.recv().await {
                    Ok(JobEvent::Changed(job)) => Some(job),
                    Ok(JobEvent::Reloaded) | Err(RecvError::Lagged(_)) => None,
                    Err(RecvError::Closed) => return,
                };
                if !me.tell(&peer, job.as_deref()).await {
                    return; // the session is gone
                }
            }
        });
    }

    /// Sends what this change means to the session; false once the session is gone.
    async fn tell(&self, peer: &Peer<RoleServer>, job: Option<&sshdeck_core::jobs::Job>) -> bool {
        let uris: Vec<String> = {
            let subscribed = self.uris.lock().expect("lock");
            let mine = job.map(|j| format!("{JOBS_URI}/{}", j.id));
            subscribed.iter().filter(|u| *u == JOBS_URI || Some(*u) == mine.as_ref()).cloned().collect()
        };
        for uri in uris {
            if peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri)).await.is_err() {
                return false;
            }
        }
        let level = *self.level.lock().expect("lock");
        if let (Some(min), Some(j)) = (level, job.filter(|j| j.status.is_terminal())) {
            let at = if j.status == JobStatus::Completed { LoggingLevel::Info } else { LoggingLevel::Warning };
            if rank(at) >= rank(min) {
                let data = json!({"message": format!("job {} {} on {}", j.id, j.status.as_str(), j.targets.join(",")),
                    "job": j.id, "status": j.status, "alias": j.targets.join(","), "command": j.spec.summary(),
                    "exitCode": j.result.as_ref().and_then(|r| r.end.exit_code),
                    "error": j.result.as_ref().and_then(|r| r.end.error_code.clone())});
                let p = LoggingMessageNotificationParam::new(at, data).with_logger("sshdeck");
                if peer.notify_logging_message(p).await.is_err() {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_the_job_list_can_be_watched() {
        assert!(watchable("sshdeck://jobs") && watchable("sshdeck://jobs/6s23kq0a1b2c3"));
        assert!(
            !watchable("sshdeck://servers") && !watchable("sshdeck://jobs/x/output") && !watchable("sshdeck://jobs/")
        );
        assert!(rank(LoggingLevel::Warning) > rank(LoggingLevel::Info));
    }
}
