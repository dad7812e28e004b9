//! Cross-border cases: commits, refusals, listings and the visibility rule.

use firewatch_core::TlpLevel;
use firewatch_core::access::team_may_read;
use firewatch_store::cases::{
    CaseQuery, CaseRecord, StoredCase, StoredCaseEntry, StoredLink, StoredObservable, StoredParty,
    StoredTask,
};
use firewatch_store::{CaseStore, StoreError};

fn entry(seq: u64, kind: &str) -> StoredCaseEntry {
    StoredCaseEntry {
        seq,
        at: 100 + seq as i64,
        recorded_at: 200 + seq as i64,
        actor: seq.is_multiple_of(2).then(|| "ana".to_owned()),
        kind: kind.into(),
        // Spacing and key order as the model wrote them: read back byte for byte.
        doc: format!(r#"{{"kind" : "{kind}",  "b":1, "a":[2, 3]}}"#),
    }
}

/// A case coordinated by `coordinator` with these parties (the store does not require the
/// coordinator to be one), one link and an observable per party but the first.
fn record(tlp: &str, coordinator: &str, parties: &[&str]) -> CaseRecord {
    CaseRecord {
        case: StoredCase {
            id: 0,
            title: "spike".into(),
            summary: String::new(),
            severity: "medium".into(),
            tlp: tlp.into(),
            pap: "amber".into(),
            status: "new".into(),
            determination: None,
            coordinator: coordinator.into(),
            opened_at: 100,
            updated_at: 100,
            closed_at: None,
        },
        parties: parties
            .iter()
            .enumerate()
            .map(|(i, t)| StoredParty {
                team: (*t).into(),
                role: if i == 0 { "coordinator" } else { "affected" }.into(),
                status: "invited".into(),
                since: 100,
            })
            .collect(),
        tasks: Vec::new(),
        links: vec![StoredLink {
            kind: "alert".into(),
            key: "tcp-23-spike-1".into(),
            team: None,
        }],
        observables: parties
            .iter()
            .skip(1)
            .map(|t| StoredObservable {
                kind: "address".into(),
                value: format!("192.0.2.{}", t.len()),
                team: Some((*t).into()),
            })
            .collect(),
        timeline: vec![entry(1, "opened")],
    }
}

fn refused<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::InvalidQuery(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A case round-trips whole; each change appends to its timeline and replaces its rows; a
/// commit that does not continue the stored timeline, or is malformed, is refused and
/// changes nothing (not even the next case number).
pub fn commits<S: CaseStore + ?Sized>(s: &mut S) {
    assert_eq!(s.case(1).unwrap(), None);
    let mut r = record("amber", "coord", &["coord", "a", "bb"]);
    // A new case comes with its whole timeline, numbered from 1.
    r.timeline.push(entry(2, "comment"));
    refused(s.commit_case(&r, 1));
    refused(s.commit_case(&r, 0));
    refused(s.commit_case(&r, 3));
    r.timeline[1].seq = 3;
    refused(s.commit_case(&r, 2));
    r.timeline[1].seq = 2;
    r.timeline[1].doc = "{not json".into();
    assert!(s.commit_case(&r, 2).is_err(), "a timeline entry is JSON");
    r.timeline.pop();
    assert!(s.cases(&CaseQuery::default()).unwrap().is_empty());

    let id = s.commit_case(&r, 1).unwrap();
    assert_eq!(id, 1, "refused commits used no number");
    r.case.id = id;
    assert_eq!(s.case(id).unwrap().unwrap(), r);

    // A change: more rows of every kind, replacing the old ones; duplicate links and
    // observables are kept once, at their first place.
    r.timeline.push(entry(2, "comment"));
    r.timeline.push(entry(3, "task"));
    r.case.updated_at = 103;
    r.case.status = "closed".into();
    r.case.determination = Some("confirmed".into());
    r.case.closed_at = Some(103);
    r.case.summary = "Mirai-like scanning, ünïcode".into();
    r.parties[1].status = "acknowledged".into();
    r.parties[1].since = 102;
    r.parties.push(StoredParty {
        team: "ccc".into(),
        role: "observer".into(),
        status: "seen".into(),
        since: 103,
    });
    r.tasks = vec![
        StoredTask {
            task: 2,
            team: "bb".into(),
            title: "block".into(),
            status: "pending".into(),
            due: None,
            updated_at: 103,
        },
        StoredTask {
            task: 1,
            team: "a".into(),
            title: "clean".into(),
            status: "done".into(),
            due: Some(500),
            updated_at: 102,
        },
    ];
    let link = |kind: &str, key: &str, team: Option<&str>| StoredLink {
        kind: kind.into(),
        key: key.into(),
        team: team.map(String::from),
    };
    r.links = vec![
        link("event", "42", Some("a")),
        link("alert", "tcp-23-spike-1", None),
        link("event", "42", Some("a")),
        link("event", "42", None),
        link("attack", "192.0.2.9@1", Some("bb")),
    ];
    r.observables.insert(
        0,
        StoredObservable {
            kind: "domain".into(),
            value: "example.org".into(),
            team: None,
        },
    );
    r.observables.push(r.observables[1].clone());
    let id2 = s.commit_case(&r, 2).unwrap();
    assert_eq!(id2, id);
    let mut stored = s.case(id).unwrap().unwrap();
    let mut expected = r.clone();
    expected.tasks.sort_by_key(|t| t.task);
    expected.links.remove(2);
    expected.observables.pop();
    assert_eq!(stored, expected);

    // The same change again, or one made on an older timeline, or on no case: refused.
    let m = refused(s.commit_case(&r, 1));
    assert!(m.contains("meanwhile"), "{m}");
    let mut stale = r.clone();
    stale.timeline.truncate(2);
    refused(s.commit_case(&stale, 1));
    let mut ghost = r.clone();
    ghost.case.id = 99;
    refused(s.commit_case(&ghost, 1));
    let mut misnumbered = r.clone();
    misnumbered.timeline.push(entry(5, "comment"));
    refused(s.commit_case(&misnumbered, 1));
    assert_eq!(s.case(id).unwrap().unwrap(), expected, "unchanged");
    assert_eq!(s.case(99).unwrap(), None);

    // A second case; the links of both.
    let mut other = record("red", "a", &["a", "dd"]);
    other.links.push(link("event", "42", None));
    let id3 = s.commit_case(&other, 1).unwrap();
    assert_eq!(id3, 2);
    assert_eq!(
        s.cases_linking("alert", "tcp-23-spike-1").unwrap(),
        [id, id3]
    );
    assert_eq!(
        s.cases_linking("event", "42").unwrap(),
        [id, id3],
        "once per case"
    );
    assert!(s.cases_linking("event", "43").unwrap().is_empty());
    assert!(s.cases_linking("alert", "42").unwrap().is_empty());

    // Parties of cases, in the order asked and each case's in its order.
    stored = s.case(id).unwrap().unwrap();
    let parties = s.case_parties(&[id3, 77, id, id3]).unwrap();
    let mut expected_parties: Vec<(u64, StoredParty)> = Vec::new();
    for (case, ps) in [
        (id3, &other.parties),
        (id, &stored.parties),
        (id3, &other.parties),
    ] {
        expected_parties.extend(ps.iter().map(|p| (case, p.clone())));
    }
    assert_eq!(parties, expected_parties);
    assert!(s.case_parties(&[]).unwrap().is_empty());
}

/// The listing's visibility equals core's rule (the coordinator as owner, the parties as
/// recipients) or-ed with being a party, for every TLP x party, coordinator (a party or not)
/// and outsider; and status, limit and order agree.
pub fn visibility<S: CaseStore + ?Sized>(s: &mut S) {
    let parties = ["coord", "a", "bb"];
    let lone_parties = ["a", "bb"];
    // (tlp as stored, the level core reads from it, coordinator, parties)
    let mut made: Vec<(String, Option<TlpLevel>, &str, &[&str])> = Vec::new();
    for level in TlpLevel::ALL {
        made.push((level.as_str().into(), Some(level), "coord", &parties));
        // A coordinator that is not a party: only the owner branch lets it read.
        made.push((level.as_str().into(), Some(level), "lone", &lone_parties));
    }
    // A TLP the store does not know reads as RED.
    made.push(("purple".into(), None, "coord", &parties));
    let mut ids = Vec::new();
    for (tlp, _, coordinator, ps) in &made {
        ids.push(s.commit_case(&record(tlp, coordinator, ps), 1).unwrap());
    }
    assert_eq!(ids, (1..=made.len() as u64).collect::<Vec<_>>());
    for team in ["coord", "lone", "a", "bb", "outsider"] {
        let seen: Vec<u64> = s
            .cases(&CaseQuery {
                visible_to: Some(team.into()),
                ..CaseQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let expected: Vec<u64> = made
            .iter()
            .zip(&ids)
            .rev()
            .filter(|((_, level, coordinator, ps), _)| {
                ps.contains(&team)
                    || team_may_read(Some(team), *level, Some(*coordinator), None, ps)
            })
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(seen, expected, "{team}");
    }
    let all = s.cases(&CaseQuery::default()).unwrap();
    assert_eq!(
        all.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    // Close case 3 (GREEN, coordinated by "coord").
    let mut closing = s.case(3).unwrap().unwrap();
    assert_eq!(closing.case.tlp, "green");
    closing.case.status = "closed".into();
    closing.timeline.push(entry(2, "closed"));
    s.commit_case(&closing, 1).unwrap();
    let new = s
        .cases(&CaseQuery {
            status: Some("new".into()),
            limit: Some(2),
            ..CaseQuery::default()
        })
        .unwrap();
    assert_eq!(
        new.iter().map(|c| c.id).collect::<Vec<_>>(),
        [11, 10],
        "newest first"
    );
    let closed = |team: &str| {
        s.cases(&CaseQuery {
            visible_to: Some(team.into()),
            status: Some("closed".into()),
            limit: None,
        })
        .unwrap()
    };
    assert_eq!(closed("outsider").len(), 1, "GREEN: every team");
    assert_eq!(closed("outsider")[0], closing.case);
    let none = s
        .cases(&CaseQuery {
            visible_to: Some("outsider".into()),
            status: Some("in-progress".into()),
            limit: Some(5),
        })
        .unwrap();
    assert!(none.is_empty());
    assert!(
        s.cases(&CaseQuery {
            limit: Some(0),
            ..CaseQuery::default()
        })
        .unwrap()
        .is_empty()
    );
}

on_both!(cases_commits, crate::accounts::cases::commits);
on_both!(cases_visibility, crate::accounts::cases::visibility);
