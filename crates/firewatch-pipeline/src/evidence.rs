//! What Firewatch measures itself of a country's cyber defence services, to show beside the
//! self-assessed X.1060 scores (issue 21, item 4; the definitions are in docs/x1060.md):
//!
//! - **D, incident response**: the notices the outbox holds for the country's directory teams
//!   (a team is the country's when the directory gives it that country): how many, in which
//!   state, and for the sent ones the time from the notice's record in the outbox
//!   (`created_at`, when Firewatch had the notice ready) to its delivery (`sent_at`), as the
//!   median and the 90th percentile (nearest rank); and the teams as parties to cases: how
//!   many acknowledged and finished, and their times to acknowledge and to done from the case
//!   timelines (median and 90th percentile).
//! - **B, real-time analysis**: the telescope's coverage: the captures ingested, the time they
//!   span (first to last packet of those that record it), the age of the newest data, and the
//!   telescope sources and port alerts attributed to the country.
//! - **I, external relations**: the country's directory teams, their memberships (FIRST,
//!   TF-CSIRT, ...) and how many contacts each has (24/7 ones apart).
//!
//! Communication checks (issue 20) do not exist yet: they are listed in
//! [`Evidence::not_measured`], plainly, not guessed.
//!
//! Everything is counted from the store with its ordinary queries, so a test can count the
//! same records itself and compare.

use anyhow::Result;
use firewatch_enrich::directory::Team;
use firewatch_store::cases::CaseQuery;
use firewatch_store::outbox::OutboxState;
use firewatch_store::{AlertQuery, Backend, SourceQuery};
use serde::Serialize;
use std::collections::BTreeMap;

/// The X.1060 categories Firewatch measures something of.
pub const MEASURED_CATEGORIES: [char; 3] = ['B', 'D', 'I'];

/// What Firewatch measured of one country.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The country (ISO 3166 alpha-2, upper case).
    pub country: String,
    /// When it was measured, Unix seconds (ages are counted to it).
    pub measured_at: i64,
    /// D: notices to the country's teams.
    pub incident_response: NoticeEvidence,
    /// D: how the country's teams answered as parties to cases.
    pub cases: CaseEvidence,
    /// B: the telescope's coverage and what it attributes to the country.
    pub real_time_analysis: TelescopeEvidence,
    /// I: the country's teams, memberships and contacts.
    pub external_relations: RelationsEvidence,
    /// What belongs here but is not measured yet, and why.
    pub not_measured: Vec<NotMeasured>,
}

/// D: the outbox's notices to the country's teams.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeEvidence {
    /// Notices recorded for the country's teams, in any state.
    pub notices: u64,
    /// Of which delivered.
    pub sent: u64,
    /// Of which still waiting (first attempt or a retry).
    pub queued: u64,
    /// Of which every attempt failed.
    pub failed: u64,
    /// Median seconds from a sent notice's record to its delivery.
    pub median_secs: Option<f64>,
    /// 90th percentile (nearest rank) of the same.
    pub p90_secs: Option<f64>,
}

/// D: the country's teams as parties to cases, their times from the case timelines
/// (`firewatch_cases::party_figures`: from first told, else added, to first acknowledged, and
/// to done).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseEvidence {
    /// Cases with at least one of the country's teams as a party.
    pub cases: u64,
    /// Parties that are the country's teams (one per team and case).
    pub parties: u64,
    /// Of which acknowledged (or acting, or done).
    pub acknowledged: u64,
    /// Of which done.
    pub resolved: u64,
    /// Median and 90th percentile (nearest rank) seconds to acknowledge.
    pub acknowledge_median_secs: Option<f64>,
    pub acknowledge_p90_secs: Option<f64>,
    /// Median and 90th percentile seconds to done.
    pub resolve_median_secs: Option<f64>,
    pub resolve_p90_secs: Option<f64>,
}

