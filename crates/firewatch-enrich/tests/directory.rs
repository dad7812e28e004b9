//! Team directory: the sample file, validation errors with file and line, round trips, the
//! Trusted-Introducer CSV importer.

use firewatch_enrich::directory::{
    Directory, DirectoryError, Field, TeamKind, TlpLevel, ValidationPolicy,
    import_trusted_introducer_csv,
};
use std::path::Path;

fn sample_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/teams.toml")
}

fn sample() -> Directory {
    Directory::load_toml_file(&sample_path()).unwrap_or_else(|e| panic!("{e}"))
}

const GOOD_KEY: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

fn team(id: &str, extra: &str) -> String {
    format!(
        "[[teams]]\nid = \"{id}\"\nname = \"Team {id}\"\nkind = \"national-csirt\"\nmax_tlp = \"amber\"\n{extra}\n"
    )
}

/// Loads and returns the error text; panics if it loaded.
fn error_of(text: &str) -> (DirectoryError, String) {
    match Directory::from_toml_str(text, "teams.toml") {
        Ok(_) => panic!("loaded but should not:\n{text}"),
        Err(e) => {
            let msg = e.to_string();
            (e, msg)
        }
    }
}

#[test]
fn sample_loads_with_every_field() {
    let dir = sample();
    assert_eq!(dir.teams.len(), 5);
    let ke = dir.team("ke-example-cirt").unwrap();
    assert_eq!(ke.kind, TeamKind::NationalCsirt);
    assert_eq!(ke.max_tlp, TlpLevel::AmberStrict);
    assert!(ke.national_poc);
    assert!(ke.openpgp.as_ref().unwrap().armored.is_some());
    assert!(ke.contacts.iter().any(|c| c.available_24_7));
    assert!(ke.may_receive(TlpLevel::AmberStrict) && !ke.may_receive(TlpLevel::Red));
    assert_eq!(
        dir.default_team().unwrap().id.as_str(),
        "example-default-team"
    );
    let coord = dir.team("oic-example-coord").unwrap();
    assert_eq!(coord.regional_coordinator_for.len(), 3);
}

#[test]
fn toml_round_trip() {
    let dir = sample();
    let text = dir.to_toml().unwrap();
    let again =
        Directory::from_toml_str(&text, "roundtrip.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(dir, again);
}

#[test]
fn json_round_trip() {
    let dir = sample();
    let text = dir.to_json().unwrap();
    assert!(text.contains("\"max_tlp\": \"amber+strict\""));
    assert_eq!(Directory::from_json_str(&text, "teams.json").unwrap(), dir);
}

#[test]
fn tlp_order_and_names() {
    use TlpLevel::*;
    assert!(Clear < Green && Green < Amber && Amber < AmberStrict && AmberStrict < Red);
    let labels: Vec<_> = TlpLevel::ALL.iter().map(|l| l.label()).collect();
    assert_eq!(
        labels,
        [
            "TLP:CLEAR",
            "TLP:GREEN",
            "TLP:AMBER",
            "TLP:AMBER+STRICT",
            "TLP:RED"
        ]
    );
    for l in TlpLevel::ALL {
        assert_eq!(l.label().parse::<TlpLevel>().unwrap(), l);
        assert_eq!(l.as_str().parse::<TlpLevel>().unwrap(), l);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            format!("\"{}\"", l.as_str())
        );
    }
}

#[test]
fn syntax_error_names_file_and_line() {
    let text = format!("{}\nbogus_field = 1\n", team("a", ""));
    let (e, msg) = error_of(&text);
    assert!(matches!(e, DirectoryError::Syntax { line: 8, .. }), "{msg}");
    assert!(msg.starts_with("teams.toml:8:"), "{msg}");
    assert!(msg.contains("bogus_field"), "{msg}");
}

#[test]
fn country_code_shape_error_has_line() {
    let text = format!("{}{}", team("a", ""), team("b", "country = \"KEN\""));
    let (_, msg) = error_of(&text);
    assert!(msg.starts_with("teams.toml:12:"), "{msg}");
    assert!(msg.contains("KEN"), "{msg}");
}

#[test]
fn duplicate_id_reports_both_lines() {
    let text = format!("{}{}", team("same", ""), team("same", ""));
    let (e, msg) = error_of(&text);
    assert_eq!(e.problems().len(), 1, "{msg}");
    assert!(
        msg.contains("teams.toml:8: team `same`: duplicate team id"),
        "{msg}"
    );
    assert!(msg.contains("(see line 2)"), "{msg}");
}

