//! Issue 16, item 1: every team is told exactly its own part of every alert. An alert kept only
//! its ten busiest sources and notices were built from those, so a team with 24 sources in a
//! 633-source spike read "0 of yours". Here, on a synthetic telescope with the example
//! directory, each alert's sources per team are computed independently (from the flowtuples of
//! the same capture, and each source's team from `sources list`) and compared with what the API
//! lists and with the addresses of each team's notice.

mod common;

#[path = "../../firewatch-notify/tests/common/mod.rs"]
mod notify_common;

use common::Sandbox;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const PASS: &str = "slices key passphrase";

fn lines(out: std::process::Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_team_is_told_every_one_of_its_sources_in_every_alert() {
    if !notify_common::tools_present() {
        return;
    }
    let sb = Sandbox::new();
    let db = "slices.db";
    sb.routed_telescope(db, 300_000, &["--flowtuples"]);

    let alerts = sb.json(db, &["alerts", "list", "--limit", "1000"]);
    let alerts = alerts.as_array().unwrap();
    assert!(!alerts.is_empty(), "the synthetic capture raises alerts");

    // Independently: each source's team, and each alert's sources from the flowtuples.
    let team_of: BTreeMap<String, Option<String>> = sb
        .json(db, &["sources", "list", "--limit", "10000000"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["addr"].as_str().unwrap().to_owned(),
                s["team"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let flows = lines(
        sb.cmd(db)
            .args(["flows", "export", "--json"])
            .output()
            .unwrap(),
    );
    assert!(!flows.is_empty());
    let interval_start = |f: &Value| -> i64 {
        match &f["interval_start"] {
            Value::Number(n) => n.as_i64().unwrap(),
            Value::String(t) => t.parse::<jiff::Timestamp>().unwrap().as_second(),
            other => panic!("interval_start {other}"),
        }
    };
    let alert_time = |v: &Value| -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(t) => Some(t.parse::<jiff::Timestamp>().unwrap().as_second()),
            _ => None,
        }
    };
    // alert id → team → addresses
    let mut expected: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for a in alerts {
        let id = a["id"].as_str().unwrap().to_owned();
        let proto = a["proto"].as_str().unwrap();
        let port = a["port"].as_u64().unwrap();
        let start = alert_time(&a["start"]).unwrap();
        let end = alert_time(&a["end"]).unwrap_or(i64::MAX);
        let mut by_team: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut all = BTreeSet::new();
        for f in &flows {
            let flow_proto = match &f["proto"] {
                Value::Number(n) => match n.as_u64().unwrap() {
                    6 => "tcp".to_owned(),
                    17 => "udp".to_owned(),
                    n => format!("ip{n}"),
                },
                Value::String(s) => s.clone(),
                other => panic!("proto {other}"),
            };
            let t = interval_start(f);
            if flow_proto == proto && f["dport"].as_u64() == Some(port) && t >= start && t < end {
                let src = f["src"].as_str().unwrap().to_owned();
                all.insert(src.clone());
                if let Some(Some(team)) = team_of.get(&src) {
                    by_team.entry(team.clone()).or_default().insert(src);
                }
            }
        }
        assert_eq!(
            all.len() as u64,
            a["unique_sources"].as_u64().unwrap(),
            "{id}: the flowtuples give the alert's sources"
        );
        expected.insert(id, by_team);
    }
    // The case the top ten missed: a team's part of an alert beyond the ten busiest sources.
    assert!(
        expected
            .values()
            .flat_map(BTreeMap::values)
            .any(|slice| slice.len() > 10),
        "some team's slice of some alert is larger than ten: {:?}",
        expected
            .iter()
            .map(|(id, t)| (id, t.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    );
    let routed_teams: BTreeSet<&String> = expected.values().flat_map(|t| t.keys()).collect();
    assert!(
        routed_teams.len() >= 2,
        "the example directory routes the alerts' sources to several teams: {routed_teams:?}"
    );

    // `alerts show --team` lists exactly each team's sources of each alert.
    for (id, by_team) in &expected {
        for team in &routed_teams {
            let shown = sb.json(db, &["alerts", "show", id, "--team", team]);
            let listed: BTreeSet<String> = shown["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["addr"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                listed,
                by_team.get(*team).cloned().unwrap_or_default(),
                "{id} for {team}"
            );
        }
    }

    // The API lists exactly each team's sources of each alert.
    sb.cmd(db)
        .args([
            "users",
            "add",
            "ana",
            "--team",
            "jp-example-cert",
            "--role",
            "member",
        ])
        .assert()
        .success();
    let token_out = sb
        .cmd(db)
        .args(["tokens", "create", "--user", "ana"])
        .output()
        .unwrap();
    let token = String::from_utf8(token_out.stdout)
        .unwrap()
        .trim()
        .to_owned();
    let (mut child, base) = sb.serve(db);
    for (id, by_team) in &expected {
        for team in &routed_teams {
            let url = format!("{base}/api/v1/alerts/{id}/sources?team={team}");
            let mut response = ureq::get(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .call()
                .unwrap();
            let body: Value =
                serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
            let listed: BTreeSet<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["addr"].as_str().unwrap().to_owned())
                .collect();
            let want = by_team.get(*team).cloned().unwrap_or_default();
            assert_eq!(listed, want, "{id} for {team}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    // Each team's notice names every one of its addresses in each alert, and no other.
    let gpg = notify_common::Gpg::new();
    let fpr = gpg.generate("Slices CERT <cert@slices.example>", PASS);
    std::fs::write(sb.path("sender.asc"), gpg.export_secret(&fpr, PASS)).unwrap();
    let mut config = format!(
        "[notify]\nsender_team = \"example-default-team\"\nfrom = \"cert@slices.example\"\n\
         signing_key = \"{}\"\nsigning_key_passphrase_env = \"SLICES_PASS\"\nlookback_days = 36500\n",
        sb.path("sender.asc").display()
    );
    // Every kind, single-source bursts too (left out by default): every alert is checked.
    for team in &routed_teams {
        config.push_str(&format!(
            "[[notify.teams]]\nteam = \"{team}\"\nevents = false\nalerts = true\nemail = []\n\
             alert_kinds = [\"spike\", \"new_campaign\", \"single_source_burst\"]\n\
             webhook = {{ url = \"http://127.0.0.1:9/\", secret_env = \"SLICES_HOOK\" }}\n"
        ));
    }
    let config_path = sb.path("notify.toml");
    std::fs::write(&config_path, config).unwrap();
    sb.cmd(db)
        .env("SLICES_PASS", PASS)
        .env("SLICES_HOOK", "hook secret")
        .arg("--config")
        .arg(&config_path)
        .args(["notify", "run", "--dry-run"])
        .arg(sb.path("preview"))
        .assert()
        .success();
    let mut told: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(sb.path("preview")).unwrap() {
        let notice: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let team = notice["team"].as_str().unwrap().to_owned();
        for item in notice["items"].as_array().unwrap() {
            let id = item["key"]
                .as_str()
                .unwrap()
                .trim_start_matches("alert:")
                .to_owned();
            let addresses: BTreeSet<String> = item["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            // The record the team receives names none of another team's sources.
            for s in item["record"]["top_sources"].as_array().unwrap() {
                assert!(
                    addresses.contains(s["addr"].as_str().unwrap()),
                    "{team}: {s}"
                );
            }
            let summary = item["summary"].as_str().unwrap();
            assert!(
                summary.contains(&format!("({} of yours)", addresses.len())),
                "{summary}"
            );
            told.insert((id, team.clone()), addresses);
        }
    }
    for (id, by_team) in &expected {
        for (team, want) in by_team {
            assert_eq!(
                told.get(&(id.clone(), team.clone())),
                Some(want),
                "{team}'s notice of {id}"
            );
        }
    }
    assert_eq!(
        told.len(),
        expected.values().map(BTreeMap::len).sum::<usize>(),
        "no team is told of an alert with none of its sources"
    );
}
