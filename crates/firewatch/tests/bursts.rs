//! Issue 16, item 7: a packets spike made by one or a few sources is a single-source burst,
//! not a spike or a new campaign, and is not notified by default. Scored against the planted
//! spikes and bursts of a synthetic telescope: precision and recall are printed and asserted.

mod common;
use common::{Sandbox, example_teams};
use serde_json::Value;

const BURST: &str = "single_source_burst";

/// Same port and a start within one interval (60 s) of the planted one.
fn matches(a: &Value, t: &Value) -> bool {
    let start = a["start"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    a["proto"] == t["proto"]
        && a["port"] == t["port"]
        && (start - t["start_unix"].as_i64().unwrap()).abs() <= 60
}

/// Matches of `found` against `planted`: (found that match, found, planted matched, planted).
fn tally(found: &[&Value], planted: &[Value]) -> [usize; 4] {
    [
        found
            .iter()
            .filter(|a| planted.iter().any(|t| matches(a, t)))
            .count(),
        found.len(),
        planted
            .iter()
            .filter(|t| found.iter().any(|a| matches(a, t)))
            .count(),
        planted.len(),
    ]
}

/// Two captures (the default seed and another), each in its own store routed by the example
/// directory.
#[test]
fn single_source_bursts_are_their_own_kind_and_not_notified_by_default() {
    let sb = Sandbox::new();
    // Pooled tallies of spikes (spike, new_campaign) and bursts over both captures.
    let (mut spike_n, mut burst_n) = ([0; 4], [0; 4]);
    let mut first_burst = None;
    for seed in ["2026", "7"] {
        let db = format!("s{seed}.db");
        sb.cmd(&db)
            .args(["teams", "import"])
            .arg(example_teams())
            .assert()
            .success();
        let pcap = format!("t{seed}.pcap");
        let truth = sb.synth(&pcap, 400_000, &["--seed", seed]);
        sb.cmd(&db)
            .args(["ingest", "pcap"])
            .arg(sb.path(&pcap))
            .assert()
            .success();

        let spikes = truth["spikes"].as_array().unwrap();
        let bursts = truth["bursts"].as_array().unwrap();
        assert!(!spikes.is_empty() && !bursts.is_empty(), "{truth}");
        let alerts = sb.json(&db, &["alerts", "list"]);
        let alerts = alerts.as_array().unwrap();
        for a in alerts {
            println!(
                "seed {seed} alert {} triggered by {} packets {} sources {} top {}",
                a["id"],
                a["triggered_by"],
                a["packets"],
                a["unique_sources"],
                a["top_sources"][0]["packets"]
            );
        }
        let of_kind = |kinds: &[&str]| -> Vec<&Value> {
            alerts
                .iter()
                .filter(|a| kinds.iter().any(|k| a["kind"] == *k))
                .collect()
        };
        let spike_alerts = of_kind(&["spike", "new_campaign"]);
        let burst_alerts = of_kind(&[BURST]);
        assert_eq!(spike_alerts.len() + burst_alerts.len(), alerts.len());
        for (sum, t) in [
            (&mut spike_n, tally(&spike_alerts, spikes)),
            (&mut burst_n, tally(&burst_alerts, bursts)),
        ] {
            for (s, t) in sum.iter_mut().zip(t) {
                *s += t;
            }
        }
        // No planted burst is also a spike, and its busiest source is a planted burster.
        for t in bursts {
            assert!(!spike_alerts.iter().any(|a| matches(a, t)), "{t}");
            let Some(a) = burst_alerts.iter().find(|a| matches(a, t)) else {
                continue;
            };
            let top = &a["top_sources"][0]["addr"];
            assert!(t["sources"].as_array().unwrap().contains(top), "{a}");
            let id = a["id"].as_str().unwrap();
            assert!(id.contains("-single_source_burst-"), "{id}");
            // The kind round-trips through the store and `alerts show`.
            assert_eq!(sb.json(&db, &["alerts", "show", id])["kind"], BURST);
        }
        if first_burst.is_none() {
            first_burst = burst_alerts.first().map(|a| (db.clone(), (*a).clone()));
        }
    }
    let pr = |[tp, found, hit, planted]: [usize; 4]| {
        (
            tp as f64 / found.max(1) as f64,
            hit as f64 / planted.max(1) as f64,
        )
    };
    let ((sp, sr), (bp, br)) = (pr(spike_n), pr(burst_n));
    println!(
        "spikes truth {} alerts {} precision {sp:.3} recall {sr:.3}",
        spike_n[3], spike_n[1]
    );
    println!(
        "bursts truth {} alerts {} precision {bp:.3} recall {br:.3}",
        burst_n[3], burst_n[1]
    );
    assert!(sp >= 0.95, "spike precision {sp}");
    assert_eq!(sr, 1.0, "spike recall");
    assert_eq!(br, 1.0, "every planted burst is reported as a burst");

    // Notify leaves bursts out unless a team's policy names them.
    let (db, burst) = first_burst.unwrap();
    let db = db.as_str();
    let team = burst["top_teams"][0][0].as_str().unwrap();
    let key = format!("alert:{}", burst["id"].as_str().unwrap());
    let preview = |kinds: &str| -> Vec<String> {
        let config = sb.path("notify.toml");
        std::fs::write(
            &config,
            format!(
                "[notify]\nsender_team = \"example-default-team\"\nfrom = \"cert@example.org\"\n\
                 signing_key = \"no-such-key.asc\"\nlookback_days = 36500\n\
                 [[notify.teams]]\nteam = \"{team}\"\nevents = false\nalerts = true\n{kinds}"
            ),
        )
        .unwrap();
        let out = sb
            .cmd(db)
            .arg("--config")
            .arg(&config)
            .args(["notify", "preview", "--team", team, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let preview: Value = serde_json::from_slice(&out.stdout).unwrap();
        preview["notices"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|n| n["records"].as_array().unwrap().clone())
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    let default = preview("");
    assert!(
        !default.contains(&key),
        "{key} notified by default: {default:?}"
    );
    let opted_in =
        preview("alert_kinds = [\"spike\", \"new_campaign\", \"single_source_burst\"]\n");
    assert!(
        opted_in.contains(&key),
        "{key} not notified when asked for: {opted_in:?}"
    );
}