/// B: the telescope's coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelescopeEvidence {
    /// Captures ingested (the whole telescope's, not the country's: it watches one space).
    pub captures: u64,
    /// IP packets in them.
    pub packets: u64,
    /// The first packet of the captures that record it, Unix seconds.
    pub first_packet: Option<i64>,
    /// The last packet, Unix seconds.
    pub last_packet: Option<i64>,
    /// Seconds from the first to the last packet.
    pub span_secs: Option<i64>,
    /// Seconds from the newest data (the last packet, else the last ingest) to `measured_at`.
    pub last_data_age_secs: Option<i64>,
    /// Telescope sources registered in the country.
    pub sources: u64,
    /// Port alerts with sources in the country.
    pub alerts: u64,
}

/// I: the country's teams.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelationsEvidence {
    /// The directory's teams of the country, in directory order.
    pub teams: Vec<TeamRelations>,
    /// Each membership and how many of the country's teams hold it.
    pub memberships: BTreeMap<String, u64>,
    /// Contacts of all the country's teams.
    pub contacts: u64,
}

/// One team's relations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamRelations {
    /// The directory id.
    pub id: String,
    /// The team's name.
    pub name: String,
    /// The directory's team kind (`national-csirt`, ...).
    pub kind: String,
    /// Its memberships.
    pub memberships: Vec<String>,
    /// How many contacts the directory has for it.
    pub contacts: u64,
    /// Of which reachable around the clock.
    pub contacts_24_7: u64,
}

/// Something that would be measured, that is not yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotMeasured {
    /// The X.1060 category it belongs to.
    pub category: char,
    /// What.
    pub what: &'static str,
    /// Why not.
    pub why: &'static str,
}

/// What is not measured yet: communication checks do not exist in Firewatch.
pub const NOT_MEASURED: [NotMeasured; 1] = [NotMeasured {
    category: 'I',
    what: "communication check results",
    why: "not measured yet: Firewatch runs no communication checks (issue 20)",
}];

/// Whether `scope` is a country code (two ASCII letters); its upper-case form.
pub fn country_of(scope: &str) -> Option<String> {
    let scope = scope.trim();
    (scope.len() == 2 && scope.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| scope.to_ascii_uppercase())
}

/// The median of sorted values (the mean of the two middle ones for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The `p`th percentile of sorted values by nearest rank: the value at rank ⌈p/100 · n⌉.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Measures `country` (ISO 3166 alpha-2, any case) in the store at `now` (Unix seconds).
pub fn measure(store: &dyn Backend, country: &str, now: i64) -> Result<Evidence> {
    let country = country.trim().to_ascii_uppercase();
    let directory = crate::directory::stored_directory(store)?;
    let teams: Vec<_> = directory
        .teams
        .iter()
        .filter(|t| t.country.as_ref().is_some_and(|c| c.as_str() == country))
        .collect();

    // D: the outbox.
    let mut notices = NoticeEvidence {
        notices: 0,
        sent: 0,
        queued: 0,
        failed: 0,
        median_secs: None,
        p90_secs: None,
    };
    let mut latencies = Vec::new();
    for entry in store.notices(None)? {
        if !teams.iter().any(|t| t.id.as_str() == entry.team) {
            continue;
        }
        notices.notices += 1;
        match entry.state {
            OutboxState::Sent => notices.sent += 1,
            OutboxState::Queued => notices.queued += 1,
            OutboxState::Failed => notices.failed += 1,
        }
        if let (OutboxState::Sent, Some(sent)) = (entry.state, entry.sent_at) {
            latencies.push((sent - entry.created_at).max(0) as f64);
        }
    }
    latencies.sort_by(f64::total_cmp);
    notices.median_secs = median(&latencies);
    notices.p90_secs = percentile(&latencies, 90.0);

    // D: cases.
    let cases = case_evidence(store, &teams)?;

    // B: the telescope.
    let inputs = store.inputs()?;
    let first_ns = inputs.iter().filter_map(|i| i.first_ns).min();
    let last_ns = inputs.iter().filter_map(|i| i.last_ns).max();
    let secs = |ns: i64| ns.div_euclid(1_000_000_000);
    let newest = last_ns
        .map(secs)
        .or_else(|| inputs.iter().map(|i| i.ingested_at).max());
    let sources = store.sources(&SourceQuery {
        country: Some(country.clone()),
        ..Default::default()
    })?;
    let alerts = store.alerts(&AlertQuery {
        country: Some(country.clone()),
        ..Default::default()
    })?;
    let telescope = TelescopeEvidence {
        captures: inputs.len() as u64,
        packets: inputs.iter().map(|i| i.ip_packets).sum(),
        first_packet: first_ns.map(secs),
        last_packet: last_ns.map(secs),
        span_secs: first_ns.zip(last_ns).map(|(a, b)| secs(b) - secs(a)),
        last_data_age_secs: newest.map(|t| (now - t).max(0)),
        sources: sources.len() as u64,
        alerts: alerts.len() as u64,
    };

    // I: the directory.
    let mut memberships = BTreeMap::new();
    let relations: Vec<TeamRelations> = teams
        .iter()
        .map(|t| {
            for m in &t.memberships {
                *memberships.entry(m.clone()).or_insert(0) += 1;
            }
            TeamRelations {
                id: t.id.as_str().to_owned(),
                name: t.name.clone(),
                kind: t.kind.as_str().to_owned(),
                memberships: t.memberships.clone(),
                contacts: t.contacts.len() as u64,
                contacts_24_7: t.contacts.iter().filter(|c| c.available_24_7).count() as u64,
            }
        })
        .collect();
    let contacts = relations.iter().map(|t| t.contacts).sum();
    Ok(Evidence {
        country,
        measured_at: now,
        incident_response: notices,
        cases,
        real_time_analysis: telescope,
        external_relations: RelationsEvidence {
            teams: relations,
            memberships,
            contacts,
        },
        not_measured: NOT_MEASURED.to_vec(),
    })
}

