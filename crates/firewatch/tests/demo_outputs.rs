//! Issue 16, item 3: `firewatch demo` shows the whole loop — on a fresh store it writes the
//! notices each team would be sent (signed e-mail, webhook JSON) and one partner team's STIX
//! bundle and MISP feed, and says where. The e-mail is read by Python's e-mail parser, the
//! bundle by stix2-validator, the feed by PyMISP.

mod common;
#[path = "share_tools/mod.rs"]
mod share_tools;

use common::Sandbox;
use serde_json::Value;
use share_tools::{bundle_addresses, driver, feed_addresses, python};
use std::path::PathBuf;

fn files(dir: &std::path::Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

#[test]
fn the_demo_writes_what_the_teams_get() {
    let sb = Sandbox::new();
    let out_dir = sb.path("demo");
    let run = || {
        let out = sb
            .cmd("demo.db")
            .args(["demo", "--packets", "300000", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let stdout = run();

    // Notices: e-mail for every team told, webhook JSON for the partner; each file printed.
    let notices = out_dir.join("notices");
    let emails = files(&notices, "eml");
    let hooks = files(&notices, "json");
    assert!(!emails.is_empty() && !hooks.is_empty(), "{stdout}");
    assert!(stdout.contains(&notices.display().to_string()), "{stdout}");
    for f in emails.iter().chain(&hooks) {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(stdout.contains(&*name), "{name} not printed:\n{stdout}");
    }
    for h in &hooks {
        let body: Value = serde_json::from_slice(&std::fs::read(h).unwrap()).unwrap();
        assert!(
            body["items"].as_array().is_some_and(|i| !i.is_empty()),
            "{body}"
        );
        assert!(body["tlp"].as_str().unwrap().starts_with("TLP:"), "{body}");
    }
    let partner = hooks[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split("-webhook-")
        .next()
        .unwrap()
        .to_owned();

    // The partner's STIX bundle and MISP feed, each printed with a way to look at it.
    let share = out_dir.join("share");
    let bundle_path = share.join(format!("{partner}.stix.json"));
    let feed = share.join(format!("misp-{partner}"));
    for path in [&bundle_path, &feed] {
        assert!(
            stdout.contains(&path.display().to_string()),
            "{}:\n{stdout}",
            path.display()
        );
    }
    assert!(stdout.contains("look:"), "{stdout}");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    let addresses = bundle_addresses(&bundle);
    assert!(!addresses.is_empty());
    assert!(feed_addresses(&feed).is_subset(&addresses));
    // What the demo wrote is what `export stix --team` writes.
    let exported = sb
        .cmd("demo.db")
        .args(["export", "stix", "--team", &partner])
        .output()
        .unwrap();
    assert!(exported.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&exported.stdout).unwrap(),
        bundle
    );

    // A second run leaves only its own files (a MISP feed with stale events would not load).
    let manifest_before = std::fs::read(feed.join("manifest.json")).unwrap();
    run();
    assert_eq!(
        files(&feed, "json").len(),
        serde_json::from_slice::<Value>(&manifest_before)
            .unwrap()
            .as_object()
            .unwrap()
            .len()
            + 1,
        "the event files and the manifest"
    );

    let Some(python) = python() else { return };
    let mut args = vec!["eml"];
    let emails = files(&notices, "eml");
    args.extend(emails.iter().map(|p| p.to_str().unwrap()));
    let report = driver(&python, &args);
    assert_eq!(
        report
            .matches("multipart/signed with application/pgp-signature")
            .count(),
        emails.len(),
        "{report}"
    );
    let report = driver(&python, &["validate", bundle_path.to_str().unwrap()]);
    assert!(report.contains("valid (strict)"), "{report}");
    let report = driver(&python, &["misp", feed.to_str().unwrap()]);
    assert!(report.contains("PyMISP loaded"), "{report}");
}
