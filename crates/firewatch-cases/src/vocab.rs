//! The words of a case: severities, PAP, statuses, determinations, roles, kinds. Each is
//! written and read (any case) by the name `as_str` gives, in JSON, the store and the CLI.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CaseError;

macro_rules! names {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name written in JSON, the store and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = CaseError;

            fn from_str(s: &str) -> Result<Self, CaseError> {
                let t = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| CaseError::Unknown {
                        what: $what,
                        value: s.to_owned(),
                        known: $name::ALL
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            }
        }
    };
}

names! {
    /// How bad it is (TheHive's scale).
    Severity, "severity" {
        /// Low.
        Low = "low",
        /// Medium: the default.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
}

names! {
    /// Permissible Actions Protocol (FIRST PAP): what a party may do with the case's
    /// information, beside TLP's who may read it.
    Pap, "PAP level" {
        /// Any action, including public ones.
        Clear = "clear",
        /// Active actions that the source may notice (e.g. blocking, sinkholing).
        Green = "green",
        /// Passive actions only (lookups in own logs, passive DNS).
        Amber = "amber",
        /// No action outside the recipient's own network.
        Red = "red",
    }
}

names! {
    /// Where a case is: new → in progress → closed (and reopened).
    Status, "case status" {
        /// Opened; no party has acknowledged yet.
        New = "new",
        /// A party acknowledged, acts, or a task started.
        InProgress = "in-progress",
        /// Closed with a determination.
        Closed = "closed",
    }
}

names! {
    /// What a closed case turned out to be.
    Determination, "determination" {
        /// The incident happened.
        Confirmed = "confirmed",
        /// Likely, not proven.
        Suspected = "suspected",
        /// Nothing happened.
        FalsePositive = "false-positive",
        /// Stopped before it did harm.
        Blocked = "blocked",
        /// Tried and failed.
        FailedAttempt = "failed-attempt",
    }
}

names! {
    /// A party's part in a case (CERT/CC VINCE's roles).
    Role, "party role" {
        /// Coordinates the case: one per case, sees every slice.
        Coordinator = "coordinator",
        /// Owns part of the finding (its constituency's addresses): gets its own slice.
        Affected = "affected",
        /// Reported it.
        Reporter = "reporter",
        /// Follows it.
        Observer = "observer",
    }
}

names! {
    /// Where a party stands, in the order a party moves through them; `declined` aside.
    PartyStatus, "party status" {
        /// Added to the case, not yet told.
        Invited = "invited",
        /// Told (a notice went out).
        Notified = "notified",
        /// Read it.
        Seen = "seen",
        /// Said it takes it up: the end of time to acknowledge.
        Acknowledged = "acknowledged",
        /// Working on it.
        Acting = "acting",
        /// Finished its part: the end of time to resolve.
        Done = "done",
        /// Will not take part.
        Declined = "declined",
    }
}

names! {
    /// Where a task is.
    TaskStatus, "task status" {
        /// Not started.
        Pending = "pending",
        /// Being worked on.
        Ongoing = "ongoing",
        /// Finished.
        Done = "done",
        /// Tried, did not work.
        Failed = "failed",
        /// Not needed any more.
        Cancelled = "cancelled",
    }
}

names! {
    /// What kind of finding a link names, by its stable key.
    FindingKind, "finding kind" {
        /// A telescope alert (`tcp-23-spike-1762070400`).
        Alert = "alert",
        /// A backscatter attack (`victim@start`).
        Attack = "attack",
        /// A stored feed event (its id).
        Event = "event",
        /// A message of the case's thread, by its Message-ID: how replies find their case.
        Mail = "mail",
    }
}

names! {
    /// What a party is late with, past its service level.
    Due, "deadline" {
        /// It has not acknowledged.
        Acknowledge = "acknowledge",
        /// It is not done.
        Resolve = "resolve",
    }
}

names! {
    /// Which way a message of a case went.
    MailDirection, "mail direction" {
        /// Received from a party (or a reporter).
        In = "in",
        /// Sent to a party.
        Out = "out",
    }
}

names! {
    /// What kind of observable.
    ObservableKind, "observable kind" {
        /// An IPv4 or IPv6 address.
        Address = "address",
        /// A port, with its protocol (`tcp/23`).
        Port = "port",
        /// An autonomous system number.
        Asn = "asn",
        /// A domain name.
        Domain = "domain",
    }
}

impl PartyStatus {
    /// The statuses from which time to acknowledge ends.
    pub fn acknowledges(self) -> bool {
        matches!(
            self,
            PartyStatus::Acknowledged | PartyStatus::Acting | PartyStatus::Done
        )
    }
}

impl TaskStatus {
    /// A finished task stays finished.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Done | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}
