//! Who may read what: the TLP 2.0 rule, in one place.
//!
//! [`may_read`] is the rule; [`EventVisibility`] is what a store needs of a viewer to apply the
//! same rule in its query language (the web's `tests/visibility.rs` proves the SQLite form equal
//! to this one on every combination), and
//! [`TelescopeAccess`] applies it to telescope data, which carries one TLP for the whole
//! telescope.

use crate::event::Event;
use crate::fields;
use crate::tlp::TlpLevel;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// What a user may do besides reading. Reading is the same for every role: need-to-know
/// applies to administrators too (they manage users and tokens, they get no TLP bypass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Manages users and tokens.
    Administrator,
    /// Coordinates across teams.
    Coordinator,
    /// A team's analyst.
    Member,
    /// Reads only.
    ReadOnly,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Administrator,
        Role::Coordinator,
        Role::Member,
        Role::ReadOnly,
    ];

    /// The name stored and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Coordinator => "coordinator",
            Role::Member => "member",
            Role::ReadOnly => "read-only",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role (administrator, coordinator, member, read-only)")]
pub struct RoleError(pub String);

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Role, RoleError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| RoleError(s.to_string()))
    }
}

/// What a store's read predicate needs of a viewer: the TLP 2.0 rule of [`may_read`], as the
/// store's query language applies it to stored events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventVisibility {
    /// No identity: TLP:CLEAR only.
    Anonymous,
    /// A user of this team (whatever the role: need-to-know applies to administrators too).
    Team(String),
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No credentials: the public.
    Anonymous,
    /// An authenticated user of a team (every team is a member of the community).
    User {
        /// The user's login name.
        name: String,
        /// The user's team.
        team: String,
        /// What the user may do besides reading.
        role: Role,
    },
}

impl Viewer {
    /// The viewer's team, if authenticated.
    pub fn team(&self) -> Option<&str> {
        match self {
            Viewer::Anonymous => None,
            Viewer::User { team, .. } => Some(team),
        }
    }

    /// What a store's read predicate needs of this viewer.
    pub fn event_visibility(&self) -> EventVisibility {
        match self {
            Viewer::Anonymous => EventVisibility::Anonymous,
            Viewer::User { team, .. } => EventVisibility::Team(team.clone()),
        }
    }
}

/// The TLP 2.0 rule. `tlp` is the record's level (`None`, an unlabelled record, counts as
/// RED); `owner` the team that produced or ingested it; `routed_to` the team it was routed to;
/// `recipients` the teams named for RED.
///
/// - CLEAR: anyone, including anonymous.
/// - GREEN: any authenticated user (the community).
/// - AMBER: users of the owning team or of the team the record was routed to.
/// - AMBER+STRICT: users of the owning team only.
/// - RED: users of the named recipient teams only.
///
/// ```
/// use firewatch_core::TlpLevel;
/// use firewatch_core::access::{may_read, Role, Viewer};
/// let b = Viewer::User { name: "bo".into(), team: "b".into(), role: Role::Member };
/// assert!(may_read(&b, Some(TlpLevel::Amber), Some("a"), Some("b"), &[]));
/// assert!(!may_read(&b, Some(TlpLevel::AmberStrict), Some("a"), Some("b"), &[]));
/// assert!(!may_read(&Viewer::Anonymous, Some(TlpLevel::Green), None, None, &[]));
/// ```
pub fn may_read(
    viewer: &Viewer,
    tlp: Option<TlpLevel>,
    owner: Option<&str>,
    routed_to: Option<&str>,
    recipients: &[&str],
) -> bool {
    team_may_read(viewer.team(), tlp, owner, routed_to, recipients)
}

/// [`may_read`] for a team (`None`: the public), where no user asks: what a notice may tell
/// a team.
pub fn team_may_read(
    team: Option<&str>,
    tlp: Option<TlpLevel>,
    owner: Option<&str>,
    routed_to: Option<&str>,
    recipients: &[&str],
) -> bool {
    let tlp = tlp.unwrap_or(TlpLevel::Red);
    if tlp == TlpLevel::Clear {
        return true;
    }
    let Some(team) = team else {
        return false;
    };
    match tlp {
        TlpLevel::Clear | TlpLevel::Green => true,
        TlpLevel::Amber => owner == Some(team) || routed_to == Some(team),
        TlpLevel::AmberStrict => owner == Some(team),
        TlpLevel::Red => recipients.contains(&team),
    }
}

