//! Issue 19, first part: cross-border cases from the command line. A case opened from an alert
//! has every team that owns part of it as a party with exactly its own sources (computed here
//! independently, from `alerts show --team`), and no team sees another's addresses; a party's
//! answers give its response times; the rules refuse what they should; the timeline only grows.

mod common;

use common::{Sandbox, example_teams};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The addresses among a case's (or a view's) observables, by the slice they are in.
fn addresses_by_slice(case: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut by = BTreeMap::new();
    for o in case["observables"].as_array().unwrap() {
        if o["kind"] == "address" {
            let slice = o["team"].as_str().unwrap_or("(whole case)").to_owned();
            by.entry(slice)
                .or_insert_with(BTreeSet::new)
                .insert(o["value"].as_str().unwrap().to_owned());
        }
    }
    by
}

fn strings(v: &Value, field: &str) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x[field].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_case_from_an_alert_gives_each_team_its_own_slice_and_no_other() {
    let sb = Sandbox::new();
    let db = "cases.db";
    sb.routed_telescope(db, 300_000, &[]);

    // The alert whose sources are routed to the most teams.
    let alerts = sb.json(db, &["alerts", "list"]);
    let (alert, teams) = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let id = a["id"].as_str().unwrap().to_owned();
            let shown = sb.json(db, &["alerts", "show", &id]);
            (id, strings(&shown["sources"], "team"))
        })
        .max_by_key(|(_, teams)| teams.len())
        .expect("the synthetic capture raises alerts");
    assert!(teams.len() >= 2, "{alert}: sources of {teams:?}");

    // Each team's own part, as `alerts show --team` (what its notice names) lists it.
    let expected: BTreeMap<String, BTreeSet<String>> = teams
        .iter()
        .map(|t| {
            let mine = sb.json(db, &["alerts", "show", &alert, "--team", t]);
            (t.clone(), strings(&mine["sources"], "addr"))
        })
        .collect();
    let directory = strings(&sb.json(db, &["teams", "list"]), "id");
    let outsiders: Vec<&String> = directory.iter().filter(|t| !teams.contains(*t)).collect();
    let coordinator = outsiders
        .first()
        .map_or_else(|| directory.first().unwrap().clone(), |t| (*t).clone());

    let case = sb.json(
        db,
        &[
            "cases",
            "open",
            "--from-alert",
            &alert,
            "--coordinator",
            &coordinator,
            "--tlp",
            "amber",
        ],
    );
    let id = case["id"].as_u64().unwrap().to_string();
    let parties: BTreeMap<String, String> = case["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["team"].as_str().unwrap().to_owned(),
                p["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let affected: BTreeSet<String> = parties
        .iter()
        .filter(|(_, role)| *role == "affected")
        .map(|(t, _)| t.clone())
        .collect();
    let owning: BTreeSet<String> = teams
        .iter()
        .filter(|t| **t != coordinator)
        .cloned()
        .collect();
    assert_eq!(
        affected, owning,
        "every team owning part of the alert, and no other"
    );
    assert_eq!(parties[&coordinator], "coordinator");
    assert_eq!(
        strings(&case["links"], "key"),
        BTreeSet::from([alert.clone()])
    );

    // Each party's observables are exactly its own sources, in the stored case too.
    let stored = sb.json(db, &["cases", "show", &id]);
    let slices = addresses_by_slice(&stored);
    for (team, addrs) in &expected {
        assert_eq!(slices.get(team), Some(addrs), "{team}'s slice");
    }
    assert!(
        !slices.contains_key("(whole case)"),
        "no address for everyone"
    );

    // A party sees its own addresses and no other team's, in the case and in its timeline.
    for team in &teams {
        let view = sb.json(db, &["cases", "show", &id, "--team", team]);
        let timeline = sb.json(db, &["cases", "timeline", &id, "--team", team]);
        let seen = addresses_by_slice(&view);
        assert_eq!(
            seen.keys().collect::<Vec<_>>(),
            [team],
            "{team} sees one slice"
        );
        let text = format!("{view}{timeline}");
        for (other, addrs) in expected.iter().filter(|(o, _)| *o != team) {
            for addr in addrs {
                assert!(
                    !text.contains(&format!("\"{addr}\"")),
                    "{team} sees {other}'s {addr}"
                );
            }
        }
    }

    // A team that is no party sees nothing of an AMBER case.
    if let Some(outsider) = outsiders.get(1) {
        let listed = sb.json(db, &["cases", "list", "--team", outsider]);
        assert!(listed.as_array().unwrap().is_empty(), "{listed}");
        let out = sb
            .cmd(db)
            .args(["cases", "show", &id, "--team", outsider])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("may not see"));
    }
    for team in &teams {
        let listed = sb.json(db, &["cases", "list", "--team", team]);
        assert_eq!(strings(&listed, "title").len(), 1, "{team} lists its case");
    }

    // The same alert twice is refused, saying where its case is.
    let again = sb
        .cmd(db)
        .args(["cases", "open", "--from-alert", &alert])
        .args(["--coordinator", &coordinator])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains(&format!("case #{id}")));
}

