//! A case and its timeline: every change is validated against the case as it stands, then
//! appended to the timeline and applied. A case read back is its timeline replayed through the
//! same validation, so a stored case can never hold a state the rules forbid.

use std::net::IpAddr;

use firewatch_core::TlpLevel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::CaseError;
use crate::vocab::{
    Determination, Due, FindingKind, MailDirection, ObservableKind, Pap, PartyStatus, Role,
    Severity, Status, TaskStatus,
};

/// One change to a case, as the timeline keeps it (JSON, tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// The case was opened: always the first entry, and only there.
    Opened {
        /// A line saying what happened.
        title: String,
        /// More words.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        summary: String,
        /// How bad it is.
        severity: Severity,
        /// Who may read the case.
        tlp: TlpLevel,
        /// What the parties may do with it.
        pap: Pap,
        /// The coordinating team, made the first party.
        coordinator: String,
    },
    /// A team became a party.
    PartyAdded {
        /// The team's directory id.
        team: String,
        /// Its part.
        role: Role,
        /// Where it starts.
        status: PartyStatus,
    },
    /// A party's status changed.
    PartyStatus {
        /// The party.
        team: String,
        /// Its new status.
        status: PartyStatus,
    },
    /// A task was given to a party.
    TaskAdded {
        /// Its number in the case, from 1.
        task: u32,
        /// The party it is for.
        team: String,
        /// What is to be done.
        title: String,
        /// When it is due.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
    },
    /// A task's status changed.
    TaskStatus {
        /// The task's number.
        task: u32,
        /// Its new status.
        status: TaskStatus,
    },
    /// A task's due date changed (or was removed).
    TaskDue {
        /// The task's number.
        task: u32,
        /// The new due date.
        due: Option<Timestamp>,
    },
    /// A finding was linked, for the whole case or one party's slice.
    Linked {
        /// What kind of finding.
        finding: FindingKind,
        /// Its stable key.
        key: String,
        /// The party whose slice it is; none: the whole case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
    },
    /// An observable was added, for the whole case or one party's slice.
    Observed {
        /// What kind.
        observable: ObservableKind,
        /// Its value, normalised.
        value: String,
        /// The party whose slice it is; none: the whole case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
    },
    /// A comment.
    Comment {
        /// What was said.
        text: String,
    },
    /// An e-mail of the case's thread, sent to or received from a team.
    Message {
        /// Received (`in`) or sent (`out`).
        direction: MailDirection,
        /// Its Message-ID, without angle brackets.
        message_id: String,
        /// The team it was exchanged with, when the address is one of the directory's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
        /// The sender's (in) or recipients' (out) address.
        address: String,
        /// Its subject.
        subject: String,
        /// Received: `verified`, `unverified` or `unsigned` against the team's key; sent:
        /// `signed`.
        signature: String,
        /// Why a signature did not verify.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// Its first lines of text.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        excerpt: String,
    },
    /// A party past its service level was reminded (once per deadline).
    Reminded {
        /// The party.
        team: String,
        /// What it is late with.
        due: Due,
    },
    /// The case moved from new to in progress.
    Started,
    /// The case was closed.
    Closed {
        /// What it turned out to be.
        determination: Determination,
        /// Why, in words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A closed case was opened again.
    Reopened {
        /// Why, in words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Change {
    /// The entry's kind, as the timeline's JSON tags it.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Opened { .. } => "opened",
            Change::PartyAdded { .. } => "party-added",
            Change::PartyStatus { .. } => "party-status",
            Change::TaskAdded { .. } => "task-added",
            Change::TaskStatus { .. } => "task-status",
            Change::TaskDue { .. } => "task-due",
            Change::Linked { .. } => "linked",
            Change::Observed { .. } => "observed",
            Change::Comment { .. } => "comment",
            Change::Message { .. } => "message",
            Change::Reminded { .. } => "reminded",
            Change::Started => "started",
            Change::Closed { .. } => "closed",
            Change::Reopened { .. } => "reopened",
        }
    }

    /// The change in a few words, for a timeline read by people.
    pub fn describe(&self) -> String {
        let slice = |team: &Option<String>| {
            team.as_ref()
                .map_or_else(|| " (whole case)".to_owned(), |t| format!(" for {t}"))
        };
        match self {
            Change::Opened {
                title,
                severity,
                tlp,
                pap,
                coordinator,
                ..
            } => format!(
                "opened {title:?}: severity {severity}, {tlp}, PAP:{}, coordinated by {coordinator}",
                pap.as_str().to_ascii_uppercase()
            ),
            Change::PartyAdded { team, role, status } => {
                format!("{team} joined as {role} ({status})")
            }
            Change::PartyStatus { team, status } => format!("{team} is {status}"),
            Change::TaskAdded {
                task,
                team,
                title,
                due,
            } => match due {
                Some(due) => format!("task {task} for {team}: {title:?}, due {due}"),
                None => format!("task {task} for {team}: {title:?}"),
            },
            Change::TaskStatus { task, status } => format!("task {task} is {status}"),
            Change::TaskDue { task, due } => match due {
                Some(due) => format!("task {task} is due {due}"),
                None => format!("task {task} has no due date"),
            },
            Change::Linked { finding, key, team } => {
                format!("linked {finding} {key}{}", slice(team))
            }
            Change::Observed {
                observable,
                value,
                team,
            } => format!("{observable} {value}{}", slice(team)),
            Change::Comment { text } => format!("comment: {text}"),
            Change::Message {
                direction,
                team,
                address,
                subject,
                signature,
                ..
            } => {
                let who = team
                    .as_deref()
                    .map_or_else(|| address.clone(), |team| format!("{team} <{address}>"));
                match direction {
                    MailDirection::In => format!("mail from {who} ({signature}): {subject}"),
                    MailDirection::Out => format!("mail to {who} ({signature}): {subject}"),
                }
            }
            Change::Reminded { team, due } => format!("{team} reminded to {}", due.as_str()),
            Change::Started => "in progress".to_owned(),
            Change::Closed {
                determination,
                note,
            } => match note {
                Some(note) => format!("closed as {determination}: {note}"),
                None => format!("closed as {determination}"),
            },
            Change::Reopened { reason } => match reason {
                Some(reason) => format!("reopened: {reason}"),
                None => "reopened".to_owned(),
            },
        }
    }

    /// The party whose slice this change is about, if it is one party's only (a task of a
    /// party, a link or an observable of its slice): what the other parties do not see.
    pub fn slice_team<'a>(&'a self, case: &'a Case) -> Option<&'a str> {
        match self {
            Change::Linked { team, .. }
            | Change::Observed { team, .. }
            | Change::Message { team, .. } => team.as_deref(),
            Change::Reminded { team, .. } => Some(team),
            Change::TaskAdded { team, .. } => Some(team),
            Change::TaskStatus { task, .. } | Change::TaskDue { task, .. } => {
                case.task(*task).map(|t| t.team.as_str())
            }
            _ => None,
        }
    }
}