/// The case figures of the parties that are one of `teams`.
fn case_evidence(store: &dyn Backend, teams: &[&Team]) -> Result<CaseEvidence> {
    let mine = |team: &str| teams.iter().any(|t| t.id.as_str() == team);
    let mut out = CaseEvidence {
        cases: 0,
        parties: 0,
        acknowledged: 0,
        resolved: 0,
        acknowledge_median_secs: None,
        acknowledge_p90_secs: None,
        resolve_median_secs: None,
        resolve_p90_secs: None,
    };
    let (mut to_ack, mut to_resolve) = (Vec::new(), Vec::new());
    for stored in store.cases(&CaseQuery::default())? {
        let Some(case) = firewatch_cases::stored::load(store, stored.id)? else {
            continue;
        };
        let figures: Vec<_> = firewatch_cases::party_figures(&case)
            .into_iter()
            .filter(|f| mine(&f.team))
            .collect();
        if figures.is_empty() {
            continue;
        }
        out.cases += 1;
        for f in figures {
            out.parties += 1;
            if let Some(secs) = f.time_to_acknowledge_secs {
                out.acknowledged += 1;
                to_ack.push(secs as f64);
            }
            if let Some(secs) = f.time_to_resolve_secs {
                out.resolved += 1;
                to_resolve.push(secs as f64);
            }
        }
    }
    to_ack.sort_by(f64::total_cmp);
    to_resolve.sort_by(f64::total_cmp);
    out.acknowledge_median_secs = median(&to_ack);
    out.acknowledge_p90_secs = percentile(&to_ack, 90.0);
    out.resolve_median_secs = median(&to_resolve);
    out.resolve_p90_secs = percentile(&to_resolve, 90.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_percentile() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[1.0, 2.0, 10.0, 20.0]), Some(6.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 90.0), Some(9.0));
        assert_eq!(percentile(&[5.0], 90.0), Some(5.0));
        let eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(percentile(&eleven, 90.0), Some(10.0));
        assert_eq!(country_of(" jp "), Some("JP".to_owned()));
        assert_eq!(country_of("ACME Corp"), None);
    }
}
