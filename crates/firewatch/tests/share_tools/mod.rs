//! The ecosystem's tools for the sharing tests (`share_driver.py`: stix2-validator, stix2,
//! PyMISP, Python's e-mail parser), found as tests/share.rs finds them: next to
//! `$FIREWATCH_PYTHON`, else in `<workspace>/target/py-venv`. Missing, they fail the test under
//! `CI=true` and skip it, loudly, otherwise.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The venv's python, when the tools are installed.
pub fn python() -> Option<PathBuf> {
    let python = match std::env::var_os("FIREWATCH_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python"),
    };
    let ready = python.is_file()
        && Command::new(&python)
            .args([
                "-c",
                "import stix2, stix2validator, pymisp, taxii2client, requests",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if ready {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "stix2-validator, stix2 or pymisp is missing (CI=true): run scripts/test.sh or set FIREWATCH_PYTHON"
        );
    }
    eprintln!(
        "\n!!!!!!!!!! SKIPPED: the STIX/MISP tools are not installed (pip install stix2-validator stix2 \
         pymisp into target/py-venv, or set FIREWATCH_PYTHON) !!!!!!!!!!\n"
    );
    None
}

/// Runs `share_driver.py ARGS` and returns what it printed; panics with its output unless it
/// succeeds.
pub fn driver(python: &Path, args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/share_driver.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("run the driver");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "share_driver.py {args:?} failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Every address (`ipv4-addr` / `ipv6-addr` value) of a STIX bundle.
pub fn bundle_addresses(bundle: &Value) -> BTreeSet<String> {
    bundle["objects"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|o| o["type"] == "ipv4-addr" || o["type"] == "ipv6-addr")
        .map(|o| o["value"].as_str().expect("an address value").to_owned())
        .collect()
}

/// Every `ip-src` / `ip-dst` attribute value of the MISP feed in `dir`.
pub fn feed_addresses(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("the feed directory") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "manifest.json" {
            continue;
        }
        let event: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for a in event["Event"]["Attribute"].as_array().into_iter().flatten() {
            if a["type"] == "ip-src" || a["type"] == "ip-dst" {
                out.insert(a["value"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}
