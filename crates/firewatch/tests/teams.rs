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

#[test]
fn ingested_sources_victims_and_alerts_carry_country_network_and_team() {
    let sb = Sandbox::new();
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(sample())
        .assert()
        .success();
    sb.synth("a.pcap", 400_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();

    let sources = sb.json("s.db", &["sources", "list"]);
    let sources = sources.as_array().unwrap();
    assert!(sources.iter().all(|s| {
        s["data_version"]
            .as_str()
            .is_some_and(|v| v.contains("teams@"))
    }));
    let with_country = sources.iter().filter(|s| s["country"].is_string()).count();
    assert!(
        with_country * 10 > sources.len() * 9,
        "most sources get a country: {with_country}/{}",
        sources.len()
    );
    // The sample's Japanese team claims country JP; nothing more specific claims those sources.
    let jp: Vec<_> = sources.iter().filter(|s| s["country"] == "JP").collect();
    assert!(!jp.is_empty());
    assert!(
        jp.iter().all(|s| s["team"] == "jp-example-cert"),
        "JP sources route to the JP team"
    );
    // Each source agrees with `firewatch route` on the same address.
    for s in sources.iter().step_by(997).take(5) {
        let r = sb.json("s.db", &["route", s["addr"].as_str().unwrap()]);
        assert_eq!(r["team"], s["team"]);
        assert_eq!(r["asn"], s["asn"]);
    }

    let attacks = sb.json("s.db", &["attacks", "list"]);
    assert!(
        attacks
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["data_version"].is_string())
    );

    let alerts = sb.json("s.db", &["alerts", "list"]);
    let alerts = alerts.as_array().unwrap();
    assert!(!alerts.is_empty());
    for a in alerts {
        let countries = a["top_countries"]
            .as_array()
            .expect("alerts carry country shares");
        let total: f64 = countries.iter().map(|c| c[1].as_f64().unwrap()).sum();
        assert!(
            total > 0.5 && total <= 1.0 + 1e-9,
            "shares of unique sources: {total}"
        );
        assert!(!a["top_teams"].as_array().unwrap().is_empty());
    }
    // --country and --team keep the alerts that involve them, and only those.
    let top_cc = alerts[0]["top_countries"][0][0]
        .as_str()
        .unwrap()
        .to_string();
    let by_country = sb.json("s.db", &["alerts", "list", "--country", &top_cc]);
    assert!(!by_country.as_array().unwrap().is_empty());
    assert!(
        sb.json("s.db", &["alerts", "list", "--country", "AQ"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let team = alerts[0]["top_teams"][0][0].as_str().unwrap().to_string();
    assert!(
        !sb.json("s.db", &["alerts", "list", "--team", &team])
            .as_array()
            .unwrap()
            .is_empty()
    );
    // An unknown team is refused, naming the known ones.
    let out = sb
        .cmd("s.db")
        .args(["alerts", "list", "--team", "no-such-team"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-team") && err.contains("known teams"),
        "{err}"
    );
}

#[test]
fn data_update_puts_a_new_dataset_in_force_atomically() {
    let sb = Sandbox::new();
    let embedded = sb.json("s.db", &["route", "8.8.8.8"]);
    assert_eq!(embedded["asn"], 15169);

    // A user's own ip→ASN file (the ip-asn CSV shape).
    std::fs::write(
        sb.path("mine.csv"),
        "8.0.0.0,8.255.255.255,64500,Example Transit\n",
    )
    .unwrap();
    sb.cmd("s.db")
        .args(["data", "update"])
        .arg(sb.path("mine.csv"))
        .assert()
        .success();
    let mine = sb.json("s.db", &["route", "8.8.8.8"]);
    assert_eq!(mine["asn"], 64500);
    assert_eq!(mine["as_name"], "Example Transit");
    assert_eq!(
        mine["country"], "US",
        "country still from the embedded RIR data"
    );
    assert_ne!(mine["data_version"], embedded["data_version"]);
    let shown = sb.json("s.db", &["data", "show"]);
    assert_eq!(shown["version"], mine["data_version"]);

    // A file that cannot be read changes nothing.
    let out = sb
        .cmd("s.db")
        .args(["data", "update"])
        .arg(sb.path("missing.csv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv"));
    assert_eq!(
        sb.json("s.db", &["route", "8.8.8.8"])["data_version"],
        mine["data_version"]
    );

    // Bad lines are named with their line, the good ones are used, and the status says so.
    std::fs::write(
        sb.path("mixed.csv"),
        "9.0.0.0,9.255.255.255,64501,Good Net\nnot-an-ip,9.0.0.1,1,Bad\n",
    )
    .unwrap();
    let out = sb
        .cmd("s.db")
        .args(["data", "update"])
        .arg(sb.path("mixed.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mixed.csv:2"));
    assert_eq!(sb.json("s.db", &["route", "9.9.9.9"])["asn"], 64501);

    // Ingest attributes with the dataset in force and records its version.
    sb.synth("a.pcap", 40_000, &[]);
    sb.cmd("s.db")
        .args(["ingest", "pcap"])
        .arg(sb.path("a.pcap"))
        .assert()
        .success();
    let sources = sb.json("s.db", &["sources", "list"]);
    let version = sb.json("s.db", &["data", "show"])["version"].clone();
    assert!(
        sources
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["data_version"] == version)
    );
}

/// Issue 22, item 11: an empty file, `{}`, a header-only or an all-bad CSV replaced the
/// directory with zero teams, and `data update` put in force a dataset built from an empty or
/// all-bad file, dropping every ASN. Both are now refused (the one in force stays) unless
/// `--force`.
#[test]
fn issue_22_an_empty_directory_or_dataset_keeps_the_one_in_force() {
    let sb = Sandbox::new();
    sb.cmd("s.db")
        .args(["teams", "import"])
        .arg(sample())
        .assert()
        .success();
    let team_count = |sb: &Sandbox| {
        sb.json("s.db", &["teams", "list"])
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(team_count(&sb), 5);
    let header = "Team Name,Official Team Name,Country,Constituency\n";
    for (name, text) in [
        ("empty.toml", ""),
        ("empty.json", "{}"),
        ("header.csv", header),
        ("bad.csv", &*format!("{header}\"\",,ZZ,\n")),
    ] {
        std::fs::write(sb.path(name), text).unwrap();
        let out = sb
            .cmd("s.db")
            .args(["teams", "import"])
            .arg(sb.path(name))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            stderr.contains("--force") || stderr.contains("error"),
            "{name}: {stderr}"
        );
        assert_eq!(team_count(&sb), 5, "{name} replaced the directory");
    }
    sb.cmd("s.db")
        .args(["teams", "import", "--force"])
        .arg(sb.path("empty.json"))
        .assert()
        .success();
    assert_eq!(
        team_count(&sb),
        0,
        "--force puts an empty directory in force"
    );

    let before = sb.json("s.db", &["data", "show"]);
    for (name, text) in [
        ("empty.csv", ""),
        ("junk.csv", "not,an,asn,file\nx,y,z,w\n"),
    ] {
        std::fs::write(sb.path(name), text).unwrap();
        let out = sb
            .cmd("s.db")
            .args(["data", "update"])
            .arg(sb.path(name))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was put in force");
        assert_eq!(
            sb.json("s.db", &["data", "show"]),
            before,
            "{name}: {stderr}"
        );
    }
}