/// The ownership fields of an event: (`tlp`, `extra.owner`, `extra.team`,
/// `extra.recipients`), as [`may_read`] takes them. Values of another type than the rule
/// expects (a numeric owner, recipients that are not an array of strings) count as absent.
pub fn event_ownership(
    event: &Event,
) -> (
    Option<TlpLevel>,
    Option<String>,
    Option<String>,
    Vec<String>,
) {
    let text = |f: &str| {
        event.get(f).and_then(|v| match v.to_json() {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        })
    };
    let tlp = crate::tlp::event_tlp(event);
    let recipients = match event.get(fields::EXTRA_RECIPIENTS).map(|v| v.to_json()) {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    (
        tlp,
        text(fields::EXTRA_OWNER),
        text(fields::EXTRA_TEAM),
        recipients,
    )
}

/// [`may_read`] for an event.
pub fn may_read_event(viewer: &Viewer, event: &Event) -> bool {
    let (tlp, owner, routed, recipients) = event_ownership(event);
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    may_read(
        viewer,
        tlp,
        owner.as_deref(),
        routed.as_deref(),
        &recipients,
    )
}

/// The telescope's one TLP and owner, and whether its aggregates are released to the public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelescopeAccess {
    /// The level of every telescope record.
    pub tlp: TlpLevel,
    /// The team that runs the telescope, if one does.
    pub owner: Option<String>,
    /// An explicit release of aggregates (top ports, alerts) to anonymous users.
    pub public_aggregates: bool,
}

impl TelescopeAccess {
    /// Individual records (sources, attacks): the telescope's TLP, nothing released.
    pub fn may_read_records(&self, viewer: &Viewer) -> bool {
        may_read(viewer, Some(self.tlp), self.owner.as_deref(), None, &[])
    }

    /// Aggregates (top ports, alerts): the telescope's TLP, or the explicit public release.
    pub fn may_read_aggregates(&self, viewer: &Viewer) -> bool {
        self.public_aggregates || self.may_read_records(viewer)
    }

    /// Whether `team` may be told of a finding about its own constituency (a finding routed
    /// to it), as the finding stored as an event would let it read: AMBER allows the routed
    /// team, AMBER+STRICT only the owner, RED no one unnamed.
    pub fn may_tell_routed_team(&self, team: &str) -> bool {
        team_may_read(
            Some(team),
            Some(self.tlp),
            self.owner.as_deref(),
            Some(team),
            &[],
        )
    }
}

impl Default for TelescopeAccess {
    /// GREEN (the community), no owner, nothing released to the public.
    fn default() -> Self {
        TelescopeAccess {
            tlp: TlpLevel::Green,
            owner: None,
            public_aggregates: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(team: &str, role: Role) -> Viewer {
        Viewer::User {
            name: format!("{team}-{role}"),
            team: team.into(),
            role,
        }
    }

    /// Every level × owner × routed-to × recipients × viewer (every role), against the table
    /// written out from the rule's text.
    #[test]
    fn the_rule_exhaustively() {
        let teams = [None, Some("a"), Some("b"), Some("c")];
        let recipient_sets: [&[&str]; 4] = [&[], &["a"], &["b", "c"], &["c"]];
        let mut viewers = vec![Viewer::Anonymous];
        for t in ["a", "b", "c", "d"] {
            for r in Role::ALL {
                viewers.push(user(t, r));
            }
        }
        let mut checked = 0;
        for tlp in [None].into_iter().chain(TlpLevel::ALL.map(Some)) {
            for owner in teams {
                for routed in teams {
                    for recipients in recipient_sets {
                        for v in &viewers {
                            let team = v.team();
                            let expected = match tlp.unwrap_or(TlpLevel::Red) {
                                TlpLevel::Clear => true,
                                TlpLevel::Green => team.is_some(),
                                TlpLevel::Amber => {
                                    team.is_some() && (team == owner || team == routed)
                                }
                                TlpLevel::AmberStrict => team.is_some() && team == owner,
                                TlpLevel::Red => team.is_some_and(|t| recipients.contains(&t)),
                            };
                            assert_eq!(
                                may_read(v, tlp, owner, routed, recipients),
                                expected,
                                "{v:?} {tlp:?} owner {owner:?} routed {routed:?} to {recipients:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 4 * 4 * 4 * 17);
    }

    #[test]
    fn administrators_get_no_bypass() {
        let admin = user("a", Role::Administrator);
        assert!(!may_read(
            &admin,
            Some(TlpLevel::Red),
            Some("a"),
            Some("a"),
            &["b"]
        ));
        assert!(!may_read(
            &admin,
            Some(TlpLevel::AmberStrict),
            Some("b"),
            Some("a"),
            &[]
        ));
    }

    #[test]
    fn telescope_releases() {
        let green = TelescopeAccess {
            tlp: TlpLevel::Green,
            owner: None,
            public_aggregates: false,
        };
        assert!(!green.may_read_aggregates(&Viewer::Anonymous));
        assert!(green.may_read_records(&user("d", Role::ReadOnly)));
        let released = TelescopeAccess {
            public_aggregates: true,
            ..green
        };
        assert!(released.may_read_aggregates(&Viewer::Anonymous));
        assert!(!released.may_read_records(&Viewer::Anonymous));
        let amber = TelescopeAccess {
            tlp: TlpLevel::Amber,
            owner: Some("a".into()),
            public_aggregates: false,
        };
        assert!(amber.may_read_records(&user("a", Role::Member)));
        assert!(!amber.may_read_records(&user("b", Role::Coordinator)));
    }

    #[test]
    fn roles_parse() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
