//! The outbox runner: sends due notices, marks each sent only once its server accepted it,
//! and retries failures with bounded exponential backoff.
//!
//! Exactly once, and its limit: a notice is built and recorded once (planning), sent from
//! the outbox with the same bytes on every attempt (same Message-ID, same idempotency key),
//! and marked sent right after the server's acceptance. A process killed between the
//! server's acceptance and that mark sends the notice again on resume — with the same
//! Message-ID / idempotency key, so the receiver can recognise it. No protocol can close
//! that window from the sender's side alone.

use std::time::{Duration, Instant};

use firewatch_store::outbox::{OutboxEntry, OutboxStore};
use serde::Serialize;

use crate::NotifyError;
use crate::config::NotifyConfig;
use crate::plan::{EMAIL, WEBHOOK};
use crate::smtp::Mailer;
use crate::webhook;

/// What one delivery run did.
#[derive(Debug, Default, Serialize)]
pub struct DeliveryReport {
    /// Notice ids sent.
    pub sent: Vec<String>,
    /// Notices that failed and will be tried again: (id, reason).
    pub retrying: Vec<(String, String)>,
    /// Notices that failed for good (attempts exhausted): (id, reason).
    pub failed: Vec<(String, String)>,
}

/// Sends notices over their channels.
pub struct Courier<'a> {
    cfg: &'a NotifyConfig,
    mailer: Option<Mailer>,
    agent: ureq::Agent,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl<'a> Courier<'a> {
    /// A courier for `cfg` (an SMTP client only if `[notify.smtp]` is set).
    pub fn new(cfg: &'a NotifyConfig) -> Result<Courier<'a>, NotifyError> {
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        let mailer = cfg
            .smtp
            .as_ref()
            .map(|s| Mailer::new(s, timeout))
            .transpose()?;
        Ok(Courier {
            cfg,
            mailer,
            agent: webhook::agent(timeout),
        })
    }

    /// One attempt at one notice.
    pub fn send(&self, entry: &OutboxEntry) -> Result<(), String> {
        match entry.channel.as_str() {
            EMAIL => {
                let mailer = self
                    .mailer
                    .as_ref()
                    .ok_or("no [notify.smtp] server is configured")?;
                mailer.send(&self.cfg.from, &entry.recipients, &entry.payload)
            }
            WEBHOOK => {
                let url = entry.recipients.first().ok_or("the notice has no URL")?;
                let hook = self
                    .cfg
                    .policy(&entry.team)
                    .and_then(|p| p.webhook.as_ref())
                    .filter(|w| &w.url == url)
                    .ok_or_else(|| {
                        format!("no webhook {url} for team {} in [notify]", entry.team)
                    })?;
                let secret = std::env::var(&hook.secret_env)
                    .map_err(|_| format!("webhook secret ${} is not set", hook.secret_env))?;
                webhook::post(
                    &self.agent,
                    url,
                    secret.as_bytes(),
                    &entry.id,
                    &entry.payload,
                )
                .map_err(|e| e.to_string())
            }
            other => Err(format!("unknown channel {other:?}")),
        }
    }

    /// Sends every due notice; failures are rescheduled with backoff (or marked failed once
    /// `retry.max_attempts` is reached). Keeps going for up to `wait` while retries come due
    /// within it, sleeping until the next one.
    pub fn deliver<S: OutboxStore + ?Sized>(
        &self,
        store: &mut S,
        wait: Duration,
    ) -> Result<DeliveryReport, NotifyError> {
        let deadline = Instant::now() + wait;
        let mut report = DeliveryReport::default();
        loop {
            let due = store.due_notices(now_ms())?;
            for entry in &due {
                match self.send(entry) {
                    Ok(()) => {
                        store.mark_sent(&entry.id, jiff::Timestamp::now().as_second())?;
                        report.retrying.retain(|(id, _)| id != &entry.id);
                        report.sent.push(entry.id.clone());
                        firewatch_store::crash_point("notify-after-send");
                    }
                    Err(reason) => {
                        let attempts = entry.attempts + 1;
                        let retry_at = (attempts < self.cfg.retry.max_attempts)
                            .then(|| now_ms() + self.cfg.retry.backoff_ms(attempts));
                        store.mark_attempt_failed(&entry.id, &reason, retry_at)?;
                        report.retrying.retain(|(id, _)| id != &entry.id);
                        if retry_at.is_some() {
                            report.retrying.push((entry.id.clone(), reason));
                        } else {
                            report.failed.push((entry.id.clone(), reason));
                        }
                    }
                }
            }
            // Sleep until the next retry if it falls before the deadline.
            let next = store
                .notices(Some(firewatch_store::outbox::OutboxState::Queued))?
                .iter()
                .map(|e| e.next_attempt_ms)
                .min();
            let Some(next) = next else { break };
            let until_next = Duration::from_millis(next.saturating_sub(now_ms()).max(0) as u64);
            if Instant::now() + until_next > deadline {
                break;
            }
            if due.is_empty() {
                std::thread::sleep(until_next);
            }
        }
        Ok(report)
    }
}
