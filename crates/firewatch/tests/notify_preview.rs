//! Issue 16, item 5: `notify preview --team T` shows the next notices without the signing key
//! (a dry run needs the real one), sends and records nothing, and `--out` writes them as they
//! would go.

mod common;

use common::Sandbox;
use serde_json::Value;

#[test]
fn preview_shows_a_teams_next_notices_without_a_signing_key_and_changes_nothing() {
    let sb = Sandbox::new();
    let db = "preview.db";
    sb.routed_telescope(db, 300_000, &[]);
    let config = sb.path("notify.toml");
    std::fs::write(
        &config,
        r#"
[notify]
sender_team = "example-default-team"
from = "cert@example.org"
signing_key = "no-such-key.asc"
lookback_days = 36500
[[notify.teams]]
team = "jp-example-cert"
events = false
alerts = true
[[notify.teams]]
team = "example-default-team"
events = false
alerts = true
"#,
    )
    .unwrap();
    let run = |args: &[&str]| {
        sb.cmd(db)
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    // A dry run signs, so it needs the key; the preview does not.
    let dry = run(&["notify", "run", "--dry-run", "dry"]);
    assert!(!dry.status.success());
    assert!(String::from_utf8_lossy(&dry.stderr).contains("no-such-key.asc"));

    let out = run(&["notify", "preview", "--team", "jp-example-cert", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let preview: Value = serde_json::from_slice(&out.stdout).unwrap();
    let notices = preview["notices"].as_array().unwrap();
    assert!(!notices.is_empty(), "{preview}");
    for n in notices {
        assert_eq!(n["team"], "jp-example-cert", "{n}");
        assert!(
            n["records"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r.as_str().unwrap().starts_with("alert:"))
        );
    }
    let all = run(&["notify", "preview", "--json"]);
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let teams: std::collections::BTreeSet<&str> = all["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["team"].as_str().unwrap())
        .collect();
    assert!(teams.contains("example-default-team") && teams.contains("jp-example-cert"));

    // --out writes the notices; nothing is recorded in the outbox.
    let written = run(&[
        "notify",
        "preview",
        "--team",
        "jp-example-cert",
        "--out",
        sb.path("preview").to_str().unwrap(),
    ]);
    assert!(written.status.success());
    let files = std::fs::read_dir(sb.path("preview")).unwrap().count();
    assert_eq!(files, notices.len());
    let status = sb.json(db, &["notify", "status"]);
    assert_eq!(status["notices"], serde_json::json!([]), "{status}");
    let unknown = run(&["notify", "preview", "--team", "nosuch"]);
    assert!(!unknown.status.success());
}