/// When a change happened and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// When it happened.
    pub at: Timestamp,
    /// When it was recorded (later than `at` for something reported late).
    pub recorded_at: Timestamp,
    /// Who made it, if known.
    pub actor: Option<String>,
}

impl Stamp {
    /// A change recorded as it happens; times are kept to the second.
    pub fn at(at: Timestamp, actor: Option<String>) -> Stamp {
        let at = whole_second(at);
        Stamp {
            at,
            recorded_at: at,
            actor,
        }
    }

    /// A change recorded at `recorded_at` that happened at `at`, to the second.
    pub fn late(at: Timestamp, recorded_at: Timestamp, actor: Option<String>) -> Stamp {
        Stamp {
            at: whole_second(at),
            recorded_at: whole_second(recorded_at),
            actor,
        }
    }
}

fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its place in the timeline, from 1.
    pub seq: u64,
    /// When it happened.
    pub at: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who made it, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What changed.
    pub change: Change,
}

/// A status a party had, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// The status.
    pub status: PartyStatus,
    /// Since when.
    pub at: Timestamp,
}

/// A team taking part in a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// The team's directory id.
    pub team: String,
    /// Its part.
    pub role: Role,
    /// Where it stands now.
    pub status: PartyStatus,
    /// Since when it has had that status.
    pub since: Timestamp,
    /// Every status it had, the first when it was added.
    pub history: Vec<StatusChange>,
}

/// A task of a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Its number in the case.
    pub task: u32,
    /// The party it is for.
    pub team: String,
    /// What is to be done.
    pub title: String,
    /// Where it is.
    pub status: TaskStatus,
    /// When it is due.
    pub due: Option<Timestamp>,
    /// Its last change.
    pub updated_at: Timestamp,
}

/// A finding linked to a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// What kind of finding.
    pub kind: FindingKind,
    /// Its stable key.
    pub key: String,
    /// The party whose slice it is; none: the whole case.
    pub team: Option<String>,
}

/// An observable of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Observable {
    /// What kind.
    pub kind: ObservableKind,
    /// Its value, normalised ([`Observable::normalise`]).
    pub value: String,
    /// The party whose slice it is; none: the whole case.
    pub team: Option<String>,
}

