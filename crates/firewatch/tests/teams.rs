//! The team directory in the store, and routing an address to its team.

mod common;
use common::Sandbox;
use std::path::Path;

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/teams.toml")
}

#[test]
fn import_list_show_export_round_trip() {
    let sb = Sandbox::new();
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(sample())
        .assert()
        .success();
    let teams = sb.json("s.db", &["teams", "list"]);
    let ids: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.contains(&"jp-example-cert"));
    let one = sb.json("s.db", &["teams", "show", "jp-example-cert"]);
    assert_eq!(one["country"], "JP");

    // Export, import the export into another store: the same directory.
    let out = sb.cmd("s.db").args(["teams", "export"]).output().unwrap();
    std::fs::write(sb.path("exported.toml"), &out.stdout).unwrap();
    sb.cmd("t.db")
        .args(["teams", "import"])
        .arg(sb.path("exported.toml"))
        .assert()
        .success();
    assert_eq!(teams, sb.json("t.db", &["teams", "list"]));
}

#[test]
fn a_bad_directory_is_refused_with_its_lines_and_the_stored_one_stays() {
    let sb = Sandbox::new();
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(sample())
        .assert()
        .success();
    let before = sb.json("s.db", &["teams", "list"]);
    let bad = "[[teams]]\nid = \"a-cert\"\nname = \"A\"\nkind = \"national-csirt\"\nmax_tlp = \"green\"\ncountry = \"QQ\"\n\n\
               [[teams]]\nid = \"a-cert\"\nname = \"A again\"\nkind = \"soc\"\nmax_tlp = \"green\"\n";
    std::fs::write(sb.path("bad.toml"), bad).unwrap();
    let out = sb
        .cmd("s.db")
        .args(["teams", "import"])
        .arg(sb.path("bad.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:6"),
        "the bad country is named with its line: {err}"
    );
    assert!(
        err.contains("bad.toml:9"),
        "the duplicate id is named with its line: {err}"
    );
    assert_eq!(
        before,
        sb.json("s.db", &["teams", "list"]),
        "the stored directory stays"
    );
}

#[test]
fn route_explains_rule_team_and_data() {
    let sb = Sandbox::new();
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(sample())
        .assert()
        .success();
    let r = sb.json("s.db", &["route", "203.0.113.7"]);
    assert_eq!(r["team"], "example-uni-csirt");
    assert_eq!(r["rule"], "prefix 203.0.113.0/25");
    assert!(
        r["explanation"]
            .as_str()
            .unwrap()
            .contains("claimed by team example-uni-csirt")
    );

    // Real registry data: Google's resolver is AS15169 in the US; no fictional team claims it.
    let r = sb.json("s.db", &["route", "8.8.8.8"]);
    assert_eq!(r["asn"], 15169);
    assert_eq!(r["country"], "US");
    assert_eq!(r["team"], "example-default-team");
    assert_eq!(r["rule"], "default team");

    // WIDE's IPv6 space is in Japan: the Japanese team's country claim.
    let r = sb.json("s.db", &["route", "2001:200::1"]);
    assert_eq!(r["asn"], 2500);
    assert_eq!(r["team"], "jp-example-cert");
    assert!(r["data_version"].as_str().unwrap().contains("asn-ipv4"));
}

#[test]
fn trusted_introducer_listing_keeps_good_rows_and_names_bad_ones() {
    let sb = Sandbox::new();
    let csv = "Team Name,Short Name,Country,Type,Email,Phone,PGP Key Fingerprint,Membership,Constituency\n\
               Example CERT,ex-cert,KE,national-csirt,cert@example.org,+254 0,,FIRST,KE\n\
               Broken Team,broken,ZZZ,soc,not-an-email,,,,\n";
    std::fs::write(sb.path("ti.csv"), csv).unwrap();
    let out = sb
        .cmd("s.db")
        .args(["teams", "import"])
        .arg(sb.path("ti.csv"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a left-out row makes the status non-zero"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ti.csv:3"));
    let teams = sb.json("s.db", &["teams", "list"]);
    assert_eq!(teams.as_array().unwrap().len(), 1);
    assert_eq!(teams[0]["id"], "ex-cert");
}
