//! A case's mail to a party: a PGP/MIME message signed by the sender team (encrypted when
//! the directory has the team's key), with the case's tag in the subject (`[Firewatch #42]`)
//! and the thread's Message-IDs in In-Reply-To and References, recorded in the outbox like
//! every notice before it is sent.
//!
//! The notice's id depends only on the case, its timeline's length, the team and the text, so
//! a command killed after queueing and run again queues nothing new.

use firewatch_enrich::directory::{ContactKind, Team};
use firewatch_store::outbox::NewNotice;

use crate::NotifyError;
use crate::config::NotifyConfig;
use crate::mail::{EmailContent, build_email, message_id};
use crate::openpgp::{RecipientKey, SenderKey};

/// One message of a case to one party.
pub struct CaseMail<'a> {
    /// The case number.
    pub case: u64,
    /// Entries in the case's timeline when the message is written (part of its id).
    pub timeline_len: usize,
    /// The subject, already tagged.
    pub subject: &'a str,
    /// The text.
    pub body: &'a str,
    /// The case's TLP, which the team's cap must allow.
    pub tlp: firewatch_core::TlpLevel,
    /// Message-IDs of the thread so far (without angle brackets), oldest first.
    pub thread: &'a [String],
    /// Unix seconds.
    pub now: i64,
}

/// The notice to queue, and the message's Message-ID (without angle brackets).
pub fn case_notice(
    cfg: &NotifyConfig,
    sender: &SenderKey,
    team: &Team,
    mail: &CaseMail<'_>,
) -> Result<(NewNotice, String), NotifyError> {
    if !team.may_receive(mail.tlp) {
        return Err(NotifyError::Config(format!(
            "case #{} is {} but {} may receive at most {}: nothing was queued",
            mail.case,
            mail.tlp.label(),
            team.id,
            team.max_tlp.label()
        )));
    }
    let to: Vec<String> = team
        .contacts
        .iter()
        .filter(|c| c.kind == ContactKind::Email)
        .map(|c| c.value.clone())
        .collect();
    if to.is_empty() {
        return Err(NotifyError::Config(format!(
            "{} has no e-mail contact in the directory: nothing was queued",
            team.id
        )));
    }
    let recipient_key = match &team.openpgp {
        Some(key) => match &key.armored {
            Some(armored) => Some(RecipientKey::from_armored(
                armored,
                &key.fingerprint,
                team.id.as_str(),
            )?),
            None => None,
        },
        None => None,
    };
    let digest = blake3::hash(
        format!(
            "case-mail\0{}\0{}\0{}\0{}\0{}",
            mail.case, mail.timeline_len, team.id, mail.subject, mail.body
        )
        .as_bytes(),
    );
    let id = format!("case-{}-{}", mail.case, &digest.to_hex()[..16]);
    let references: Vec<String> = mail.thread.iter().map(|m| format!("<{m}>")).collect();
    let payload = build_email(
        &EmailContent {
            notice_id: &id,
            from: &cfg.from,
            to: &to,
            subject: mail.subject,
            body: mail.body,
            attachment_name: "",
            attachment_type: "text/plain",
            attachment: Vec::new(),
            date: mail.now,
            references: &references,
        },
        sender,
        recipient_key.as_ref(),
    )?;
    let message_id = message_id(&id, &cfg.from)?
        .trim_matches(['<', '>'])
        .to_owned();
    Ok((
        NewNotice {
            id: id.clone(),
            team: team.id.to_string(),
            channel: "email".into(),
            slot: None,
            recipients: to,
            subject: mail.subject.to_owned(),
            tlp: mail.tlp.label().to_string(),
            payload,
            items: vec![format!("case:{}:{id}", mail.case)],
            created_at: mail.now,
        },
        message_id,
    ))
}

impl NotifyConfig {
    /// The sender team's signing key, read from `signing_key` with the passphrase from the
    /// environment variable `signing_key_passphrase_env` names.
    pub fn sender_key(&self) -> Result<SenderKey, NotifyError> {
        let path = &self.signing_key;
        let text = std::fs::read_to_string(path).map_err(|e| {
            NotifyError::Config(format!(
                "notify.signing_key: cannot read {}: {e}",
                path.display()
            ))
        })?;
        let passphrase = match &self.signing_key_passphrase_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                NotifyError::Config(format!(
                    "notify.signing_key_passphrase_env: ${var} is not set"
                ))
            })?),
            None => None,
        };
        SenderKey::from_armored(&text, passphrase.as_deref(), &path.display().to_string())
    }
}
