//! E-mail in a case's thread: what a received message means for the cases we hold.
//!
//! A message is matched to its case by the tag in its subject (`[Firewatch #42]`), else by
//! the Message-IDs it answers (In-Reply-To, References) among those the cases' threads hold;
//! otherwise it is a new report to triage, a case of its own. Every message of a thread is
//! linked by its Message-ID ([`FindingKind::Mail`]), so a second delivery of the same message
//! is found and dropped, and the replies to it find their case. A reply to a closed case opens
//! it again. A party's reply counts as its acknowledgement when its signature verified against
//! the team's key (or the team has no key to sign with); a reply whose signature does not
//! verify is recorded as such and counts for nothing.

use firewatch_store::CaseStore;
use jiff::Timestamp;

use crate::case::{Case, Change, NewCase, Stamp};
use crate::error::CaseError;
use crate::stored::{commit, load};
use crate::vocab::{FindingKind, MailDirection, Pap, PartyStatus, Role, Severity};

/// How a received message's signature checked out against the sender team's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureState {
    /// Made by the team's key.
    Verified,
    /// Signed, but not by the team's key over this message, or by a sender of no known team:
    /// why.
    Unverified(String),
    /// Not signed.
    Unsigned,
}

impl SignatureState {
    /// `verified`, `unverified` or `unsigned`, as the timeline records it.
    pub fn as_str(&self) -> &'static str {
        match self {
            SignatureState::Verified => "verified",
            SignatureState::Unverified(_) => "unverified",
            SignatureState::Unsigned => "unsigned",
        }
    }
}

/// A received message, as the mail reader and the directory describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// The sender's address.
    pub from: String,
    /// The directory team whose contact the sender is, if any.
    pub team: Option<String>,
    /// Whether that team has an OpenPGP key in the directory (so its replies are expected
    /// to be signed).
    pub team_has_key: bool,
    /// The subject.
    pub subject: String,
    /// The Message-IDs it answers, nearest first.
    pub replies_to: Vec<String>,
    /// When it was written (its Date header), if it says.
    pub date: Option<Timestamp>,
    /// Its text.
    pub text: String,
    /// Its signature.
    pub signature: SignatureState,
}

/// How this instance's mail reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRules {
    /// The tag in subjects (`Firewatch` makes `[Firewatch #42]`).
    pub tag: String,
    /// The team that coordinates cases opened by reports that match no case (this instance's
    /// own team).
    pub desk: String,
}

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// The same message was taken in before, into this case: nothing was recorded.
    Duplicate {
        /// The case that holds it.
        case: u64,
    },
    /// Added to the thread of a case we hold.
    Threaded {
        /// The case.
        case: u64,
        /// How it was matched: `tag` or `references`.
        by: &'static str,
        /// The case was closed and is open again.
        reopened: bool,
        /// The sending party's status moved to acknowledged.
        acknowledged: bool,
    },
    /// A new report, opened as a case to triage.
    Report {
        /// The new case.
        case: u64,
    },
}

/// `[Firewatch #42] subject`, unless the subject already carries the case's tag.
pub fn tagged_subject(tag: &str, case: u64, subject: &str) -> String {
    if case_tag(subject, tag) == Some(case) {
        subject.to_owned()
    } else {
        format!("[{tag} #{case}] {subject}")
    }
}

