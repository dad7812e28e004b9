//! What a team is told of the telescope's port alerts: the part of each alert that concerns
//! its constituency. One rule for every output that tells a team its own part — `export stix
//! --team`, notify's findings and the TAXII collections of a team that may be told of its
//! routed findings without reading the telescope's records.

use firewatch_core::access::TelescopeAccess;
use firewatch_store::{AlertQuery, Store, TimeRange};

use crate::Finding;

/// Every alert of `range` with sources of `team`, as findings at the telescope's TLP and
/// owner: the alert's campaign ([`Finding::from_alert`]) followed by each of the team's own
/// sources of it ([`Finding::from_alert_source`], whose indicators the STIX export says
/// `indicates` the campaign) — never another team's sources, never an alert with none of the
/// team's. Empty when the telescope's TLP does not let a routed team be told
/// ([`TelescopeAccess::may_tell_routed_team`]: at AMBER+STRICT only the owner, at RED no one).
///
/// A team's cap (`max_tlp`) is the caller's to apply.
pub fn team_alert_findings<S: Store + ?Sized>(
    store: &S,
    telescope: &TelescopeAccess,
    team: &str,
    range: TimeRange,
) -> firewatch_store::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    if !telescope.may_tell_routed_team(team) {
        return Ok(findings);
    }
    let (tlp, owner) = (telescope.tlp, telescope.owner.as_deref());
    for alert in store.alerts(&AlertQuery {
        range,
        team: Some(team.to_owned()),
        ..AlertQuery::default()
    })? {
        let sources = store.alert_sources(&alert, Some(team))?;
        if sources.is_empty() {
            continue;
        }
        findings.push(Finding::from_alert(&alert, tlp, owner));
        for source in &sources {
            findings.push(Finding::from_alert_source(&alert, source, tlp, owner));
        }
    }
    Ok(findings)
}