impl Observable {
    /// A value in its one spelling, or why it is not one of its kind: an address as Rust
    /// prints it, a port as `proto/number` (`23` alone is `tcp/23`), an ASN as its number
    /// (`AS64500` is `64500`), a domain in lower case without a final dot.
    pub fn normalise(kind: ObservableKind, value: &str) -> Result<String, CaseError> {
        let v = value.trim();
        let bad = |why: &str| CaseError::BadObservable {
            kind: kind.as_str(),
            value: value.to_owned(),
            why: why.to_owned(),
        };
        match kind {
            ObservableKind::Address => v
                .parse::<IpAddr>()
                .map(|a| a.to_string())
                .map_err(|_| bad("not an IPv4 or IPv6 address")),
            ObservableKind::Port => {
                let (proto, port) = v.split_once('/').unwrap_or(("tcp", v));
                let proto = proto.to_ascii_lowercase();
                if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
                    return Err(bad("the protocol is tcp, udp or sctp (`tcp/23`)"));
                }
                let port: u16 = port
                    .parse()
                    .map_err(|_| bad("the port is a number 0-65535 (`tcp/23`)"))?;
                Ok(format!("{proto}/{port}"))
            }
            ObservableKind::Asn => {
                let digits = v
                    .strip_prefix("AS")
                    .or_else(|| v.strip_prefix("as"))
                    .unwrap_or(v);
                digits
                    .parse::<u32>()
                    .map(|n| n.to_string())
                    .map_err(|_| bad("an AS number (`64500` or `AS64500`)"))
            }
            ObservableKind::Domain => {
                let d = v.trim_end_matches('.').to_ascii_lowercase();
                let label_ok = |l: &str| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                };
                if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) {
                    return Err(bad("a domain name (`example.org`)"));
                }
                Ok(d)
            }
        }
    }
}

/// What a new case starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    /// A line saying what happened.
    pub title: String,
    /// More words, possibly none.
    pub summary: String,
    /// How bad it is.
    pub severity: Severity,
    /// Who may read it.
    pub tlp: TlpLevel,
    /// What the parties may do with it.
    pub pap: Pap,
    /// The coordinating team.
    pub coordinator: String,
}

/// A case: its state, and the timeline it is the replay of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    /// The case number; 0 until it is stored.
    pub id: u64,
    /// A line saying what happened.
    pub title: String,
    /// More words.
    pub summary: String,
    /// How bad it is.
    pub severity: Severity,
    /// Who may read it.
    pub tlp: TlpLevel,
    /// What the parties may do with it.
    pub pap: Pap,
    /// Where it is.
    pub status: Status,
    /// What it turned out to be, while closed.
    pub determination: Option<Determination>,
    /// The coordinating team.
    pub coordinator: String,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// Its last change, as recorded.
    pub updated_at: Timestamp,
    /// When it was closed, while closed.
    pub closed_at: Option<Timestamp>,
    /// Every party, in the order added.
    pub parties: Vec<Party>,
    /// Every task, by number.
    pub tasks: Vec<Task>,
    /// Every linked finding, in the order linked.
    pub links: Vec<Link>,
    /// Every observable, in the order added.
    pub observables: Vec<Observable>,
    /// Every change, oldest first.
    pub timeline: Vec<Entry>,
}

impl Case {
    /// Opens a case: its first entry, and the coordinator as its first party (acknowledged:
    /// it opened the case).
    pub fn open(new: NewCase, stamp: &Stamp) -> Result<Case, CaseError> {
        let mut case = Case {
            id: 0,
            title: String::new(),
            summary: String::new(),
            severity: new.severity,
            tlp: new.tlp,
            pap: new.pap,
            status: Status::New,
            determination: None,
            coordinator: String::new(),
            opened_at: stamp.at,
            updated_at: stamp.recorded_at,
            closed_at: None,
            parties: Vec::new(),
            tasks: Vec::new(),
            links: Vec::new(),
            observables: Vec::new(),
            timeline: Vec::new(),
        };
        let coordinator = new.coordinator.clone();
        case.apply(
            Change::Opened {
                title: new.title,
                summary: new.summary,
                severity: new.severity,
                tlp: new.tlp,
                pap: new.pap,
                coordinator: new.coordinator,
            },
            stamp,
        )?;
        case.apply(
            Change::PartyAdded {
                team: coordinator,
                role: Role::Coordinator,
                status: PartyStatus::Acknowledged,
            },
            stamp,
        )?;
        Ok(case)
    }