/// Times of a party's status changes, from the timeline (RFC 3339 in JSON).
fn status_times(timeline: &Value, team: &str) -> BTreeMap<String, i64> {
    let mut times = BTreeMap::new();
    for e in timeline.as_array().unwrap() {
        let c = &e["change"];
        if c["kind"] == "party-status" && c["team"] == team {
            let at: jiff::Timestamp = e["at"].as_str().unwrap().parse().unwrap();
            times
                .entry(c["status"].as_str().unwrap().to_owned())
                .or_insert(at.as_second());
        }
    }
    times
}

#[test]
fn answers_give_response_times_rules_refuse_and_the_timeline_only_grows() {
    let sb = Sandbox::new();
    let db = "by-hand.db";
    sb.cmd(db)
        .args(["teams", "import"])
        .arg(example_teams())
        .assert()
        .success();
    let mut timelines: Vec<Value> = Vec::new();
    let mut run = |args: &[&str], ok: bool| -> String {
        let out = sb.cmd(db).args(args).output().unwrap();
        assert_eq!(
            out.status.success(),
            ok,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        timelines.push(sb.json(db, &["cases", "timeline", "1"]));
        String::from_utf8_lossy(if ok { &out.stdout } else { &out.stderr }).into_owned()
    };
    let jp = "jp-example-cert";
    // When each answer came, as a party's report gives it (`--at`), an hour ago and after.
    let now = jiff::Timestamp::now().as_second();
    let at = |secs_after: i64| (now - 3600 + secs_after).to_string();
    run(
        &[
            "cases",
            "open",
            "--title",
            "Defacements of .example sites",
            "--coordinator",
            "oic-example-coord",
            "--at",
            &at(-60),
        ],
        true,
    );
    run(
        &[
            "cases",
            "party",
            "1",
            jp,
            "--role",
            "affected",
            "--at",
            &at(-30),
        ],
        true,
    );
    let unknown = run(
        &["cases", "party", "1", "no-such-team", "--role", "observer"],
        false,
    );
    assert!(unknown.contains("not in the team directory"), "{unknown}");
    run(
        &[
            "cases",
            "observe",
            "1",
            "address",
            "192.0.2.7",
            "--team",
            jp,
        ],
        true,
    );
    run(
        &[
            "cases",
            "party",
            "1",
            jp,
            "--status",
            "notified",
            "--at",
            &at(0),
        ],
        true,
    );
    let said = run(
        &[
            "cases",
            "party",
            "1",
            jp,
            "--status",
            "acknowledged",
            "--at",
            &at(90),
        ],
        true,
    );
    assert!(said.contains("time to acknowledge"), "{said}");
    let back = run(&["cases", "party", "1", jp, "--status", "seen"], false);
    assert!(back.contains("moves forward"), "{back}");
    run(
        &[
            "cases",
            "task",
            "add",
            "1",
            jp,
            "Take the pages down",
            "--due",
            "+2d",
        ],
        true,
    );
    run(
        &["cases", "task", "set", "1", "1", "--status", "done"],
        true,
    );
    run(
        &[
            "cases",
            "party",
            "1",
            jp,
            "--status",
            "done",
            "--at",
            &at(600),
        ],
        true,
    );

    // Figures: from the timeline's own times, independently.
    let case = sb.json(db, &["cases", "show", "1"]);
    assert_eq!(
        case["status"], "in-progress",
        "an acknowledgement starts the case"
    );
    let timeline = sb.json(db, &["cases", "timeline", "1"]);
    let t = status_times(&timeline, jp);
    let figures = case["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["team"] == jp)
        .unwrap();
    let tta = t["acknowledged"] - t["notified"];
    let ttr = t["done"] - t["notified"];
    assert_eq!((tta, ttr), (90, 600), "{t:?}");
    assert_eq!(figures["time_to_acknowledge_secs"], tta);
    assert_eq!(figures["time_to_resolve_secs"], ttr);

    // The same times, as X.1060's measured evidence for Japan (D, issue 21).
    sb.cmd(db)
        .args(["assess", "import"])
        .arg(common::shared_data().join("x1060/jp.csv"))
        .args(["--scope", "JP"])
        .assert()
        .success();
    let shown = sb.json(db, &["assess", "show", "JP", "--evidence"]);
    let cases = &shown["evidence"]["cases"];
    assert_eq!(cases["cases"], 1, "{cases}");
    assert_eq!(cases["parties"], 1, "{cases}");
    assert_eq!(cases["acknowledged"], 1, "{cases}");
    assert_eq!(cases["resolved"], 1, "{cases}");
    assert_eq!(cases["acknowledge_median_secs"], tta as f64, "{cases}");
    assert_eq!(cases["resolve_median_secs"], ttr as f64, "{cases}");

    // Closing needs a determination; a closed case takes only comments and reopen.
    let refused = run(&["cases", "close", "1"], false);
    assert!(refused.contains("determination"), "{refused}");
    assert_eq!(
        sb.json(db, &["cases", "show", "1"])["status"],
        "in-progress"
    );
    run(&["cases", "close", "1", "--determination", "blocked"], true);
    let closed = run(&["cases", "task", "add", "1", jp, "More"], false);
    assert!(closed.contains("closed"), "{closed}");
    run(&["cases", "comment", "1", "thanks", "--by", jp], true);
    run(&["cases", "reopen", "1", "--reason", "back again"], true);
    let listed = sb.json(db, &["cases", "list", "--status", "in-progress"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Append-only and complete: each timeline read is the one before plus what was done.
    for pair in timelines.windows(2) {
        let (before, after) = (pair[0].as_array().unwrap(), pair[1].as_array().unwrap());
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "nothing changed behind"
        );
    }
    let last = timelines.last().unwrap().as_array().unwrap();
    let seqs: Vec<u64> = last.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=last.len() as u64).collect::<Vec<_>>());
    let kinds: Vec<&str> = last
        .iter()
        .map(|e| e["change"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "party-added",
            "party-added",
            "observed",
            "party-status",
            "party-status",
            "started",
            "task-added",
            "task-status",
            "party-status",
            "closed",
            "comment",
            "reopened"
        ]
    );
    assert_eq!(last[11]["actor"], jp);

    // One change, one transaction: a process killed inside the commit leaves the case as it was.
    let killed = sb
        .cmd(db)
        .args(["cases", "party", "1", jp, "--status", "acting"])
        .env("FIREWATCH_CRASH_AT", "case-mid-commit")
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert_eq!(
        &sb.json(db, &["cases", "timeline", "1"]),
        timelines.last().unwrap()
    );
    let parties = &sb.json(db, &["cases", "show", "1"])["parties"];
    assert_eq!(parties[1]["status"], "done");
}