/// The case number a subject's tag names (`Re: [Firewatch #42] …` is 42), if any.
pub fn case_tag(subject: &str, tag: &str) -> Option<u64> {
    let lower = subject.to_ascii_lowercase();
    let needle = format!("[{} #", tag.to_ascii_lowercase());
    let at = lower.find(&needle)? + needle.len();
    let rest = &subject[at..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !rest[digits.len()..].starts_with(']') {
        return None;
    }
    digits.parse().ok()
}

/// Records a received message in the case it belongs to, or opens a report for it; one
/// transaction. `now` is when it is taken in.
pub fn take_in<S: CaseStore + ?Sized>(
    store: &mut S,
    mail: &ReceivedMail,
    rules: &MailRules,
    now: Timestamp,
) -> Result<Delivered, CaseError> {
    let mail_kind = FindingKind::Mail.as_str();
    if let Some(&case) = store.cases_linking(mail_kind, &mail.message_id)?.first() {
        return Ok(Delivered::Duplicate { case });
    }
    let mut target = None;
    if let Some(id) = case_tag(&mail.subject, &rules.tag)
        && let Some(case) = load(store, id)?
    {
        target = Some((case, "tag"));
    }
    if target.is_none() {
        for answered in &mail.replies_to {
            if let Some(&id) = store.cases_linking(mail_kind, answered)?.first()
                && let Some(case) = load(store, id)?
            {
                target = Some((case, "references"));
                break;
            }
        }
    }
    let actor = Some(mail.team.clone().unwrap_or_else(|| mail.from.clone()));
    match target {
        Some((mut case, by)) => {
            let before = case.timeline.len();
            let stamp = Stamp::late(written_at(&case, mail, now), now, actor);
            let reopened = case.status == crate::Status::Closed;
            if reopened {
                case.reopen(Some(&format!("a reply from {}", mail.from)), &stamp)?;
            }
            record(&mut case, mail, &stamp)?;
            let acknowledged = acknowledge(&mut case, mail, &stamp)?;
            let appended = case.timeline.len() - before;
            commit(store, &mut case, appended)?;
            Ok(Delivered::Threaded {
                case: case.id,
                by,
                reopened,
                acknowledged,
            })
        }
        None => {
            let at = mail.date.filter(|d| *d <= now).unwrap_or(now);
            let stamp = Stamp::late(at, now, actor);
            let title = if mail.subject.trim().is_empty() {
                format!("Report from {} (no subject)", mail.from)
            } else {
                mail.subject.trim().to_owned()
            };
            let mut case = Case::open(
                NewCase {
                    title,
                    summary: excerpt(&mail.text, 400),
                    severity: Severity::Medium,
                    tlp: firewatch_core::TlpLevel::Amber,
                    pap: Pap::Amber,
                    coordinator: rules.desk.clone(),
                },
                &stamp,
            )?;
            if let Some(team) = &mail.team
                && *team != rules.desk
            {
                case.add_party(team, Role::Reporter, &stamp)?;
            }
            record(&mut case, mail, &stamp)?;
            let appended = case.timeline.len();
            commit(store, &mut case, appended)?;
            Ok(Delivered::Report { case: case.id })
        }
    }
}

/// When the reply was written, as the case's rules accept it: its Date header when that is
/// not in the future and not before the case's (or the party's) last change, else now.
fn written_at(case: &Case, mail: &ReceivedMail, now: Timestamp) -> Timestamp {
    let floor = mail
        .team
        .as_deref()
        .and_then(|t| case.party(t))
        .map_or(case.opened_at, |p| p.since.max(case.opened_at));
    let floor = case.timeline.last().map_or(floor, |e| floor.max(e.at));
    match mail.date {
        Some(date) if date <= now && date >= floor => date,
        _ => now.max(floor),
    }
}

/// The message entry and its Message-ID link, in the sending team's slice.
fn record(case: &mut Case, mail: &ReceivedMail, stamp: &Stamp) -> Result<(), CaseError> {
    let note = match &mail.signature {
        SignatureState::Unverified(why) => Some(why.clone()),
        _ => None,
    };
    case.apply(
        Change::Message {
            direction: MailDirection::In,
            message_id: mail.message_id.clone(),
            team: mail.team.clone(),
            address: mail.from.clone(),
            subject: mail.subject.clone(),
            signature: mail.signature.as_str().to_owned(),
            note,
            excerpt: excerpt(&mail.text, 400),
        },
        stamp,
    )?;
    case.link(
        FindingKind::Mail,
        &mail.message_id,
        mail.team.as_deref(),
        stamp,
    )?;
    Ok(())
}

/// Moves the sending party to acknowledged when its reply counts: verified, or unsigned from
/// a team with no key to sign with.
fn acknowledge(case: &mut Case, mail: &ReceivedMail, stamp: &Stamp) -> Result<bool, CaseError> {
    let counts = match mail.signature {
        SignatureState::Verified => true,
        SignatureState::Unsigned => !mail.team_has_key,
        SignatureState::Unverified(_) => false,
    };
    let Some(team) = mail.team.as_deref() else {
        return Ok(false);
    };
    let Some(party) = case.party(team) else {
        return Ok(false);
    };
    let behind = party.status < PartyStatus::Acknowledged || party.status == PartyStatus::Declined;
    if !counts || !behind || party.role == Role::Coordinator {
        return Ok(false);
    }
    case.set_party_status(team, PartyStatus::Acknowledged, stamp)?;
    Ok(true)
}

/// The first `max` characters of a text, whitespace folded: what a timeline keeps of a
/// message.
pub fn excerpt(text: &str, max: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &folded[..at]),
        None => folded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_subject_tag() {
        assert_eq!(
            case_tag("Re: [Firewatch #42] tcp/23", "Firewatch"),
            Some(42)
        );
        assert_eq!(case_tag("RE: [firewatch #7]", "Firewatch"), Some(7));
        assert_eq!(case_tag("[Firewatch #x] no", "Firewatch"), None);
        assert_eq!(case_tag("[Firewatch #12 no bracket", "Firewatch"), None);
        assert_eq!(case_tag("[Other #3]", "Firewatch"), None);
        assert_eq!(
            tagged_subject("Firewatch", 42, "tcp/23 spike"),
            "[Firewatch #42] tcp/23 spike"
        );
        assert_eq!(
            tagged_subject("Firewatch", 42, "Re: [Firewatch #42] x"),
            "Re: [Firewatch #42] x"
        );
    }

    #[test]
    fn an_excerpt_is_short_and_folded() {
        assert_eq!(excerpt("a\n\n b", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