    /// The case its timeline describes, every entry validated as it was when first made.
    pub fn replay(id: u64, timeline: Vec<Entry>) -> Result<Case, CaseError> {
        let corrupt = |why: String| CaseError::Corrupt { case: id, why };
        let mut entries = timeline.into_iter();
        let first = entries
            .next()
            .ok_or_else(|| corrupt("its timeline is empty".into()))?;
        let Change::Opened {
            title,
            summary,
            severity,
            tlp,
            pap,
            coordinator,
        } = first.change
        else {
            return Err(corrupt(format!(
                "its timeline begins with {}, not opened",
                first.change.kind()
            )));
        };
        let stamp = Stamp::late(first.at, first.recorded_at, first.actor);
        let new = NewCase {
            title,
            summary,
            severity,
            tlp,
            pap,
            coordinator,
        };
        let mut case = Case::open(new, &stamp)?;
        case.timeline.truncate(1);
        case.parties.clear();
        case.id = id;
        for entry in entries {
            let seq = entry.seq;
            if seq != case.timeline.len() as u64 + 1 {
                return Err(corrupt(format!(
                    "entry {seq} follows entry {}",
                    case.timeline.len()
                )));
            }
            let stamp = Stamp::late(entry.at, entry.recorded_at, entry.actor);
            case.apply(entry.change, &stamp)
                .map_err(|e| corrupt(format!("entry {seq}: {e}")))?;
        }
        if case.party(&case.coordinator.clone()).is_none() {
            return Err(corrupt("its coordinator is not a party".into()));
        }
        Ok(case)
    }

