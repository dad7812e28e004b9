//! `[notify]` in firewatch.toml: who sends, through which server, and each team's policy.
//!
//! Secrets never sit in the file: the SMTP password, the signing key's passphrase and the
//! webhook secrets are read from environment variables named here.

use std::path::PathBuf;

use firewatch_core::telescope::AlertKind;
use serde::{Deserialize, Serialize};

use crate::NotifyError;

/// The whole `[notify]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The sending team's id in the directory (named in every notice).
    pub sender_team: String,
    /// The `From:` of e-mail notices (`Example CERT <cert@example.org>`).
    pub from: String,
    /// The sender team's ASCII-armored OpenPGP *secret* key, which signs every e-mail.
    pub signing_key: PathBuf,
    /// The environment variable holding the signing key's passphrase (none: no passphrase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_passphrase_env: Option<String>,
    /// Records older than this many days are never sent (the first run does not mail history).
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub retry: RetryConfig,
    /// Seconds a webhook call or an SMTP exchange may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// One policy per team that is told.
    #[serde(default)]
    pub teams: Vec<TeamPolicy>,
}

fn default_lookback_days() -> u32 {
    7
}

fn default_timeout_secs() -> u64 {
    30
}

/// `[notify.smtp]`: the submission server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// 587 (submission with STARTTLS) unless told otherwise.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub starttls: StartTls,
    /// The user to authenticate as (AUTH PLAIN or LOGIN); none: no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A CA certificate (PEM) to trust besides the public roots, for a mail server with an
    /// internal CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

fn default_smtp_port() -> u16 {
    587
}

/// Whether the SMTP session must be encrypted with STARTTLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Refuse to send unless the server offers STARTTLS (and its certificate is valid).
    #[default]
    Required,
    /// Use STARTTLS when offered, plain text otherwise.
    Opportunistic,
    /// Plain text (a relay on the same host only).
    None,
}

/// `[notify.retry]`: exponential backoff of failed deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts before a notice is marked failed (`notify run --retry-failed` tries again).
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub initial_backoff_secs: f64,
    /// The longest wait between two attempts.
    pub max_backoff_secs: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 10,
            initial_backoff_secs: 60.0,
            max_backoff_secs: 3600.0,
        }
    }
}

impl RetryConfig {
    /// The wait before the attempt after `failures` failed ones, in milliseconds.
    ///
    /// ```
    /// use firewatch_notify::config::RetryConfig;
    /// let r = RetryConfig { max_attempts: 5, initial_backoff_secs: 1.0, max_backoff_secs: 5.0 };
    /// assert_eq!([1, 2, 3, 4].map(|n| r.backoff_ms(n)), [1000, 2000, 4000, 5000]);
    /// ```
    pub fn backoff_ms(&self, failures: u32) -> i64 {
        let exp = failures.saturating_sub(1).min(62) as i32;
        let secs = (self.initial_backoff_secs * 2f64.powi(exp)).min(self.max_backoff_secs);
        (secs.max(0.0) * 1000.0) as i64
    }
}

/// `[[notify.teams]]`: what one team is told, how and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamPolicy {
    /// The team's id in the directory (its TLP cap and OpenPGP key come from there).
    pub team: String,
    /// Send the feed events routed to the team (`extra.team`).
    #[serde(default = "yes")]
    pub events: bool,
    /// Only events matching this filter (`firewatch events list --help` has the language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Send the darknet alerts whose sources are attributed to the team.
    #[serde(default)]
    pub alerts: bool,
    /// The kinds of darknet alerts sent: `spike`, `new_campaign`, `single_source_burst`.
    /// Default the first two: a single-source burst is one host's activity, which the team
    /// hears of through its sources and events, not as a port alert.
    #[serde(default = "default_alert_kinds")]
    pub alert_kinds: Vec<AlertKind>,
    /// Only records at least this severe: undefined, info, low, medium, high, critical.
    #[serde(default)]
    pub min_severity: Severity,
    /// E-mail recipients; absent: the e-mail contacts of the team in the directory; empty: no
    /// e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
    /// When events are sent: a `daily` digest (default) or `immediate`ly.
    #[serde(default = "daily")]
    pub events_schedule: Schedule,
    /// When alerts are sent: `immediate`ly (default) or in a `daily` digest.
    #[serde(default = "immediate")]
    pub alerts_schedule: Schedule,
    /// Encrypt e-mail to the team's OpenPGP key from the directory (never sent in clear when
    /// the key is missing).
    #[serde(default)]
    pub encrypt: bool,
    /// At most this many notices per hour and channel; the rest wait for the next run.
    #[serde(default = "default_rate")]
    pub max_notices_per_hour: u32,
    /// `csv` or `json`: the attachment listing the affected addresses.
    #[serde(default)]
    pub attachment: AttachmentFormat,
    /// A minijinja template of the subject (after the TLP label); default built in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_template: Option<String>,
    /// A minijinja template file for the body (after the TLP line); default built in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<PathBuf>,
}

/// The alert kinds a policy sends unless it names them.
pub fn default_alert_kinds() -> Vec<AlertKind> {
    vec![AlertKind::Spike, AlertKind::NewCampaign]
}

