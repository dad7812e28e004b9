//! `firewatch notify` end to end through the binary: a team directory and IntelMQ events go
//! in with the real commands, notices go out to a real SMTP server (aiosmtpd) that is killed
//! mid-run and restarted, a crash after queueing is resumed, and gpg checks every signature.

#[path = "../../firewatch-notify/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use common::{Gpg, SmtpSink, open, received};
use std::collections::HashSet;
use std::path::Path;

const PASS: &str = "notify key passphrase";

fn firewatch(work: &Path) -> Command {
    let mut cmd = Command::cargo_bin("firewatch").unwrap();
    cmd.env("FIREWATCH_DB", work.join("store.db"))
        .env("FIREWATCH_CONFIG", work.join("firewatch.toml"))
        .env("FIREWATCH_NOTIFY_KEY_PASSPHRASE", PASS)
        .env_remove("FIREWATCH_CRASH_AT")
        .current_dir(work);
    cmd
}

fn write_config(work: &Path, port: u16) {
    let text = format!(
        r#"
[notify]
sender_team = "team-a"
from = "Team A CERT <cert@team-a.example>"
signing_key = "sender.asc"
signing_key_passphrase_env = "FIREWATCH_NOTIFY_KEY_PASSPHRASE"
timeout_secs = 10
[notify.smtp]
host = "127.0.0.1"
port = {port}
starttls = "none"
[notify.retry]
initial_backoff_secs = 0.2
max_backoff_secs = 1.0
[[notify.teams]]
team = "team-a"
[[notify.teams]]
team = "team-g"
[[notify.teams]]
team = "team-r"
"#
    );
    std::fs::write(work.join("firewatch.toml"), text).unwrap();
}