    /// The party of this team, if it is one.
    pub fn party(&self, team: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.team == team)
    }

    /// The task of this number, if there is one.
    pub fn task(&self, task: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task == task)
    }

    fn refuse<T>(&self, why: impl Into<String>) -> Result<T, CaseError> {
        Err(CaseError::Refused {
            case: self.id,
            why: why.into(),
        })
    }

    fn require_party(&self, team: &str) -> Result<&Party, CaseError> {
        match self.party(team) {
            Some(p) => Ok(p),
            None => {
                let parties: Vec<&str> = self.parties.iter().map(|p| p.team.as_str()).collect();
                self.refuse(format!(
                    "{team} is not a party (parties: {}); add it first",
                    parties.join(", ")
                ))
            }
        }
    }

    /// Validates `change` against the case as it stands, then appends it to the timeline and
    /// applies it. A refused change leaves the case as it was.
    pub fn apply(&mut self, change: Change, stamp: &Stamp) -> Result<&Entry, CaseError> {
        self.check(&change, stamp)?;
        self.change_state(&change, stamp);
        self.updated_at = self.updated_at.max(stamp.recorded_at);
        self.timeline.push(Entry {
            seq: self.timeline.len() as u64 + 1,
            at: stamp.at,
            recorded_at: stamp.recorded_at,
            actor: stamp.actor.clone(),
            change,
        });
        Ok(self.timeline.last().expect("just pushed"))
    }

    fn check(&self, change: &Change, stamp: &Stamp) -> Result<(), CaseError> {
        let opened = !self.timeline.is_empty();
        if let Change::Opened {
            title, coordinator, ..
        } = change
        {
            if opened {
                return self.refuse("it is already open; a case is opened once");
            }
            if title.trim().is_empty() {
                return self.refuse("a case needs a title");
            }
            if coordinator.trim().is_empty() {
                return self.refuse("a case needs a coordinating team");
            }
            return Ok(());
        }
        if !opened {
            return self.refuse(format!("{} before the case was opened", change.kind()));
        }
        if stamp.at < self.opened_at {
            return self.refuse(format!(
                "{} at {} is before the case was opened ({})",
                change.kind(),
                stamp.at,
                self.opened_at
            ));
        }
        if self.status == Status::Closed
            && !matches!(change, Change::Comment { .. } | Change::Reopened { .. })
        {
            return self.refuse(format!(
                "it is closed ({}); a closed case takes only comments and reopen",
                self.determination.map_or("", |d| d.as_str())
            ));
        }
        match change {
            Change::Opened { .. } => unreachable!("handled above"),
            Change::PartyAdded { team, role, .. } => {
                if team.trim().is_empty() {
                    return self.refuse("a party is a team; none was named");
                }
                if let Some(p) = self.party(team) {
                    return self.refuse(format!("{team} is already a party ({})", p.role));
                }
                let first = self.parties.is_empty();
                if first && (*role != Role::Coordinator || *team != self.coordinator) {
                    return self.refuse("the first party is the coordinator");
                }
                if !first && *role == Role::Coordinator {
                    return self.refuse(format!(
                        "{} coordinates it; a case has one coordinator",
                        self.coordinator
                    ));
                }
            }
            Change::PartyStatus { team, status } => {
                let party = self.require_party(team)?;
                check_party_move(party, *status).or_else(|why| self.refuse(why))?;
                if stamp.at < party.since {
                    return self.refuse(format!(
                        "{team} became {} at {}; its next status cannot be earlier ({})",
                        party.status, party.since, stamp.at
                    ));
                }
            }
            Change::TaskAdded {
                task, team, title, ..
            } => {
                self.require_party(team)?;
                if title.trim().is_empty() {
                    return self.refuse("a task needs a title");
                }
                let next = self.tasks.len() as u32 + 1;
                if *task != next {
                    return self.refuse(format!("the next task is number {next}, not {task}"));
                }
            }
            Change::TaskStatus { task, status } => {
                let t = self.existing_task(*task)?;
                if t.status.is_final() {
                    return self.refuse(format!(
                        "task {task} is {}: a finished task stays so; add a new one",
                        t.status
                    ));
                }
                if t.status == *status {
                    return self.refuse(format!("task {task} is already {status}"));
                }
                if *status == TaskStatus::Pending {
                    return self.refuse(format!(
                        "task {task} has started; it cannot be pending again"
                    ));
                }
            }
            Change::TaskDue { task, .. } => {
                let t = self.existing_task(*task)?;
                if t.status.is_final() {
                    return self.refuse(format!("task {task} is {}: it is due no more", t.status));
                }
            }
            Change::Linked { finding, key, team } => {
                if key.trim().is_empty() {
                    return self.refuse("a linked finding needs its key");
                }
                if let Some(team) = team {
                    self.require_party(team)?;
                }
                if self
                    .links
                    .iter()
                    .any(|l| l.kind == *finding && l.key == *key && l.team == *team)
                {
                    return self.refuse(format!("{finding} {key} is already linked"));
                }
            }
            Change::Observed {
                observable,
                value,
                team,
            } => {
                if Observable::normalise(*observable, value)? != *value {
                    return self
                        .refuse(format!("{observable} {value:?} is not in its one spelling"));
                }
                if let Some(team) = team {
                    self.require_party(team)?;
                }
                if self
                    .observables
                    .iter()
                    .any(|o| o.kind == *observable && o.value == *value && o.team == *team)
                {
                    return self.refuse(format!("{observable} {value} is already there"));
                }
            }
            Change::Comment { text } => {
                if text.trim().is_empty() {
                    return self.refuse("an empty comment");
                }
            }
            Change::Message { message_id, .. } => {
                if message_id.trim().is_empty() {
                    return self.refuse("a message without a Message-ID");
                }
            }
            Change::Reminded { team, due } => {
                if self.party(team).is_none() {
                    return self.refuse(format!("{team} is no party"));
                }
                let reminded = self.timeline.iter().any(|e| {
                    matches!(&e.change, Change::Reminded { team: t, due: d } if t == team && d == due)
                });
                if reminded {
                    return self.refuse(format!(
                        "{team} was already reminded to {}; a party is reminded once",
                        due.as_str()
                    ));
                }
            }
            Change::Started => {
                if self.status != Status::New {
                    return self.refuse(format!("it is {}, not new", self.status));
                }
            }
            Change::Closed { .. } => {}
            Change::Reopened { .. } => {
                if self.status != Status::Closed {
                    return self.refuse(format!("it is {}, not closed", self.status));
                }
            }
        }
        Ok(())
    }

    fn existing_task(&self, task: u32) -> Result<&Task, CaseError> {
        match self.task(task) {
            Some(t) => Ok(t),
            None => self.refuse(format!("no task {task} (tasks 1 to {})", self.tasks.len())),
        }
    }

    fn change_state(&mut self, change: &Change, stamp: &Stamp) {
        match change.clone() {
            Change::Opened {
                title,
                summary,
                severity,
                tlp,
                pap,
                coordinator,
            } => {
                self.title = title;
                self.summary = summary;
                self.severity = severity;
                self.tlp = tlp;
                self.pap = pap;
                self.coordinator = coordinator;
                self.opened_at = stamp.at;
            }
            Change::PartyAdded { team, role, status } => self.parties.push(Party {
                team,
                role,
                status,
                since: stamp.at,
                history: vec![StatusChange {
                    status,
                    at: stamp.at,
                }],
            }),
            Change::PartyStatus { team, status } => {
                if let Some(p) = self.parties.iter_mut().find(|p| p.team == team) {
                    p.status = status;
                    p.since = stamp.at;
                    p.history.push(StatusChange {
                        status,
                        at: stamp.at,
                    });
                }
            }
            Change::TaskAdded {
                task,
                team,
                title,
                due,
            } => self.tasks.push(Task {
                task,
                team,
                title,
                status: TaskStatus::Pending,
                due,
                updated_at: stamp.at,
            }),
            Change::TaskStatus { task, status } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.task == task) {
                    t.status = status;
                    t.updated_at = stamp.at;
                }
            }
            Change::TaskDue { task, due } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.task == task) {
                    t.due = due;
                    t.updated_at = stamp.at;
                }
            }
            Change::Linked { finding, key, team } => self.links.push(Link {
                kind: finding,
                key,
                team,
            }),
            Change::Observed {
                observable,
                value,
                team,
            } => self.observables.push(Observable {
                kind: observable,
                value,
                team,
            }),
            Change::Comment { .. } | Change::Message { .. } | Change::Reminded { .. } => {}
            Change::Started => self.status = Status::InProgress,
            Change::Closed { determination, .. } => {
                self.status = Status::Closed;
                self.determination = Some(determination);
                self.closed_at = Some(stamp.at);
            }
            Change::Reopened { .. } => {
                self.status = Status::InProgress;
                self.determination = None;
                self.closed_at = None;
            }
        }
    }

    // -- The changes a person asks for, each as one or more entries ------------------------

    /// Adds a team as a party (invited).
    pub fn add_party(&mut self, team: &str, role: Role, stamp: &Stamp) -> Result<(), CaseError> {
        self.apply(
            Change::PartyAdded {
                team: team.to_owned(),
                role,
                status: PartyStatus::Invited,
            },
            stamp,
        )?;
        Ok(())
    }

    /// Moves a party to `status`; a new case goes in progress once a party acknowledges.
    pub fn set_party_status(
        &mut self,
        team: &str,
        status: PartyStatus,
        stamp: &Stamp,
    ) -> Result<(), CaseError> {
        self.atomically(|case| {
            case.apply(
                Change::PartyStatus {
                    team: team.to_owned(),
                    status,
                },
                stamp,
            )?;
            if status.acknowledges() && case.status == Status::New {
                case.apply(Change::Started, stamp)?;
            }
            Ok(())
        })
    }

    /// Gives a party a task; returns its number.
    pub fn add_task(
        &mut self,
        team: &str,
        title: &str,
        due: Option<Timestamp>,
        stamp: &Stamp,
    ) -> Result<u32, CaseError> {
        let task = self.tasks.len() as u32 + 1;
        self.apply(
            Change::TaskAdded {
                task,
                team: team.to_owned(),
                title: title.trim().to_owned(),
                due: due.map(whole_second),
            },
            stamp,
        )?;
        Ok(task)
    }

    /// Changes a task's status and/or due date (`Some(None)` removes it); a new case goes in
    /// progress once a task starts.
    pub fn set_task(
        &mut self,
        task: u32,
        status: Option<TaskStatus>,
        due: Option<Option<Timestamp>>,
        stamp: &Stamp,
    ) -> Result<(), CaseError> {
        if status.is_none() && due.is_none() {
            return self.refuse(format!(
                "task {task}: nothing to change (a status or a due date)"
            ));
        }
        self.atomically(|case| {
            if let Some(due) = due {
                case.apply(
                    Change::TaskDue {
                        task,
                        due: due.map(whole_second),
                    },
                    stamp,
                )?;
            }
            if let Some(status) = status {
                case.apply(Change::TaskStatus { task, status }, stamp)?;
                if status != TaskStatus::Cancelled && case.status == Status::New {
                    case.apply(Change::Started, stamp)?;
                }
            }
            Ok(())
        })
    }

    /// Links a finding to the case, or to one party's slice.
    pub fn link(
        &mut self,
        kind: FindingKind,
        key: &str,
        team: Option<&str>,
        stamp: &Stamp,
    ) -> Result<(), CaseError> {
        self.apply(
            Change::Linked {
                finding: kind,
                key: key.trim().to_owned(),
                team: team.map(str::to_owned),
            },
            stamp,
        )?;
        Ok(())
    }

    /// Adds an observable (normalised) to the case, or to one party's slice; one already
    /// there is not added again (`Ok(false)`).
    pub fn observe(
        &mut self,
        kind: ObservableKind,
        value: &str,
        team: Option<&str>,
        stamp: &Stamp,
    ) -> Result<bool, CaseError> {
        let value = Observable::normalise(kind, value)?;
        let team = team.map(str::to_owned);
        if self
            .observables
            .iter()
            .any(|o| o.kind == kind && o.value == value && o.team == team)
        {
            return Ok(false);
        }
        self.apply(
            Change::Observed {
                observable: kind,
                value,
                team,
            },
            stamp,
        )?;
        Ok(true)
    }

    /// Adds a comment.
    pub fn comment(&mut self, text: &str, stamp: &Stamp) -> Result<(), CaseError> {
        self.apply(
            Change::Comment {
                text: text.trim().to_owned(),
            },
            stamp,
        )?;
        Ok(())
    }

    /// Closes the case; refused without a determination.
    pub fn close(
        &mut self,
        determination: Option<Determination>,
        note: Option<&str>,
        stamp: &Stamp,
    ) -> Result<(), CaseError> {
        let Some(determination) = determination else {
            let known: Vec<&str> = Determination::ALL.iter().map(|d| d.as_str()).collect();
            return self.refuse(format!(
                "a case is closed with a determination ({}); none was given",
                known.join(", ")
            ));
        };
        self.apply(
            Change::Closed {
                determination,
                note: note.map(str::to_owned),
            },
            stamp,
        )?;
        Ok(())
    }

    /// Records that a party was reminded of a deadline (once per party and deadline).
    pub fn remind(&mut self, team: &str, due: Due, stamp: &Stamp) -> Result<(), CaseError> {
        self.apply(
            Change::Reminded {
                team: team.to_owned(),
                due,
            },
            stamp,
        )?;
        Ok(())
    }

    /// Opens a closed case again (in progress).
    pub fn reopen(&mut self, reason: Option<&str>, stamp: &Stamp) -> Result<(), CaseError> {
        self.apply(
            Change::Reopened {
                reason: reason.map(str::to_owned),
            },
            stamp,
        )?;
        Ok(())
    }

    /// Runs `f`; if it fails, the case is as it was before (no entry half made).
    fn atomically(
        &mut self,
        f: impl FnOnce(&mut Case) -> Result<(), CaseError>,
    ) -> Result<(), CaseError> {
        let before = self.clone();
        let result = f(self);
        if result.is_err() {
            *self = before;
        }
        result
    }
}