#[test]
fn overlapping_prefixes_name_both_teams_and_lines() {
    let text = format!(
        "{}{}",
        team(
            "outer",
            "constituency = { prefixes = [\"203.0.113.0/24\"] }"
        ),
        team(
            "inner",
            "constituency = { prefixes = [\"192.0.2.0/24\", \"203.0.113.128/25\"] }"
        ),
    );
    let (e, msg) = error_of(&text);
    assert_eq!(e.problems().len(), 1, "{msg}");
    let p = &e.problems()[0];
    assert_eq!(p.line, Some(12));
    assert_eq!(p.related_line, Some(6));
    assert_eq!(p.field, Field::Prefix(1));
    assert!(msg.contains("teams.toml:12: team `inner`"), "{msg}");
    assert!(
        msg.contains("203.0.113.128/25") && msg.contains("203.0.113.0/24"),
        "{msg}"
    );
    assert!(msg.contains("team `outer`"), "{msg}");

    // A deliberate delegation loads when nested prefixes are allowed.
    let policy = ValidationPolicy {
        allow_nested_prefixes: true,
    };
    Directory::from_toml_str_with(&text, "teams.toml", &policy).unwrap();
}

#[test]
fn same_prefix_is_refused_even_when_nesting_is_allowed() {
    let text = format!(
        "{}{}",
        team("a", "constituency = { prefixes = [\"2001:db8::/32\"] }"),
        team("b", "constituency = { prefixes = [\"2001:db8::/32\"] }"),
    );
    let policy = ValidationPolicy {
        allow_nested_prefixes: true,
    };
    let msg = Directory::from_toml_str_with(&text, "teams.toml", &policy)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("teams.toml:12: team `b`: prefix `2001:db8::/32` is also claimed by team `a`"),
        "{msg}"
    );
}

#[test]
fn all_problems_are_collected_with_lines() {
    let bad_armor = "openpgp = { fingerprint = \"0123 4567\", armored = \"-----BEGIN PGP PRIVATE KEY BLOCK-----\\nxx\\n-----END PGP PRIVATE KEY BLOCK-----\" }";
    let text = [
        team("first", "default = true\ncountry = \"ZZ\""), // lines 1-7
        team("second", bad_armor),                           // lines 8-13
        team("Bad_Id", "default = true\nconstituency = { countries = [\"KE\", \"QQ\"], prefixes = [\"198.51.100.7/24\"], domains = [\"*.example.org\"] }"),
    ]
    .concat();
    let (e, msg) = error_of(&text);
    let lines: Vec<_> = e.problems().iter().map(|p| p.line.unwrap()).collect();
    // ZZ (7), fingerprint and armored (13), id (15), default (19), QQ, host bits, wildcard (20).
    assert_eq!(e.problems().len(), 8, "{msg}");
    assert_eq!(lines, [7, 13, 13, 15, 19, 20, 20, 20], "{msg}");
    assert!(
        msg.starts_with("teams.toml: 8 problems in the team directory; nothing was loaded"),
        "{msg}"
    );
    assert!(
        msg.contains("teams.toml:7: team `first`: `ZZ` is not an assigned"),
        "{msg}"
    );
    assert!(
        msg.contains("not 40 hexadecimal characters; write it without spaces"),
        "{msg}"
    );
    assert!(msg.contains("PRIVATE key"), "{msg}");
    assert!(msg.contains("(see line 6)"), "{msg}");
    assert!(
        msg.contains("teams.toml:15: team `Bad_Id`: id `Bad_Id` is not a slug"),
        "{msg}"
    );
    assert!(
        msg.contains("teams.toml:19: team `Bad_Id`: a second default team; team `first`"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `198.51.100.0/24`?"), "{msg}");
    assert!(msg.contains("`QQ`"), "{msg}");
}

#[test]
fn armored_key_shape() {
    let ok = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF0=\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";
    let t = team(
        "a",
        &format!("openpgp = {{ fingerprint = \"{GOOD_KEY}\", armored = '''\n{ok}''' }}"),
    );
    // Inline tables cannot span lines in TOML 1.0; use a table instead.
    let t = t.replace(
        &format!("openpgp = {{ fingerprint = \"{GOOD_KEY}\", armored = '''\n{ok}''' }}"),
        &format!("[teams.openpgp]\nfingerprint = \"{GOOD_KEY}\"\narmored = '''\n{ok}'''"),
    );
    Directory::from_toml_str(&t, "teams.toml").unwrap_or_else(|e| panic!("{e}"));
    for bad in [
        "not a key",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n%%%\n-----END PGP PUBLIC KEY BLOCK-----",
    ] {
        let t = format!(
            "{}[teams.openpgp]\nfingerprint = \"{GOOD_KEY}\"\narmored = '''{bad}'''\n",
            team("a", "")
        );
        let (_, msg) = error_of(&t);
        assert!(msg.contains("teams.toml:9:"), "{msg}");
    }
}

#[test]
fn json_errors_name_the_team() {
    let text = r#"{"teams":[{"id":"a","name":"A","kind":"soc","max_tlp":"red","default":true},
                  {"id":"b","name":"B","kind":"soc","max_tlp":"red","default":true}]}"#;
    let msg = Directory::from_json_str(text, "teams.json")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("teams.json: team #2: team `b`: a second default team"),
        "{msg}"
    );
    let msg = Directory::from_json_str("{\"teams\": 3}", "teams.json")
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("teams.json:1:"), "{msg}");
}

