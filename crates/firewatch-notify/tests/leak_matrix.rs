//! Issue 22: the leak matrix of notices. Every TLP level × owner × RED recipients of a record
//! routed to team T, for every cap T may have: the records T's notice names, and the ones it is
//! told were held back. The expectations are written out from TLP 2.0 as Firewatch applies it,
//! not computed with the access rule they test.

use firewatch_core::Event;
use firewatch_enrich::directory::Directory;
use firewatch_notify::openpgp::SenderKey;
use firewatch_notify::{NotifyConfig, Planner};
use firewatch_store::{DedupeRule, EventStore, FeedInput, SqliteStore};
use std::collections::BTreeSet;

const LEVELS: [&str; 5] = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];
const OWNERS: [Option<&str>; 3] = [None, Some("team-t"), Some("team-o")];
const RECIPIENTS: [&[&str]; 3] = [&[], &["team-t"], &["team-o"]];

/// Whether team T may read a record routed to it, from the rule's text.
fn t_may_read(level: &str, owner: Option<&str>, recipients: &[&str]) -> bool {
    match level {
        "CLEAR" | "GREEN" => true,
        // The owner's team or the team it was routed to (always T here).
        "AMBER" => true,
        "AMBER+STRICT" => owner == Some("team-t"),
        "RED" => recipients.contains(&"team-t"),
        _ => unreachable!(),
    }
}

fn sender_key() -> SenderKey {
    // The webhook path needs no gpg: a key made in memory only has to sign.
    SenderKey::throwaway("Sender CERT <cert@sender.example>").unwrap()
}

#[test]
fn issue_22_every_level_owner_recipients_and_cap_gives_exactly_the_notices_the_rule_allows() {
    // SAFETY: set before any thread reads the environment in this test binary.
    unsafe { std::env::set_var("TEAM_T_HOOK_SECRET", "matrix secret") };
    let cfg = NotifyConfig::from_toml_str(
        r#"
[notify]
sender_team = "sender-cert"
from = "cert@sender.example"
signing_key = "unused.asc"
[[notify.teams]]
team = "team-t"
email = []
events_schedule = "immediate"
webhook = { url = "http://127.0.0.1:9/", secret_env = "TEAM_T_HOOK_SECRET" }
"#,
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&work.path().join("s.db")).unwrap();
    let now = jiff::Timestamp::now().as_second();
    // One record per cell, each with its own address; all routed to team T.
    let mut cells = Vec::new();
    let mut events = Vec::new();
    for (l, level) in LEVELS.iter().enumerate() {
        for (o, owner) in OWNERS.iter().enumerate() {
            for (r, recipients) in RECIPIENTS.iter().enumerate() {
                let ip = format!("198.51.{}.{}", 100 + l, o * 10 + r + 1);
                let mut e = Event::new();
                e.set("classification.type", "vulnerable-system").unwrap();
                e.set("source.ip", ip.as_str()).unwrap();
                e.set("tlp", *level).unwrap();
                e.set("extra.team", "team-t").unwrap();
                if let Some(owner) = owner {
                    e.set("extra.owner", *owner).unwrap();
                }
                if !recipients.is_empty() {
                    e.set("extra.recipients", serde_json::json!(recipients))
                        .unwrap();
                }
                e.set(
                    "time.source",
                    jiff::Timestamp::from_second(now - 60).unwrap().to_string(),
                )
                .unwrap();
                events.push(e);
                cells.push((ip, *level, *owner, *recipients));
            }
        }
    }
    store
        .commit_events(
            &FeedInput {
                content_hash: "matrix".into(),
                ingested_at: now,
                ..Default::default()
            },
            &events,
            &DedupeRule::default(),
        )
        .unwrap();
    let sender = sender_key();

    let mut checked = 0;
    for (cap_index, cap) in ["clear", "green", "amber", "amber+strict", "red"]
        .iter()
        .enumerate()
    {
        let dir = Directory::from_toml_str(
            &format!(
                r#"
[[teams]]
id = "sender-cert"
name = "Sender"
kind = "national-csirt"
max_tlp = "red"

[[teams]]
id = "team-t"
name = "Team T"
kind = "soc"
max_tlp = "{cap}"

[[teams]]
id = "team-o"
name = "Team O"
kind = "soc"
max_tlp = "red"
"#
            ),
            "dir",
        )
        .unwrap();
        let plan = Planner {
            cfg: &cfg,
            directory: &dir,
            sender: &sender,
            telescope: &Default::default(),
            now,
        }
        .plan(&store)
        .unwrap();
        assert!(plan.deferred.is_empty(), "{:?}", plan.deferred);
        let sent: String = plan
            .notices
            .iter()
            .map(|n| String::from_utf8_lossy(&n.notice.payload).into_owned())
            .collect();
        let mut expected_held = Vec::new();
        for (ip, level, owner, recipients) in &cells {
            let readable = t_may_read(level, *owner, recipients);
            let level_index = LEVELS.iter().position(|l| l == level).unwrap();
            let within_cap = level_index <= cap_index;
            let named = sent.contains(&format!("\"{ip}\""));
            assert_eq!(
                named,
                readable && within_cap,
                "cap {cap}: {level} owner {owner:?} recipients {recipients:?} ({ip})"
            );
            if readable && !within_cap {
                expected_held.push(format!("TLP:{level}"));
            }
            checked += 1;
        }
        let mut held: Vec<String> = plan.withheld.iter().map(|w| w.tlp.clone()).collect();
        held.sort();
        expected_held.sort();
        assert_eq!(held, expected_held, "cap {cap}: held back");
        // No notice names a record another team's rule keeps from T.
        let named_hidden: BTreeSet<&str> = cells
            .iter()
            .filter(|(_, l, o, r)| !t_may_read(l, *o, r))
            .map(|(ip, ..)| ip.as_str())
            .filter(|ip| sent.contains(&format!("\"{ip}\"")))
            .collect();
        assert!(named_hidden.is_empty(), "cap {cap}: {named_hidden:?}");
    }
    assert_eq!(checked, 5 * 5 * 3 * 3);
}