/// Whether a party may move from where it stands to `to`: forward through invited →
/// notified → seen → acknowledged → acting → done, or to declined before done; a party that
/// declined may still take it up (acknowledged, acting, done), and a party that is done may
/// act again when more is found (done → acting).
fn check_party_move(party: &Party, to: PartyStatus) -> Result<(), String> {
    use PartyStatus::*;
    let from = party.status;
    let team = &party.team;
    if from == to {
        return Err(format!("{team} is already {to}"));
    }
    let ok = match (from, to) {
        (Done, Acting) => true,
        (Done, _) => false,
        (_, Declined) => true,
        (Declined, to) => to.acknowledges(),
        (from, to) => to > from,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{team} is {from}; a party moves forward (invited → notified → seen → \
             acknowledged → acting → done), declines before done, or acts again after done: \
             {from} → {to} is not one of those"
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn t(s: i64) -> Stamp {
        Stamp::at(Timestamp::from_second(1_800_000_000 + s).unwrap(), None)
    }

    pub(crate) fn case() -> Case {
        let mut c = Case::open(
            NewCase {
                title: "tcp/5555 spike".into(),
                summary: String::new(),
                severity: Severity::High,
                tlp: TlpLevel::Amber,
                pap: Pap::Amber,
                coordinator: "coord".into(),
            },
            &t(0),
        )
        .unwrap();
        c.add_party("jp", Role::Affected, &t(0)).unwrap();
        c.add_party("ke", Role::Affected, &t(0)).unwrap();
        c.observe(ObservableKind::Address, "192.0.2.1", Some("jp"), &t(0))
            .unwrap();
        c.observe(ObservableKind::Address, "198.51.100.2", Some("ke"), &t(0))
            .unwrap();
        c.link(FindingKind::Alert, "tcp-5555-spike-1", None, &t(0))
            .unwrap();
        c
    }

    fn refused(r: Result<(), CaseError>, words: &str) {
        match r {
            Err(CaseError::Refused { why, .. }) => assert!(why.contains(words), "{why}"),
            other => panic!("expected a refusal with {words:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_case_moves_new_in_progress_closed_and_back() {
        let mut c = case();
        assert_eq!(c.status, Status::New);
        c.set_party_status("jp", PartyStatus::Notified, &t(10))
            .unwrap();
        assert_eq!(c.status, Status::New, "being told is not taking it up");
        c.set_party_status("jp", PartyStatus::Acknowledged, &t(60))
            .unwrap();
        assert_eq!(c.status, Status::InProgress);
        refused(c.close(None, None, &t(70)), "determination");
        assert_eq!(c.status, Status::InProgress, "a refusal changes nothing");
        c.close(Some(Determination::Confirmed), Some("cleaned"), &t(80))
            .unwrap();
        assert_eq!(c.closed_at, Some(t(80).at));
        refused(
            c.set_party_status("ke", PartyStatus::Seen, &t(90)),
            "takes only comments and reopen",
        );
        refused(c.add_task("jp", "block", None, &t(90)).map(drop), "closed");
        c.comment("thanks all", &t(90)).unwrap();
        refused(
            c.close(Some(Determination::Blocked), None, &t(91)),
            "closed",
        );
        c.reopen(Some("it came back"), &t(100)).unwrap();
        assert_eq!((c.status, c.determination), (Status::InProgress, None));
        refused(c.reopen(None, &t(101)), "not closed");
        let kinds: Vec<&str> = c.timeline.iter().map(|e| e.change.kind()).collect();
        assert_eq!(
            kinds,
            [
                "opened",
                "party-added",
                "party-added",
                "party-added",
                "observed",
                "observed",
                "linked",
                "party-status",
                "party-status",
                "started",
                "closed",
                "comment",
                "reopened"
            ]
        );
        assert!(
            c.timeline
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == i as u64 + 1)
        );
    }

    #[test]
    fn parties_move_forward_and_say_why_not() {
        let mut c = case();
        c.set_party_status("jp", PartyStatus::Seen, &t(5)).unwrap();
        refused(
            c.set_party_status("jp", PartyStatus::Notified, &t(6)),
            "moves forward",
        );
        refused(
            c.set_party_status("jp", PartyStatus::Seen, &t(6)),
            "already seen",
        );
        refused(
            c.set_party_status("jp", PartyStatus::Acting, &t(4)),
            "cannot be earlier",
        );
        refused(
            c.set_party_status("xx", PartyStatus::Seen, &t(6)),
            "not a party",
        );
        c.set_party_status("ke", PartyStatus::Declined, &t(6))
            .unwrap();
        c.set_party_status("ke", PartyStatus::Acting, &t(7))
            .unwrap();
        c.set_party_status("ke", PartyStatus::Done, &t(8)).unwrap();
        refused(
            c.set_party_status("ke", PartyStatus::Declined, &t(9)),
            "done",
        );
        c.set_party_status("ke", PartyStatus::Acting, &t(9))
            .unwrap();
        refused(c.add_party("jp", Role::Observer, &t(9)), "already a party");
        refused(
            c.add_party("x", Role::Coordinator, &t(9)),
            "one coordinator",
        );
    }

    #[test]
    fn tasks_finish_once() {
        let mut c = case();
        let n = c
            .add_task("jp", "take 192.0.2.1 offline", None, &t(1))
            .unwrap();
        assert_eq!(n, 1);
        refused(c.add_task("zz", "x", None, &t(1)).map(drop), "not a party");
        c.set_task(n, Some(TaskStatus::Ongoing), None, &t(2))
            .unwrap();
        assert_eq!(c.status, Status::InProgress, "a task started");
        refused(
            c.set_task(n, Some(TaskStatus::Pending), None, &t(3)),
            "cannot be pending",
        );
        c.set_task(n, Some(TaskStatus::Done), None, &t(3)).unwrap();
        refused(
            c.set_task(n, Some(TaskStatus::Failed), None, &t(4)),
            "stays so",
        );
        refused(
            c.set_task(7, Some(TaskStatus::Done), None, &t(4)),
            "no task 7",
        );
        refused(c.set_task(n, None, None, &t(4)), "nothing to change");
    }

    #[test]
    fn observables_have_one_spelling() {
        use ObservableKind::*;
        assert_eq!(
            Observable::normalise(Address, " 2001:DB8::1 ").unwrap(),
            "2001:db8::1"
        );
        assert_eq!(Observable::normalise(Port, "23").unwrap(), "tcp/23");
        assert_eq!(Observable::normalise(Port, "UDP/53").unwrap(), "udp/53");
        assert_eq!(Observable::normalise(Asn, "AS64500").unwrap(), "64500");
        assert_eq!(
            Observable::normalise(Domain, "Example.ORG.").unwrap(),
            "example.org"
        );
        for (kind, bad) in [
            (Address, "192.0.2"),
            (Port, "tcp/70000"),
            (Asn, "ASx"),
            (Domain, "localhost"),
        ] {
            assert!(Observable::normalise(kind, bad).is_err(), "{kind} {bad}");
        }
        let mut c = case();
        assert!(
            !c.observe(Address, "192.0.2.1", Some("jp"), &t(1)).unwrap(),
            "once"
        );
        assert!(c.observe(Address, "192.0.2.1", None, &t(1)).unwrap());
    }

    #[test]
    fn a_case_is_its_timeline_replayed() {
        let mut c = case();
        c.set_party_status("jp", PartyStatus::Acknowledged, &t(60))
            .unwrap();
        c.add_task("ke", "block", Some(t(3600).at), &t(61)).unwrap();
        c.close(Some(Determination::Blocked), None, &t(90)).unwrap();
        c.id = 7;
        let json = serde_json::to_string(&c.timeline).unwrap();
        let back = Case::replay(7, serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back, c);
        // A timeline that breaks a rule does not read back.
        let mut broken = c.timeline.clone();
        broken.push(Entry {
            seq: broken.len() as u64 + 1,
            at: t(100).at,
            recorded_at: t(100).at,
            actor: None,
            change: Change::Started,
        });
        assert!(matches!(
            Case::replay(7, broken),
            Err(CaseError::Corrupt { .. })
        ));
    }

    #[test]
    fn names_parse_in_any_case_and_say_what_is_known() {
        assert_eq!("In-Progress".parse::<Status>().unwrap(), Status::InProgress);
        let e = "maybe".parse::<Determination>().unwrap_err().to_string();
        assert!(
            e.contains("confirmed, suspected, false-positive, blocked, failed-attempt"),
            "{e}"
        );
    }
}