#[test]
fn failed_load_from_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my-teams.toml");
    std::fs::write(&path, format!("{}{}", team("x", ""), team("x", ""))).unwrap();
    let msg = Directory::load_toml_file(&path).unwrap_err().to_string();
    assert!(
        msg.contains("my-teams.toml:8: team `x`: duplicate team id"),
        "{msg}"
    );
}

#[test]
fn trusted_introducer_csv_import() {
    let csv = "\
Team Name,Short Name,Country,Type,Email,Phone,PGP Key Fingerprint,Membership,Constituency,Listed Since
Example CIRT Kenya,KE-CIRT,KE,National CSIRT,cirt@example.ke;alt@example.ke,+254 20 000 0000,0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567,FIRST;AfricaCERT,KE AS64496 192.0.2.0/24 example.ke,2001
Example Bank CSIRT,,JP,Financial Sector,csirt@bank.example.jp,,,APCERT,198.51.100.0/25,2010
No Country Code,NCC,Kenya,National CSIRT,x@example.org,,,,,2012
,EMPTY,KE,,,,,,,2013
Bad Key Team,BKT,EE,Government,bkt@example.ee,,12345,,,2014
Bad Token Team,BTT,EE,,btt@example.ee,,,,not-a-claim,2015
Example PSIRT,KE-CIRT,,Vendor PSIRT,psirt@example.com,,,,,2016
";
    let import = import_trusted_introducer_csv(csv.as_bytes(), "ti.csv").unwrap();
    assert_eq!(import.ignored_columns, ["Listed Since"]);
    let ids: Vec<_> = import.teams.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["ke-cirt", "example-bank-csirt"]);
    let lines: Vec<_> = import.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 5, 6, 7, 8], "{:?}", import.rejected);
    assert!(import.rejected[0].message.contains("Kenya"));
    assert!(import.rejected[1].message.contains("Team Name"));
    assert!(import.rejected[2].message.contains("12345"));
    assert!(import.rejected[3].message.contains("not-a-claim"));
    assert!(
        import.rejected[4]
            .message
            .contains("duplicate team id `ke-cirt`")
    );

    let ke = &import.teams[0];
    assert_eq!(ke.kind, TeamKind::NationalCsirt);
    assert_eq!(ke.contacts.len(), 3);
    assert_eq!(ke.openpgp.as_ref().unwrap().fingerprint, GOOD_KEY);
    assert_eq!(ke.memberships, ["FIRST", "AfricaCERT"]);
    assert_eq!(ke.constituency.asns, [64496]);
    assert_eq!(ke.constituency.domains, ["example.ke"]);
    assert_eq!(ke.constituency.countries[0].as_str(), "KE");
    assert_eq!(ke.max_tlp, TlpLevel::Green);
    assert_eq!(import.teams[1].kind, TeamKind::SectorCsirt);

    // The imported teams form a valid directory that survives a TOML round trip.
    let dir = import.into_directory();
    dir.validate(&ValidationPolicy::default()).unwrap();
    let again = Directory::from_toml_str(&dir.to_toml().unwrap(), "imported.toml").unwrap();
    assert_eq!(again, dir);
}

#[test]
fn csv_without_team_name_column_is_refused() {
    let msg = import_trusted_introducer_csv("Short Name,Country\nX,KE\n".as_bytes(), "ti.csv")
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("ti.csv: the header has no `Team Name` column"),
        "{msg}"
    );
}
