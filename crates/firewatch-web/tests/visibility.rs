//! The SQL visibility predicate on events equals `access::may_read`, on every combination of
//! TLP (and none) × owner × routed-to × recipients (including malformed ones) × viewer.

use firewatch_core::Event;
use firewatch_core::access::{Role, Viewer, may_read_event};
use firewatch_store::{DedupeRule, EventQuery, EventStore, FeedInput, SqliteStore};
use serde_json::json;
use std::collections::BTreeSet;

#[test]
fn sql_predicate_equals_may_read() {
    let tlps = [
        None,
        Some("CLEAR"),
        Some("GREEN"),
        Some("AMBER"),
        Some("AMBER+STRICT"),
        Some("RED"),
    ];
    let teams = [None, Some(json!("a")), Some(json!("b")), Some(json!(7))];
    let recipients = [
        None,
        Some(json!([])),
        Some(json!(["a"])),
        Some(json!(["b", "c"])),
        Some(json!("a")),
        Some(json!([7, "c"])),
        Some(json!({"a": 1})),
    ];
    let mut events = Vec::new();
    let mut n = 0u32;
    for tlp in tlps {
        for owner in &teams {
            for routed in &teams {
                for rec in &recipients {
                    let mut e = Event::new();
                    e.set(
                        "source.ip",
                        format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
                    )
                    .unwrap();
                    e.set("comment", n.to_string()).unwrap();
                    if let Some(t) = tlp {
                        e.set("tlp", t).unwrap();
                    }
                    if let Some(o) = owner {
                        e.set("extra.owner", o.clone()).unwrap();
                    }
                    if let Some(r) = routed {
                        e.set("extra.team", r.clone()).unwrap();
                    }
                    if let Some(r) = rec {
                        e.set("extra.recipients", r.clone()).unwrap();
                    }
                    events.push(e);
                    n += 1;
                }
            }
        }
    }
    let mut store = SqliteStore::open_in_memory().unwrap();
    let input = FeedInput {
        content_hash: "x".into(),
        ..Default::default()
    };
    let commit = store
        .commit_events(&input, &events, &DedupeRule::default())
        .unwrap();
    assert_eq!(commit.inserted as usize, events.len());
    let stored = store.events(&EventQuery::default()).unwrap();

    let mut viewers = vec![Viewer::Anonymous];
    for team in ["a", "b", "c", "7", "d"] {
        for role in Role::ALL {
            viewers.push(Viewer::User {
                name: "u".into(),
                team: team.into(),
                role,
            });
        }
    }
    let mut visible_somewhere = 0;
    for viewer in &viewers {
        let q = EventQuery {
            visibility: Some(viewer.event_visibility()),
            ..Default::default()
        };
        let by_sql: BTreeSet<i64> = store.events(&q).unwrap().iter().map(|e| e.id).collect();
        let by_rule: BTreeSet<i64> = stored
            .iter()
            .filter(|e| may_read_event(viewer, &e.event))
            .map(|e| e.id)
            .collect();
        assert_eq!(by_sql, by_rule, "{viewer:?}");
        assert_eq!(store.count_events(&q).unwrap() as usize, by_rule.len());
        // Paging (each page a merge of the rule's branches) walks the same set, in order.
        for newest_first in [false, true] {
            let mut walked = Vec::new();
            let mut page = EventQuery {
                limit: Some(7),
                newest_first,
                ..q.clone()
            };
            loop {
                let got = store.event_docs(&page).unwrap();
                walked.extend(got.iter().map(|d| (d.time, d.id)));
                match got.last() {
                    Some(last) if got.len() == 7 => page.after_id = Some(last.id),
                    _ => break,
                }
            }
            let mut sorted = walked.clone();
            sorted.sort_unstable();
            if newest_first {
                sorted.reverse();
            }
            assert_eq!(walked, sorted, "{viewer:?}: pages in order");
            let ids: BTreeSet<i64> = walked.iter().map(|(_, id)| *id).collect();
            assert_eq!(ids.len(), walked.len(), "{viewer:?}: no event twice");
            assert_eq!(
                ids, by_rule,
                "{viewer:?}: paging newest_first={newest_first}"
            );
        }
        visible_somewhere += by_rule.len();
    }
    // The comparison is not vacuous.
    assert!(visible_somewhere > 1000, "{visible_somewhere}");
}