fn yes() -> bool {
    true
}
fn daily() -> Schedule {
    Schedule::Daily
}
fn immediate() -> Schedule {
    Schedule::Immediate
}
fn default_rate() -> u32 {
    12
}

/// A team's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// http(s) URL receiving the JSON POST.
    pub url: String,
    /// The environment variable holding the shared HMAC secret.
    pub secret_env: String,
}

/// When records are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// At the next `notify run`.
    Immediate,
    /// One digest per UTC day with what came in since the last one.
    Daily,
}

/// The format of the attachment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentFormat {
    #[default]
    Csv,
    Json,
}

/// IntelMQ's `severity` levels, least severe first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No severity given.
    #[default]
    Undefined,
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The IntelMQ name (`medium`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Undefined => "undefined",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses an IntelMQ severity (any case); unknown text is `Undefined`.
    pub fn from_intelmq(s: &str) -> Severity {
        match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => Severity::Undefined,
        }
    }
}

impl NotifyConfig {
    /// Parses `[notify]` alone (for tests and tools); the binary reads it as part of its file.
    pub fn from_toml_str(text: &str) -> Result<NotifyConfig, NotifyError> {
        toml_like(text)
    }

    /// The policy of a team, if any.
    pub fn policy(&self, team: &str) -> Option<&TeamPolicy> {
        self.teams.iter().find(|p| p.team == team)
    }

    /// Checks what the types cannot: filters parse, TLP names, no team twice, URLs.
    pub fn validate(&self) -> Result<(), NotifyError> {
        let mut problems = Vec::new();
        if crate::mail::parse_mailbox(&self.from).is_err() {
            problems.push(format!("from: {:?} is not an e-mail address", self.from));
        }
        for (i, p) in self.teams.iter().enumerate() {
            let at = format!("teams[{i}] ({})", p.team);
            if self.teams[..i].iter().any(|q| q.team == p.team) {
                problems.push(format!("{at}: a second policy for the same team"));
            }
            if let Some(f) = &p.filter
                && let Err(e) = firewatch_core::filter::Filter::parse(f)
            {
                problems.push(format!("{at}: filter: {e}"));
            }
            if let Some(w) = &p.webhook
                && !(w.url.starts_with("http://") || w.url.starts_with("https://"))
            {
                problems.push(format!("{at}: webhook.url must be http(s): {:?}", w.url));
            }
            for addr in p.email.iter().flatten() {
                if crate::mail::parse_mailbox(addr).is_err() {
                    problems.push(format!("{at}: email: {addr:?} is not an e-mail address"));
                }
            }
            if p.alerts && p.alert_kinds.is_empty() {
                problems.push(format!("{at}: alerts = true but alert_kinds is empty"));
            }
            if !p.events && !p.alerts {
                problems.push(format!("{at}: neither events nor alerts are sent"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(NotifyError::Config(problems.join("; ")))
        }
    }
}

fn toml_like(text: &str) -> Result<NotifyConfig, NotifyError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        notify: NotifyConfig,
    }
    let file: File = toml::from_str(text).map_err(|e| NotifyError::Config(e.to_string()))?;
    Ok(file.notify)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_parses_with_defaults_and_typos_are_refused() {
        let text = r#"
[notify]
sender_team = "example-cert"
from = "Example CERT <cert@example.org>"
signing_key = "key.asc"
[notify.smtp]
host = "mail.example.org"
[[notify.teams]]
team = "ke-example-cirt"
filter = "classification.type = scanner"
webhook = { url = "https://hooks.example.ke/firewatch", secret_env = "KE_HOOK_SECRET" }
"#;
        let cfg = NotifyConfig::from_toml_str(text).unwrap();
        cfg.validate().unwrap();
        let p = &cfg.teams[0];
        assert_eq!(p.events_schedule, Schedule::Daily);
        assert_eq!(p.alerts_schedule, Schedule::Immediate);
        assert_eq!(p.alert_kinds, default_alert_kinds());
        let bursts = text.replace(
            "filter =",
            "alert_kinds = [\"spike\", \"single_source_burst\"]\nfilter =",
        );
        let p = &NotifyConfig::from_toml_str(&bursts).unwrap().teams[0];
        assert_eq!(
            p.alert_kinds,
            [AlertKind::Spike, AlertKind::SingleSourceBurst]
        );
        let unknown = text.replace("filter =", "alert_kinds = [\"burst\"]\nfilter =");
        assert!(NotifyConfig::from_toml_str(&unknown).is_err());
        assert_eq!(cfg.smtp.as_ref().unwrap().starttls, StartTls::Required);
        assert_eq!(cfg.smtp.as_ref().unwrap().port, 587);
        let typo = text.replace("filter =", "filtre =");
        assert!(NotifyConfig::from_toml_str(&typo).is_err());
        let bad = text.replace("scanner\"", "scanner and\"");
        let err = NotifyConfig::from_toml_str(&bad)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("teams[0] (ke-example-cirt): filter"),
            "{err}"
        );
    }
}
