//! Issue 15: the web API and the command line route an address the same way, because both read
//! the stored directory (with the policy it was imported under) and the registry data in force
//! through the pipeline.

mod common;

use common::Sandbox;
use serde_json::Value;

/// Real addresses whose country and origin AS the embedded registry data knows (the JP pair is
/// the one the issue reported), plus documentation addresses for prefix claims.
const PROBES: [&str; 8] = [
    "150.34.127.254",
    "61.86.30.75",
    "8.8.8.8",
    "1.1.1.1",
    "192.0.2.10",
    "192.0.2.200",
    "198.51.100.7",
    "2001:db8:100::1",
];

/// `firewatch route IP --json`, whatever its exit code (1 means a conflict, still an answer).
fn cli_route(sb: &Sandbox, ip: &str) -> Value {
    let out = sb
        .cmd("fw.db")
        .args(["route", ip, "--json"])
        .output()
        .expect("run route");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "route {ip}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("route --json")
}

/// A directory with one team per kind of claim; the ASN and country claims use what the
/// registry data says of the probes, so every rule is exercised on real data.
fn directory(asn_of_google: u64, nested: bool) -> String {
    let nested_team = if nested {
        r#"
[[teams]]
id = "nested-cert"
name = "Nested"
kind = "sector-csirt"
max_tlp = "amber"
[teams.constituency]
prefixes = ["192.0.2.128/25"]
"#
    } else {
        ""
    };
    format!(
        r#"
[[teams]]
id = "prefix-cert"
name = "Prefix"
kind = "national-csirt"
max_tlp = "amber"
[teams.constituency]
prefixes = ["192.0.2.0/24", "2001:db8:100::/40"]

[[teams]]
id = "asn-cert"
name = "ASN"
kind = "soc"
max_tlp = "green"
[teams.constituency]
asns = [{asn_of_google}]
domains = ["example.net"]

[[teams]]
id = "jp-cert"
name = "Country"
kind = "national-csirt"
country = "JP"
max_tlp = "amber"
[teams.constituency]
countries = ["JP"]

[[teams]]
id = "region-cert"
name = "Regional"
kind = "other"
max_tlp = "green"
regional_coordinator_for = ["AU"]

[[teams]]
id = "catch-all"
name = "Default"
kind = "other"
max_tlp = "green"
default = true
{nested_team}"#
    )
}

fn check_parity(nested: bool) {
    let sb = Sandbox::new();
    let google_asn = cli_route(&sb, "8.8.8.8")["asn"]
        .as_u64()
        .expect("the registry data knows 8.8.8.8's AS");
    let file = sb.path("teams.toml");
    std::fs::write(&file, directory(google_asn, nested)).unwrap();
    let mut import = sb.cmd("fw.db");
    import.arg("teams").arg("import").arg(&file);
    if nested {
        import.arg("--allow-nested-prefixes");
    }
    import.assert().success();
    sb.cmd("fw.db")
        .args([
            "users",
            "add",
            "ana",
            "--team",
            "catch-all",
            "--role",
            "member",
        ])
        .assert()
        .success();
    let token = String::from_utf8(
        sb.cmd("fw.db")
            .args(["tokens", "create", "--user", "ana"])
            .output()
            .expect("token")
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();

    let (mut child, base) = sb.serve("fw.db");
    let mut rules = Vec::new();
    for ip in PROBES {
        let cli = cli_route(&sb, ip);
        let body = ureq::get(&format!("{base}/api/v1/route/{ip}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|e| panic!("GET route {ip}: {e}"))
            .body_mut()
            .read_to_string()
            .expect("route body");
        let web: Value = serde_json::from_str(&body).expect("route JSON");
        assert_eq!(web, cli, "{ip}: the web and the CLI disagree");
        rules.push(cli["rule"].as_str().unwrap_or_default().to_owned());
    }
    let _ = child.kill();
    let _ = child.wait();
    // Every kind of claim answered at least once, so the parity covers them all (domain claims
    // need a domain hint, which neither side is given here: both route by the address).
    for kind in [
        "prefix",
        "asn",
        "country JP",
        "regional coordinator for AU",
        "default team",
    ] {
        assert!(
            rules.iter().any(|r| r.starts_with(kind)),
            "no probe was routed by {kind}: {rules:?}"
        );
    }
    let jp = cli_route(&sb, "61.86.30.75");
    assert_eq!(jp["team"], "jp-cert", "{jp}");
    if nested {
        assert_eq!(cli_route(&sb, "192.0.2.200")["team"], "nested-cert");
    } else {
        assert_eq!(cli_route(&sb, "192.0.2.200")["team"], "prefix-cert");
    }
}

#[test]
fn issue_15_web_route_equals_cli_route() {
    check_parity(false);
}

#[test]
fn issue_15_web_route_equals_cli_route_with_nested_prefixes() {
    check_parity(true);
}