fn status(work: &Path) -> serde_json::Value {
    let out = firewatch(work)
        .args(["notify", "status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn states(status: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = status["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["state"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

#[test]
fn notify_run_survives_a_crash_and_a_mail_server_outage_and_delivers_each_notice_once() {
    if !common::tools_present() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let gpg = Gpg::new();
    let fpr = gpg.generate("Team A CERT <cert@team-a.example>", PASS);
    std::fs::write(work.join("sender.asc"), gpg.export_secret(&fpr, PASS)).unwrap();
    let reader = Gpg::new();
    reader.import(&gpg.export_public(&fpr), "");

    std::fs::write(
        work.join("teams.toml"),
        r#"
[[teams]]
id = "team-a"
name = "Team A"
kind = "sector-csirt"
max_tlp = "amber"
constituency = { prefixes = ["192.0.2.0/24"] }
contacts = [{ kind = "email", value = "incidents@team-a.example" }]

[[teams]]
id = "team-g"
name = "Team G"
kind = "isac"
max_tlp = "green"
constituency = { prefixes = ["203.0.113.0/24"] }
contacts = [{ kind = "email", value = "soc@team-g.example" }]

[[teams]]
id = "team-r"
name = "Team R"
kind = "soc"
max_tlp = "red"
constituency = { prefixes = ["198.51.100.0/24"] }
contacts = [{ kind = "email", value = "soc@team-r.example" }]
"#,
    )
    .unwrap();
    let t = jiff::Timestamp::now().as_second() - 3600;
    let time = jiff::Timestamp::from_second(t).unwrap();
    let lines: Vec<String> = [
        ("192.0.2.10", "AMBER"),
        ("203.0.113.4", "GREEN"),
        ("203.0.113.5", "AMBER"),
        ("198.51.100.7", "RED"),
    ]
    .iter()
    .map(|(ip, tlp)| {
        let mut e = serde_json::json!({
            "feed.name": "Partner", "classification.type": "scanner",
            "source.ip": ip, "tlp": tlp, "time.source": time.to_string(),
        });
        // TLP:RED goes to the teams it names only (the access rule of every read path).
        if *tlp == "RED" {
            e["extra.recipients"] = serde_json::json!(["team-r"]);
        }
        e.to_string()
    })
    .collect();
    std::fs::write(work.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
    write_config(work, 1);
    firewatch(work)
        .args(["teams", "import", "teams.toml"])
        .assert()
        .success();
    firewatch(work)
        .args(["feeds", "ingest", "events.jsonl", "--format", "intelmq"])
        .assert()
        .success();

    // --dry-run writes what would be sent and changes nothing.
    firewatch(work)
        .args(["notify", "run", "--dry-run", "preview"])
        .assert()
        .success();
    let previews: Vec<_> = std::fs::read_dir(work.join("preview")).unwrap().collect();
    assert_eq!(previews.len(), 3);
    assert!(status(work)["notices"].as_array().unwrap().is_empty());

    // A crash right after the notices were queued: nothing sent, everything kept.
    let crashed = firewatch(work)
        .env("FIREWATCH_CRASH_AT", "notify-after-queue")
        .args(["notify", "run"])
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    assert_eq!(states(&status(work)), ["queued", "queued", "queued"]);

    // The server takes one message and goes down.
    let inbox = work.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let mut sink = SmtpSink::start(&inbox, Some(1));
    write_config(work, sink.port);
    let run = firewatch(work).args(["notify", "run"]).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "notices left to retry");
    let s = status(work);
    assert_eq!(states(&s), ["queued", "queued", "sent"]);
    for n in s["notices"].as_array().unwrap() {
        if n["state"] == "queued" {
            assert!(!n["last_error"].as_str().unwrap().is_empty());
        }
    }
    assert_eq!(s["withheld"].as_array().unwrap().len(), 1);
    assert_eq!(s["withheld"][0]["team"], "team-g");
    sink.kill();

    // Back up: the rest goes out, nothing twice — even when the process dies right after a
    // notice was sent and marked.
    let sink = SmtpSink::start(&inbox, None);
    write_config(work, sink.port);
    let crashed = firewatch(work)
        .env("FIREWATCH_CRASH_AT", "notify-after-send")
        .args(["notify", "run", "--wait", "20"])
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    assert_eq!(states(&status(work)), ["queued", "sent", "sent"]);
    firewatch(work)
        .args(["notify", "run", "--wait", "20"])
        .assert()
        .success();
    assert_eq!(states(&status(work)), ["sent", "sent", "sent"]);
    firewatch(work).args(["notify", "run"]).assert().success();
    let messages = received(&inbox);
    assert_eq!(messages.len(), 3);
    let mut ids = HashSet::new();
    for m in &messages {
        let opened = open(&reader, m, "").unwrap_or_else(|e| panic!("gpg: {e}"));
        assert_eq!(opened.signer, fpr);
        assert!(ids.insert(opened.message_id));
        if opened.subject.contains("Team G") {
            assert!(opened.subject.starts_with("[TLP:GREEN]"));
            assert!(!opened.attachment.contains("203.0.113.5"));
            assert!(opened.attachment.contains("203.0.113.4"));
        }
    }
    // The summary: one line per team, held-back records counted by level and cap.
    let table = firewatch(work).args(["notify", "status"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let team_g = text
        .lines()
        .find(|l| l.starts_with("team-g"))
        .unwrap_or_default();
    assert!(
        team_g.contains("1 sent") && team_g.contains("1 TLP:AMBER over TLP:GREEN"),
        "{text}"
    );
    // One team's records, one per line.
    let lines = firewatch(work)
        .args(["notify", "status", "--team", "team-g"])
        .output()
        .unwrap();
    let text = String::from_utf8(lines.stdout).unwrap();
    assert!(
        text.contains("held back") && text.contains("TLP:AMBER") && !text.contains("team-a"),
        "{text}"
    );
}

#[test]
fn darknet_alerts_go_to_the_team_of_their_sources_signed() {
    if !common::tools_present() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let gpg = Gpg::new();
    let fpr = gpg.generate("Team D CERT <cert@team-d.example>", PASS);
    std::fs::write(work.join("sender.asc"), gpg.export_secret(&fpr, PASS)).unwrap();
    let reader = Gpg::new();
    reader.import(&gpg.export_public(&fpr), "");
    // The catch-all team: every telescope source is attributed to it.
    std::fs::write(
        work.join("teams.toml"),
        r#"
[[teams]]
id = "team-d"
name = "Team D"
kind = "national-csirt"
max_tlp = "amber"
default = true
contacts = [{ kind = "email", value = "d@team-d.example" }]
"#,
    )
    .unwrap();
    std::fs::write(
        work.join("firewatch.toml"),
        r#"
[notify]
sender_team = "team-d"
from = "cert@team-d.example"
signing_key = "sender.asc"
signing_key_passphrase_env = "FIREWATCH_NOTIFY_KEY_PASSPHRASE"
lookback_days = 3650
[[notify.teams]]
team = "team-d"
events = false
alerts = true
alert_kinds = ["spike", "new_campaign", "single_source_burst"]  # all: compared with `alerts list`
attachment = "json"
subject_template = "Firewatch-Alarm: {{ count }} Meldungen"
body_template = "body.de.txt"
"#,
    )
    .unwrap();
    // A team's own template, in its own language.
    std::fs::write(
        work.join("body.de.txt"),
        "Guten Tag {{ team.name }},\n{% for item in items %}- {{ item.summary }}\n{% endfor %}",
    )
    .unwrap();
    firewatch(work)
        .args(["teams", "import", "teams.toml"])
        .assert()
        .success();
    firewatch(work)
        .args(["synth", "--packets", "300000", "--out", "cap.pcap"])
        .assert()
        .success();
    firewatch(work)
        .args(["ingest", "pcap", "cap.pcap"])
        .assert()
        .success();
    let out = firewatch(work)
        .args(["alerts", "list", "--team", "team-d", "--json"])
        .output()
        .unwrap();
    let alerts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alerts = alerts.as_array().unwrap();
    assert!(!alerts.is_empty(), "the synthetic capture raises alerts");

    firewatch(work)
        .args(["notify", "run", "--dry-run", "preview"])
        .assert()
        .success();
    let files: Vec<_> = std::fs::read_dir(work.join("preview"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "immediate alerts make one notice");
    let opened = open(&reader, &std::fs::read(&files[0]).unwrap(), "").unwrap();
    assert_eq!(opened.signer, fpr);
    assert_eq!(
        opened.subject,
        format!("[TLP:GREEN] Firewatch-Alarm: {} Meldungen", alerts.len())
    );
    assert!(
        opened
            .body
            .starts_with("TLP:GREEN\n\nGuten Tag Team D,\n- "),
        "{}",
        opened.body
    );
    let rows: serde_json::Value = serde_json::from_str(&opened.attachment).unwrap();
    let rows = rows.as_array().unwrap();
    for alert in alerts {
        let key = format!("alert:{}", alert["id"].as_str().unwrap());
        assert!(
            rows.iter().any(|r| r["record"] == key.as_str()),
            "{key} missing"
        );
        let top = alert["top_sources"][0]["addr"].as_str().unwrap();
        assert!(rows.iter().any(|r| r["address"] == top), "{top} missing");
    }

    // Issue 22, item 5: alerts carry the telescope's one TLP and owner (`[web]`), and tell the
    // team they are routed to only what that level lets it read: AMBER the routed team,
    // AMBER+STRICT only the owner (another team here), RED no one unnamed.
    let notify_config = std::fs::read_to_string(work.join("firewatch.toml")).unwrap();
    for (level, told) in [("amber", true), ("amber+strict", false), ("red", false)] {
        std::fs::write(
            work.join("firewatch.toml"),
            format!(
                "{notify_config}\n[web]\ndarknet_tlp = \"{level}\"\ndarknet_owner = \"team-x\"\n"
            ),
        )
        .unwrap();
        let preview = format!("preview-{level}");
        firewatch(work)
            .args(["notify", "run", "--dry-run", &preview])
            .assert()
            .success();
        let files: Vec<_> = std::fs::read_dir(work.join(&preview))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert_eq!(files.len(), usize::from(told), "{level}: {files:?}");
        if told {
            let opened = open(&reader, &std::fs::read(&files[0]).unwrap(), "").unwrap();
            assert!(
                opened.subject.starts_with("[TLP:AMBER] "),
                "{}",
                opened.subject
            );
        }
    }
}

/// Issue 16, item 2: a directory change that gives a team part of alerts already told to
/// another tells the new team once, and never tells the first team again.
#[test]
fn re_attribution_tells_a_new_slice_once_and_never_resends() {
    if !common::tools_present() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let gpg = Gpg::new();
    let fpr = gpg.generate("Team D CERT <cert@team-d.example>", PASS);
    std::fs::write(work.join("sender.asc"), gpg.export_secret(&fpr, PASS)).unwrap();
    let reader = Gpg::new();
    reader.import(&gpg.export_public(&fpr), "");
    let catch_all = r#"
[[teams]]
id = "team-d"
name = "Team D"
kind = "national-csirt"
max_tlp = "amber"
default = true
contacts = [{ kind = "email", value = "d@team-d.example" }]
"#;
    let with_japan = format!(
        "{catch_all}
[[teams]]
id = \"team-jp\"
name = \"Team JP\"
kind = \"national-csirt\"
max_tlp = \"amber\"
constituency = {{ countries = [\"JP\"] }}
contacts = [{{ kind = \"email\", value = \"jp@team-jp.example\" }}]
"
    );
    std::fs::write(work.join("teams.toml"), catch_all).unwrap();
    let inbox = work.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let sink = SmtpSink::start(&inbox, None);
    std::fs::write(
        work.join("firewatch.toml"),
        format!(
            r#"
[notify]
sender_team = "team-d"
from = "cert@team-d.example"
signing_key = "sender.asc"
signing_key_passphrase_env = "FIREWATCH_NOTIFY_KEY_PASSPHRASE"
lookback_days = 3650
[notify.smtp]
host = "127.0.0.1"
port = {}
starttls = "none"
[[notify.teams]]
team = "team-d"
events = false
alerts = true
alert_kinds = ["spike", "new_campaign", "single_source_burst"]  # all: compared with `alerts list`
attachment = "json"
[[notify.teams]]
team = "team-jp"
events = false
alerts = true
alert_kinds = ["spike", "new_campaign", "single_source_burst"]  # all: compared with `alerts list`
attachment = "json"
"#,
            sink.port
        ),
    )
    .unwrap();
    let run = |args: &[&str]| firewatch(work).args(args).assert().success();
    let alerts_of = |team: &str| -> Vec<String> {
        let out = firewatch(work)
            .args([
                "alerts", "list", "--team", team, "--json", "--limit", "100000",
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| format!("alert:{}", a["id"].as_str().unwrap()))
            .collect()
    };
    // Records of every message received so far, per recipient team.
    let told = || -> Vec<(String, Vec<String>)> {
        received(&inbox)
            .iter()
            .map(|m| {
                let opened = open(&reader, m, "").unwrap_or_else(|e| panic!("gpg: {e}"));
                assert_eq!(opened.signer, fpr);
                let team = if opened.body.contains("Team JP") {
                    "team-jp"
                } else {
                    "team-d"
                };
                let rows: serde_json::Value = serde_json::from_str(&opened.attachment).unwrap();
                let mut records: Vec<String> = rows
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["record"].as_str().unwrap().to_string())
                    .collect();
                records.sort();
                records.dedup();
                (team.to_string(), records)
            })
            .collect()
    };

    run(&["teams", "import", "teams.toml"]);
    run(&["synth", "--packets", "300000", "--out", "cap.pcap"]);
    run(&["ingest", "pcap", "cap.pcap"]);
    let mut d_alerts = alerts_of("team-d");
    d_alerts.sort();
    assert!(!d_alerts.is_empty());
    run(&["notify", "run", "--wait", "20"]);
    let first = told();
    assert_eq!(first.len(), 1, "one notice, to the catch-all team");
    assert_eq!(first[0], ("team-d".to_string(), d_alerts.clone()));

    // Japan gets its own team: its part of those alerts is routed to it.
    std::fs::write(work.join("teams.toml"), with_japan).unwrap();
    run(&["teams", "import", "teams.toml"]);
    let mut jp_alerts = alerts_of("team-jp");
    jp_alerts.sort();
    assert!(
        !jp_alerts.is_empty(),
        "the capture has sources in Japan, now routed to team-jp"
    );
    run(&["notify", "run", "--wait", "20"]);
    let second = told();
    assert_eq!(second.len(), 2, "one more notice: {second:?}");
    assert_eq!(second[1], ("team-jp".to_string(), jp_alerts));

    // Nothing new: nothing more is sent, to either team.
    run(&["reattribute"]);
    run(&["notify", "run", "--wait", "20"]);
    assert_eq!(told().len(), 2);
}
