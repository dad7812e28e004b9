//! Issue 22, item 5: a restricted telescope (`[web] darknet_tlp` at AMBER+STRICT or RED) leaks
//! through no path. Its findings stored as events carry the telescope's one TLP and owner, not a
//! feed default, so the team its sources are routed to reads none of them: not as events, not
//! over TAXII, not as records; the owner's team reads them at AMBER+STRICT. (Notices: the
//! `notify` test's darknet alerts run through the same levels.)

mod common;

use common::Sandbox;
use serde_json::Value;

const TEAMS: &str = r#"
[[teams]]
id = "tel-owner"
name = "Telescope operator"
kind = "national-csirt"
max_tlp = "red"

[[teams]]
id = "routed"
name = "Everyone's sources"
kind = "other"
max_tlp = "red"
default = true
"#;

fn token(sb: &Sandbox, db: &str, user: &str, team: &str) -> String {
    sb.cmd(db)
        .args(["users", "add", user, "--team", team, "--role", "member"])
        .assert()
        .success();
    let out = sb
        .cmd(db)
        .args(["tokens", "create", "--user", user])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn get(url: &str, token: &str, accept: &str) -> (u16, Value) {
    let mut response = ureq::get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Accept", accept)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("an answer");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body)
}

fn darknet_events(base: &str, token: &str) -> usize {
    let (status, body) = get(
        &format!("{base}/api/v1/events?limit=1000&where=feed.name%20%3D%20Firewatch-Darknet"),
        token,
        "application/json",
    );
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().len()
}

/// Objects of every TAXII collection the caller reads.
fn taxii_objects(base: &str, token: &str) -> usize {
    let media = "application/taxii+json;version=2.1";
    let (status, collections) = get(
        &format!("{base}/taxii2/firewatch/collections/"),
        token,
        media,
    );
    assert_eq!(status, 200, "{collections}");
    let mut total = 0;
    for c in collections["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let (status, body) = get(
            &format!("{base}/taxii2/firewatch/collections/{id}/objects/?limit=1000"),
            token,
            media,
        );
        assert_eq!(status, 200, "{body}");
        total += body["objects"].as_array().map_or(0, Vec::len);
    }
    total
}

#[test]
fn issue_22_item_5_a_restricted_telescope_leaks_through_no_path() {
    for (level, owner_reads) in [("amber+strict", true), ("red", false)] {
        let sb = Sandbox::new();
        let config_dir = sb.path("firewatch");
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(
            config_dir.join("firewatch.toml"),
            format!("[web]\ndarknet_tlp = \"{level}\"\ndarknet_owner = \"tel-owner\"\n"),
        )
        .unwrap();
        std::fs::write(sb.path("teams.toml"), TEAMS).unwrap();
        sb.cmd("t.db")
            .args(["teams", "import"])
            .arg(sb.path("teams.toml"))
            .assert()
            .success();
        sb.synth("cap.pcap", 60_000, &[]);
        sb.cmd("t.db")
            .args(["ingest", "pcap"])
            .arg(sb.path("cap.pcap"))
            .assert()
            .success();

        // Every finding stored as an event carries the telescope's TLP and owner.
        let out = sb.cmd("t.db").args(["events", "export"]).output().unwrap();
        assert!(out.status.success());
        let events: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|e: &Value| e["feed.name"] == "Firewatch-Darknet")
            .collect();
        assert!(!events.is_empty(), "{level}: the capture makes findings");
        let routed = events
            .iter()
            .filter(|e| e["extra.team"] == "routed")
            .count();
        assert!(
            routed > 0,
            "{level}: findings are routed to the sources' team"
        );
        for e in &events {
            assert_eq!(e["tlp"], level.to_ascii_uppercase(), "{level}: {e}");
            assert_eq!(e["extra.owner"], "tel-owner", "{level}: {e}");
        }

        let routed_token = token(&sb, "t.db", "rita", "routed");
        let owner_token = token(&sb, "t.db", "otto", "tel-owner");
        let (_child, base) = sb.serve("t.db");
        let mut child = _child;

        // The routed team: no finding on any path.
        assert_eq!(darknet_events(&base, &routed_token), 0, "{level}: events");
        assert_eq!(taxii_objects(&base, &routed_token), 0, "{level}: TAXII");
        for path in ["/api/v1/sources", "/api/v1/attacks"] {
            let (status, _) = get(&format!("{base}{path}"), &routed_token, "application/json");
            assert_eq!(status, 403, "{level}: {path}");
        }
        // The owner reads them where the level lets it: the test can fail both ways.
        let owner_sees = darknet_events(&base, &owner_token);
        assert_eq!(
            owner_sees > 0,
            owner_reads,
            "{level}: owner reads {owner_sees}"
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}
