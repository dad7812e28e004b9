//! The notification outbox.

use std::collections::HashSet;

use firewatch_store::OutboxStore;
use firewatch_store::outbox::{NewNotice, OutboxEntry, OutboxState, WithheldRecord};

fn notice(id: &str, items: &[&str], slot: Option<&str>) -> NewNotice {
    NewNotice {
        id: id.into(),
        team: "t".into(),
        channel: "email".into(),
        slot: slot.map(String::from),
        recipients: vec!["a@example.org".into(), "b@example.org".into()],
        subject: "[TLP:GREEN] 2 events".into(),
        tlp: "TLP:GREEN".into(),
        payload: vec![0, 1, 2, 255],
        items: items.iter().map(|s| s.to_string()).collect(),
        created_at: 100,
    }
}

fn ids(entries: &[OutboxEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// A record goes into one notice per team and channel, a slot holds one notice, and a
/// notice is recorded as given.
pub fn enqueue_claims<S: OutboxStore + ?Sized>(s: &mut S) {
    assert!(s.notices(None).unwrap().is_empty());
    let a = notice("a", &["event:1", "event:2"], None);
    assert!(s.enqueue(&a).unwrap());
    assert!(!s.enqueue(&a).unwrap(), "the same notice is queued once");
    assert!(
        !s.enqueue(&notice("b", &["event:2", "event:3"], None))
            .unwrap(),
        "event:2 was given to t on email already"
    );
    assert!(s.enqueue(&notice("c", &["event:3"], None)).unwrap());
    let mut other = notice("d", &["event:1"], None);
    other.channel = "webhook".into();
    assert!(
        s.enqueue(&other).unwrap(),
        "another channel, another delivery"
    );
    let mut elsewhere = notice("e", &["event:1"], None);
    elsewhere.team = "u".into();
    elsewhere.recipients = Vec::new();
    elsewhere.payload = Vec::new();
    assert!(s.enqueue(&elsewhere).unwrap(), "another team");
    // A notice that lists a record twice is not recorded, on either backend.
    assert!(
        s.enqueue(&notice("f", &["event:7", "event:7"], None))
            .is_err()
    );
    assert!(
        !s.enqueue(&notice("f", &["event:1", "event:1"], None))
            .unwrap()
    );

    let items = |s: &S, team, channel| s.notified_items(team, channel).unwrap();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    assert_eq!(
        items(s, "t", "email"),
        set(&["event:1", "event:2", "event:3"])
    );
    assert_eq!(items(s, "t", "webhook"), set(&["event:1"]));
    assert!(items(s, "nobody", "email").is_empty());

    let all = s.notices(None).unwrap();
    assert_eq!(ids(&all), ["a", "c", "d", "e"], "oldest first, then by id");
    let got = &all[0];
    assert_eq!(
        (got.team.as_str(), got.channel.as_str(), got.slot.as_deref()),
        ("t", "email", None)
    );
    assert_eq!(got.recipients, a.recipients);
    assert_eq!(
        (got.subject.as_str(), got.tlp.as_str()),
        (a.subject.as_str(), "TLP:GREEN")
    );
    assert_eq!(got.payload, a.payload);
    assert_eq!(
        (got.items, got.created_at, got.state),
        (2, 100, OutboxState::Queued)
    );
    assert_eq!((got.attempts, got.next_attempt_ms), (0, 100_000));
    assert_eq!((got.last_error.clone(), got.sent_at), (None, None));
    let empty = &all[3];
    assert!(empty.recipients.is_empty() && empty.payload.is_empty());

    // Slots: one notice per team, channel and slot; notices without a slot never clash.
    assert!(
        s.enqueue(&notice("s1", &["event:10"], Some("digest:2026-11-23")))
            .unwrap()
    );
    assert!(s.slot_taken("t", "email", "digest:2026-11-23").unwrap());
    assert!(!s.slot_taken("t", "webhook", "digest:2026-11-23").unwrap());
    assert!(!s.slot_taken("t", "email", "digest:2026-11-24").unwrap());
    assert!(
        !s.enqueue(&notice("s2", &["event:11"], Some("digest:2026-11-23")))
            .unwrap()
    );
    assert!(
        !items(s, "t", "email").contains("event:11"),
        "a refused notice claims nothing"
    );
    assert!(
        s.enqueue(&notice("s3", &["event:11"], Some("digest:2026-11-24")))
            .unwrap()
    );

    let mut late = notice("z", &["event:20"], None);
    late.created_at = 200;
    assert!(s.enqueue(&late).unwrap());
    assert_eq!(s.notices_since("t", "email", 100).unwrap(), 5);
    assert_eq!(s.notices_since("t", "email", 101).unwrap(), 1);
    assert_eq!(s.notices_since("t", "webhook", 0).unwrap(), 1);
    assert_eq!(s.notices_since("t", "email", 201).unwrap(), 0);
}

/// Failures retry, then fail, and can be queued again; a sent notice is due no more; an
/// unknown notice is refused.
pub fn delivery_states<S: OutboxStore + ?Sized>(s: &mut S) {
    for (id, created) in [("b", 100), ("a", 100), ("c", 50)] {
        let mut n = notice(id, &[], None);
        n.items = vec![format!("event:{id}")];
        n.created_at = created;
        assert!(s.enqueue(&n).unwrap());
    }
    // Due by next attempt, then age, then id.
    assert_eq!(ids(&s.due_notices(i64::MAX).unwrap()), ["c", "a", "b"]);
    assert_eq!(ids(&s.due_notices(99_999).unwrap()), ["c"]);
    s.mark_attempt_failed("a", "connection refused", Some(500_000))
        .unwrap();
    assert_eq!(ids(&s.due_notices(499_999).unwrap()), ["c", "b"]);
    let due = s.due_notices(500_000).unwrap();
    assert_eq!(ids(&due), ["c", "b", "a"]);
    assert_eq!(due[2].attempts, 1);
    assert_eq!(due[2].last_error.as_deref(), Some("connection refused"));
    assert_eq!(due[2].state, OutboxState::Queued);
    s.mark_attempt_failed("a", "550 no such user", None)
        .unwrap();
    let failed = s.notices(Some(OutboxState::Failed)).unwrap();
    assert_eq!(ids(&failed), ["a"]);
    assert_eq!(
        (failed[0].attempts, failed[0].next_attempt_ms),
        (2, 500_000),
        "a final failure keeps the last due time"
    );
    assert_eq!(failed[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(ids(&s.due_notices(i64::MAX).unwrap()), ["c", "b"]);
    assert_eq!(
        ids(&s.notices(Some(OutboxState::Queued)).unwrap()),
        ["c", "b"]
    );
    assert_eq!(s.requeue_failed(7).unwrap(), 1);
    assert_eq!(s.requeue_failed(7).unwrap(), 0);
    let due = s.due_notices(7).unwrap();
    assert_eq!(ids(&due), ["a"]);
    assert_eq!((due[0].attempts, due[0].next_attempt_ms), (0, 7));
    s.mark_sent("a", 9).unwrap();
    let sent = s.notices(Some(OutboxState::Sent)).unwrap();
    assert_eq!(
        (
            sent[0].state,
            sent[0].sent_at,
            sent[0].last_error.clone(),
            sent[0].attempts
        ),
        (OutboxState::Sent, Some(9), None, 1)
    );
    assert_eq!(ids(&s.due_notices(i64::MAX).unwrap()), ["c", "b"]);
    assert!(s.mark_sent("zz", 9).is_err());
    assert!(s.mark_attempt_failed("zz", "x", None).is_err());
    assert!(s.mark_attempt_failed("zz", "x", Some(1)).is_err());
    assert_eq!(ids(&s.notices(None).unwrap()), ["c", "a", "b"]);
}

/// A withheld record is kept once per team and item (the first), listed by team then item.
pub fn withheld_once<S: OutboxStore + ?Sized>(s: &mut S) {
    assert!(s.withheld().unwrap().is_empty());
    let w = |team: &str, item: &str, at| WithheldRecord {
        team: team.into(),
        item: item.into(),
        tlp: "TLP:AMBER".into(),
        max_tlp: "TLP:GREEN".into(),
        at,
    };
    s.record_withheld(&w("t", "event:2", 5)).unwrap();
    s.record_withheld(&w("t", "event:2", 6)).unwrap();
    s.record_withheld(&w("t", "Event:3", 7)).unwrap();
    s.record_withheld(&w("T", "event:1", 8)).unwrap();
    assert_eq!(
        s.withheld().unwrap(),
        vec![
            w("T", "event:1", 8),
            w("t", "Event:3", 7),
            w("t", "event:2", 5)
        ]
    );
}

on_both!(
    outbox_enqueue_claims,
    crate::accounts::outbox::enqueue_claims
);
on_both!(
    outbox_delivery_states,
    crate::accounts::outbox::delivery_states
);
on_both!(outbox_withheld_once, crate::accounts::outbox::withheld_once);
