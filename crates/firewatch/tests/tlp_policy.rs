//! Issue 16, item 4: one TLP setting (`[web] darknet_tlp`) decides the telescope's findings on
//! every output, and docs/tlp.md says how in one table. This test parses that table and, for
//! each level, sets the telescope to it on one small routed capture and checks every output
//! against the level's row: the web API (owning team, another team, one of its
//! administrators, anonymous), the public page, TAXII, `export stix` (validated), `export misp`
//! (distribution read back with PyMISP), `notify preview` (teams whose cap is below and above
//! the level), and the health metrics. The capture is built once; each level works on a copy,
//! brought to the level by `firewatch reattribute` (issue 16: stored findings follow the
//! setting in force).
//!
//! The Python part (stix2-validator, PyMISP) runs with `$FIREWATCH_PYTHON`, else
//! `<workspace>/target/py-venv/bin/python`; without them it is skipped loudly, and fails under
//! `CI=true`.

mod common;
mod share_tools;

use common::Sandbox;
use firewatch_core::TlpLevel;
use serde_json::Value;
use share_tools::{driver, python};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The team that runs the telescope (`darknet_owner`).
const OWNER: &str = "ke-example-cirt";
/// Another team that some of the telescope's sources are routed to.
const OTHER: &str = "jp-example-cert";
/// A third team, of a lower cap (`max_tlp = "green"`), with sources routed to it.
const LOW_CAP: &str = "example-default-team";
const SHARING_GROUP: &str = "5d4e9a52-0000-4000-8000-00000000000c";
const DARKNET: &str = "Firewatch-Darknet";

// The columns of docs/tlp.md's table, by their header.
const COL_OWNER: &str = "API & pages: owning team";
const COL_OTHER: &str = "API & pages: other teams";
const COL_ANON: &str = "Anonymous";
const COL_ADMIN: &str = "Administrators";
const COL_TAXII: &str = "TAXII 2.1";
const COL_STIX: &str = "STIX export";
const COL_MISP: &str = "MISP export (distribution)";
const COL_NOTIFY: &str = "Notify (e-mail, webhook)";
const COL_METRICS: &str = "Health metrics";
const COL_PUBLIC: &str = "Public page";

/// One row of the table: the level and, per column, the cell's `code` words in order.
#[derive(Debug)]
struct Row {
    level: TlpLevel,
    cells: BTreeMap<String, Vec<String>>,
}

impl Row {
    /// The first `code` word of a column (what the test checks).
    fn word(&self, column: &str) -> &str {
        self.words(column)[0].as_str()
    }

    fn words(&self, column: &str) -> &[String] {
        let words = self
            .cells
            .get(column)
            .unwrap_or_else(|| panic!("docs/tlp.md has no column {column:?}"));
        assert!(
            !words.is_empty(),
            "docs/tlp.md: {} / {column}: no `code` word",
            self.level
        );
        words
    }
}

/// The `code` spans of a cell, in order.
fn code_words(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, w)| w.trim().to_owned())
        .collect()
}

/// The table of docs/tlp.md: the first Markdown table whose first header is `TLP`.
fn policy_table() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tlp.md");
    let text = std::fs::read_to_string(&path).expect("docs/tlp.md");
    let split = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let mut lines = text.lines().skip_while(|l| !l.starts_with("| TLP |"));
    let headers = split(
        lines
            .next()
            .expect("docs/tlp.md: a table whose first header is TLP"),
    );
    let separator = lines.next().expect("the table's separator line");
    assert!(separator.starts_with("|---"), "{separator}");
    let rows: Vec<Row> = lines
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells = split(line);
            assert_eq!(cells.len(), headers.len(), "docs/tlp.md: {line}");
            let level: TlpLevel = cells[0]
                .parse()
                .unwrap_or_else(|e| panic!("docs/tlp.md: {e}"));
            Row {
                level,
                cells: headers[1..]
                    .iter()
                    .cloned()
                    .zip(cells[1..].iter().map(|c| code_words(c)))
                    .collect(),
            }
        })
        .collect();
    let levels: Vec<TlpLevel> = rows.iter().map(|r| r.level).collect();
    assert_eq!(
        levels,
        TlpLevel::ALL,
        "docs/tlp.md: one row per TLP 2.0 level"
    );
    rows
}

// ---------------------------------------------------------------------------------------------
// The store

/// The copy of the routed capture's store, with users and their tokens.
struct Tokens {
    owner: String,
    other: String,
    other_admin: String,
}

/// The example directory, a small capture routed to several teams, and three users.
fn base(sb: &Sandbox) -> Tokens {
    sb.routed_telescope("base.db", 60_000, &[]);
    let token = |user: &str, team: &str, role: &str| {
        sb.cmd("base.db")
            .args(["users", "add", user, "--team", team, "--role", role])
            .assert()
            .success();
        let out = sb
            .cmd("base.db")
            .args(["tokens", "create", "--user", user])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    Tokens {
        owner: token("otto", OWNER, "member"),
        other: token("jo", OTHER, "member"),
        other_admin: token("ada", OTHER, "administrator"),
    }
}

/// Copies the base store (and its WAL files, if any) into `sb` as `name`.
fn copy_store(from: &Sandbox, sb: &Sandbox, name: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let src = from.path(&format!("base.db{suffix}"));
        if src.exists() {
            std::fs::copy(&src, sb.path(&format!("{name}{suffix}"))).unwrap();
        }
    }
}

/// `<sandbox>/firewatch/firewatch.toml`: the telescope at `level`, notify policies for three
/// teams (each with e-mail and a webhook), metrics without suppression.
fn configure(sb: &Sandbox, level: TlpLevel) {
    let dir = sb.dir.path().join("firewatch");
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = format!(
        "[web]\ndarknet_tlp = \"{}\"\ndarknet_owner = \"{OWNER}\"\n\n[metrics]\nsuppression_threshold = 1\n\n\
         [notify]\nsender_team = \"{LOW_CAP}\"\nfrom = \"cert@example.org\"\n\
         signing_key = \"no-such-key.asc\"\nlookback_days = 36500\n",
        level.as_str()
    );
    for team in [OWNER, OTHER, LOW_CAP] {
        toml.push_str(&format!(
            "\n[[notify.teams]]\nteam = \"{team}\"\nevents = true\nalerts = true\n\
             email = [\"soc@{team}.example\"]\n\
             webhook = {{ url = \"https://hooks.example.org/{team}\", secret_env = \"FW_TLP_HOOK\" }}\n"
        ));
    }
    std::fs::write(dir.join("firewatch.toml"), toml).unwrap();
}

/// The store's telescope findings (`events export`).
fn darknet_events(sb: &Sandbox, db: &str) -> Vec<Value> {
    let out = sb.cmd(db).args(["events", "export"]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["feed.name"] == DARKNET)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP

fn get(url: &str, token: Option<&str>, accept: &str) -> (u16, String) {
    let mut request = ureq::get(url).header("Accept", accept);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("an answer");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn get_json(url: &str, token: Option<&str>) -> (u16, Value) {
    let (status, text) = get(url, token, "application/json");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// What one viewer gets of the telescope over the API.
#[derive(Debug, PartialEq)]
struct ApiView {
    /// Status of `/sources`, `/attacks`, `/alerts`.
    lists: [u16; 3],
    /// The telescope's findings among `/events`.
    events: usize,
    /// Status and scope of `/alerts/{id}/sources`.
    alert_sources: (u16, Option<String>),
}

fn api_view(base: &str, token: Option<&str>, alert: &str) -> ApiView {
    let lists = ["sources", "attacks", "alerts"]
        .map(|p| get_json(&format!("{base}/api/v1/{p}?limit=10"), token).0);
    let (status, body) = get_json(
        &format!("{base}/api/v1/events?limit=1000&where=feed.name%20%3D%20{DARKNET}"),
        token,
    );
    let events = match status {
        200 => body["items"].as_array().unwrap().len(),
        401 | 403 => 0,
        other => panic!("/events: {other} {body}"),
    };
    let (status, body) = get_json(&format!("{base}/api/v1/alerts/{alert}/sources"), token);
    let scope = body["scope"].as_str().map(str::to_owned);
    ApiView {
        lists,
        events,
        alert_sources: (status, scope),
    }
}

/// The objects of each TAXII collection the caller reads, by alias.
fn taxii_objects(base: &str, token: &str) -> BTreeMap<String, Vec<Value>> {
    let media = "application/taxii+json;version=2.1";
    let (status, text) = get(
        &format!("{base}/taxii2/firewatch/collections/"),
        Some(token),
        media,
    );
    assert_eq!(status, 200, "{text}");
    let collections: Value = serde_json::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for c in collections["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let (status, text) = get(
            &format!("{base}/taxii2/firewatch/collections/{id}/objects/?limit=1000"),
            Some(token),
            media,
        );
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["more"], false, "{id}: one page");
        let objects = body["objects"].as_array().cloned().unwrap_or_default();
        out.insert(c["alias"].as_str().unwrap().to_owned(), objects);
    }
    out
}

/// Every address a collection's objects name: the values of its addresses and of its
/// indicators' patterns.
fn taxii_addresses(objects: &[Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in objects {
        match o["type"].as_str() {
            Some("ipv4-addr" | "ipv6-addr") => {
                out.insert(o["value"].as_str().unwrap().to_owned());
            }
            Some("indicator") => {
                if let Some(addr) = o["pattern"].as_str().and_then(|p| p.split('\'').nth(1)) {
                    out.insert(addr.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

/// `own` in TAXII, for `team` reading `objects`: the campaign of each alert with its sources
/// (those `GET /api/v1/alerts?team=<own>` lists), its own sources of them as indicators that
/// `indicates` a campaign, and no address that is not its own (its routed findings, its
/// sources of the alerts). `None` when it holds; else what is wrong.
fn taxii_own_part(
    base: &str,
    token: &str,
    team: &str,
    objects: &[Value],
    events: &[Value],
) -> Option<String> {
    let (status, alerts) = get_json(
        &format!("{base}/api/v1/alerts?team={team}&limit=1000"),
        Some(token),
    );
    if status != 200 {
        return Some(format!("/alerts?team={team}: {status} {alerts}"));
    }
    let alerts: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let campaigns = objects.iter().filter(|o| o["type"] == "campaign").count();
    if alerts.is_empty() || campaigns != alerts.len() {
        return Some(format!(
            "{campaigns} campaigns for the {} alerts with its sources",
            alerts.len()
        ));
    }
    let mut own: BTreeSet<String> = events
        .iter()
        .filter(|e| e["extra.team"] == team)
        .filter_map(|e| e["source.ip"].as_str().map(str::to_owned))
        .collect();
    let mut alert_sources = BTreeSet::new();
    for alert in &alerts {
        let (status, body) = get_json(
            &format!("{base}/api/v1/alerts/{alert}/sources?team={team}"),
            Some(token),
        );
        assert_eq!(status, 200, "{body}");
        for s in body["items"].as_array().unwrap() {
            alert_sources.insert(s["addr"].as_str().unwrap().to_owned());
        }
    }
    own.extend(alert_sources.iter().cloned());
    let named = taxii_addresses(objects);
    let foreign: Vec<&String> = named.difference(&own).collect();
    if !foreign.is_empty() {
        return Some(format!("addresses not its own: {foreign:?}"));
    }
    let missing: Vec<&String> = alert_sources.difference(&named).collect();
    if !missing.is_empty() {
        return Some(format!("its alert sources missing: {missing:?}"));
    }
    let indicates = objects
        .iter()
        .filter(|o| {
            o["type"] == "relationship"
                && o["relationship_type"] == "indicates"
                && o["target_ref"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("campaign--"))
        })
        .count();
    if indicates < alert_sources.len() {
        return Some(format!(
            "{indicates} indicators of a campaign for {} alert sources",
            alert_sources.len()
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Python

// ---------------------------------------------------------------------------------------------
// Exports

/// `export stix ARGS`: the bundle's objects carrying `level`'s marking.
fn stix_marked(
    sb: &Sandbox,
    db: &str,
    args: &[&str],
    level: TlpLevel,
    save: Option<&Path>,
) -> usize {
    let out = sb
        .cmd(db)
        .args(["export", "stix"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export stix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(path) = save {
        std::fs::write(path, &out.stdout).unwrap();
    }
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    let marking = firewatch_share::tlp::marking_id(level);
    // The findings' objects: not the producer, the markings, the extension's definition.
    let objects: Vec<&Value> = bundle["objects"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|o| {
            !["identity", "marking-definition", "extension-definition"]
                .contains(&o["type"].as_str().unwrap_or_default())
        })
        .collect();
    for o in &objects {
        // Every telescope finding carries the telescope's level, nothing else.
        if let Some(refs) = o["object_marking_refs"].as_array() {
            assert_eq!(refs, &[Value::from(marking)], "{level}: {o}");
        }
    }
    objects
        .iter()
        .filter(|o| {
            o["object_marking_refs"]
                .as_array()
                .is_some_and(|r| r.iter().any(|m| m == marking))
        })
        .count()
}

/// `export misp --tlp red DIR`: (tlp tag, distribution, sharing group) of every event.
fn misp_events(
    sb: &Sandbox,
    db: &str,
    dir: &Path,
    envs: &[(&str, &str)],
) -> Vec<(String, String, Option<String>)> {
    let mut cmd = sb.cmd(db);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["export", "misp", "--tlp", "red"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut events = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") || name == "manifest.json" {
            continue;
        }
        let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let e = &json["Event"];
        let tag = e["Tag"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .find(|t| t.starts_with("tlp:"))
            .unwrap()
            .to_owned();
        events.push((
            tag,
            e["distribution"].as_str().unwrap().to_owned(),
            e["SharingGroup"]["uuid"].as_str().map(str::to_owned),
        ));
    }
    events
}

// ---------------------------------------------------------------------------------------------
// The test

/// What a viewer of `access` (`all`, `own`, `none`) gets over the API: `findings` the
/// telescope's findings, `own` those routed to the viewer's team, `team` the viewer's team.
fn expected_api(access: &str, anonymous: bool, findings: usize, own: usize, team: &str) -> ApiView {
    let refused = if anonymous { 401 } else { 403 };
    match access {
        "all" => ApiView {
            lists: [200; 3],
            events: findings,
            alert_sources: (200, Some("all".to_owned())),
        },
        "own" => ApiView {
            lists: [refused; 3],
            events: own,
            alert_sources: (200, Some(team.to_owned())),
        },
        "none" => ApiView {
            lists: [refused; 3],
            events: 0,
            alert_sources: (refused, None),
        },
        other => panic!("docs/tlp.md: unknown access word {other:?}"),
    }
}

/// The three notified teams and their caps (`max_tlp` in examples/teams.toml).
const CAPS: [(&str, TlpLevel); 3] = [
    (OWNER, TlpLevel::AmberStrict),
    (OTHER, TlpLevel::Amber),
    (LOW_CAP, TlpLevel::Green),
];

/// Whether the Notify column lets `team` be told of the telescope's findings at all.
fn may_tell(row: &Row, team: &str) -> bool {
    match row.word(COL_NOTIFY) {
        "routed" => true,
        "owner" => team == OWNER,
        "never" => false,
        other => panic!("docs/tlp.md: {COL_NOTIFY}: unknown word {other:?}"),
    }
}

/// Whether `team` of cap `cap` is told: it may be, and its cap allows the level.
fn told(row: &Row, team: &str, cap: TlpLevel) -> bool {
    may_tell(row, team) && cap >= row.level
}

#[test]
fn every_output_follows_the_documented_tlp_table() {
    let table = policy_table();
    let python = python();
    let base_sb = Sandbox::new();
    let tokens = base(&base_sb);
    let mut failures = Vec::new();
    for row in &table {
        let level = row.level;
        let sb = Sandbox::new();
        copy_store(&base_sb, &sb, "t.db");
        configure(&sb, level);
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("{level}: {what}"));
            }
        };

        // The stored findings are brought to the setting (and a second run changes nothing).
        let first = sb.json("t.db", &["reattribute"]);
        assert!(first["findings_retagged"].as_u64().unwrap() > 0, "{first}");
        let again = sb.json("t.db", &["reattribute"]);
        assert_eq!(again["findings_retagged"], 0, "{again}");
        let events = darknet_events(&sb, "t.db");
        assert!(events.len() > 3, "the capture makes findings");
        for e in &events {
            assert_eq!(e["tlp"], level.event_value(), "{e}");
            assert_eq!(e["extra.owner"], OWNER, "{e}");
        }
        let findings = events.len();
        let routed_to = |team: &str| events.iter().filter(|e| e["extra.team"] == team).count();
        assert!(routed_to(OTHER) > 0 && routed_to(OTHER) < findings);
        let alerts = sb.json("t.db", &["alerts", "list"]);
        let alert = alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["top_teams"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t[0] == OTHER))
            })
            .expect("an alert with sources of the other team")["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // The web API, the public page and TAXII.
        let (mut child, base) = sb.serve("t.db");
        let viewers = [
            (COL_OWNER, Some(tokens.owner.as_str()), OWNER),
            (COL_OTHER, Some(tokens.other.as_str()), OTHER),
            (COL_ANON, None, ""),
        ];
        for (column, token, team) in viewers {
            let got = api_view(&base, token, &alert);
            let want = expected_api(
                row.word(column),
                token.is_none(),
                findings,
                routed_to(team),
                team,
            );
            check(
                got == want,
                format!("API, {column}: got {got:?}, documented {want:?}"),
            );
        }
        check(
            row.word(COL_ADMIN) == "as-team",
            format!("{COL_ADMIN}: unknown word {}", row.word(COL_ADMIN)),
        );
        let admin = api_view(&base, Some(&tokens.other_admin), &alert);
        let member = api_view(&base, Some(&tokens.other), &alert);
        check(
            admin == member,
            format!("API, an administrator of {OTHER}: {admin:?}, its member: {member:?}"),
        );

        let (status, page) = get(&format!("{base}/public"), None, "text/html");
        assert_eq!(status, 200);
        let counted: usize = page
            .split("counted here: ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("the public page's count");
        let top_ports = page.contains("Telescope: top ports");
        match row.word(COL_PUBLIC) {
            "shown" => check(
                counted == findings && top_ports,
                format!("public page: {counted} counted, top ports {top_ports}"),
            ),
            "hidden" => check(
                counted == 0 && !top_ports,
                format!("public page: {counted} counted, top ports {top_ports}"),
            ),
            other => panic!("docs/tlp.md: {COL_PUBLIC}: unknown word {other:?}"),
        }

        let collection = row.word(COL_TAXII).to_owned();
        let owner_taxii = taxii_objects(&base, &tokens.owner);
        let other_taxii = taxii_objects(&base, &tokens.other);
        for (column, objects) in [(COL_OWNER, &owner_taxii), (COL_OTHER, &other_taxii)] {
            let elsewhere: usize = objects
                .iter()
                .filter(|(alias, _)| **alias != collection)
                .map(|(_, o)| o.len())
                .sum();
            check(
                elsewhere == 0,
                format!("TAXII, {column}: objects outside {collection}: {objects:?}"),
            );
        }
        let count =
            |objects: &BTreeMap<String, Vec<Value>>| objects.get(&collection).map_or(0, Vec::len);
        let owner_n = count(&owner_taxii);
        let other_n = count(&other_taxii);
        for (column, n) in [(COL_OWNER, owner_n), (COL_OTHER, other_n)] {
            let ok = match row.word(column) {
                "all" => n > 0 && n == owner_n,
                "own" => n > 0,
                _ => n == 0,
            };
            check(
                ok,
                format!("TAXII, {column}: {n} objects in {collection} (owner {owner_n})"),
            );
        }
        // `own`: what the team is told of the telescope (as `export stix --team`): the
        // campaigns of the alerts with its sources, and only its own addresses.
        for (column, token, team, objects) in [
            (COL_OWNER, &tokens.owner, OWNER, &owner_taxii),
            (COL_OTHER, &tokens.other, OTHER, &other_taxii),
        ] {
            if row.word(column) == "own" {
                let objects = objects.get(&collection).map_or(&[][..], Vec::as_slice);
                if let Some(wrong) = taxii_own_part(&base, token, team, objects, &events) {
                    check(false, format!("TAXII, {column}: {wrong}"));
                }
            }
        }
        if row.word(COL_OTHER) == "all" {
            check(
                other_taxii.get(&collection) == owner_taxii.get(&collection),
                format!("TAXII, {COL_OTHER}: not the owner's {collection}"),
            );
        }
        let _ = child.kill();
        let _ = child.wait();

        // STIX: by default, with --tlp at the documented level (validated), below it, and as
        // each team reads.
        let default = stix_marked(&sb, "t.db", &[], level, None);
        let needed = match row.word(COL_STIX) {
            "default" => {
                check(
                    default > 0,
                    format!("STIX: {default} findings in the default export"),
                );
                TlpLevel::Green
            }
            word => {
                check(
                    default == 0,
                    format!("STIX: {default} findings in the default export"),
                );
                let needed: TlpLevel = word.parse().expect("a level");
                let below =
                    TlpLevel::ALL[TlpLevel::ALL.iter().position(|l| *l == needed).unwrap() - 1];
                let n = stix_marked(&sb, "t.db", &["--tlp", below.as_str()], level, None);
                check(
                    n == 0,
                    format!("STIX: {n} findings with --tlp {}", below.as_str()),
                );
                needed
            }
        };
        let bundle = sb.path("bundle.json");
        let all = stix_marked(
            &sb,
            "t.db",
            &["--tlp", needed.as_str()],
            level,
            Some(&bundle),
        );
        check(
            all > 0,
            format!("STIX: no finding with --tlp {}", needed.as_str()),
        );
        if let Some(python) = &python {
            driver(python, &["validate", bundle.to_str().unwrap()]);
        }
        // A team's own export (`--team`) is what the team is told: as notify (below).
        for (team, cap) in CAPS {
            let n = stix_marked(&sb, "t.db", &["--team", team], level, None);
            let told = told(row, team, cap);
            check(
                (n > 0) == told,
                format!("STIX --team {team} (cap {cap}): {n} objects, told {told}"),
            );
        }

        // MISP: the distribution, without and with a sharing group, read back with PyMISP.
        let words = row.words(COL_MISP);
        let tag = format!("tlp:{}", level.as_str());
        for (envs, want, group) in [
            (vec![], words[0].clone(), None),
            (
                vec![("FIREWATCH__SHARE__MISP__SHARING_GROUP_UUID", SHARING_GROUP)],
                words.get(1).unwrap_or(&words[0]).clone(),
                Some(SHARING_GROUP),
            ),
        ] {
            let dir = sb.path(if group.is_some() {
                "misp-group"
            } else {
                "misp"
            });
            let got = misp_events(&sb, "t.db", &dir, &envs);
            if want == "never" {
                check(got.is_empty(), format!("MISP: events written: {got:?}"));
                continue;
            }
            let group_of = |d: &str| (d == "4").then(|| group.unwrap_or_default().to_owned());
            check(
                !got.is_empty()
                    && got
                        .iter()
                        .all(|(t, d, g)| *t == tag && *d == want && *g == group_of(d)),
                format!("MISP (sharing group {group:?}): {got:?}, documented {want}"),
            );
            if let Some(python) = &python {
                let read = driver(python, &["misp-distribution", dir.to_str().unwrap()]);
                let expected = match group_of(&want) {
                    Some(g) => format!("distribution {tag} {want} {g}"),
                    None => format!("distribution {tag} {want}"),
                };
                check(
                    read.lines().all(|l| l == expected) && read.lines().count() == got.len(),
                    format!("PyMISP read {read:?}, documented {expected}"),
                );
            }
        }

        // Notify: who is told, who is held back by its cap, on both channels.
        let out = sb
            .cmd("t.db")
            .env("FW_TLP_HOOK", "a shared secret")
            .args(["notify", "preview", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let preview: Value = serde_json::from_slice(&out.stdout).unwrap();
        for (team, cap) in CAPS {
            let may_tell = may_tell(row, team);
            let notices: Vec<&Value> = preview["notices"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["team"] == team)
                .collect();
            let channels: BTreeSet<&str> = notices
                .iter()
                .map(|n| n["channel"].as_str().unwrap())
                .collect();
            let held = preview["held_back"][team].as_u64().unwrap_or(0);
            let told = told(row, team, cap);
            check(
                if told {
                    channels == BTreeSet::from(["email", "webhook"])
                } else {
                    notices.is_empty()
                },
                format!("notify {team} (cap {cap}): told {told}, got {notices:?}"),
            );
            for n in &notices {
                let tlp: TlpLevel = n["tlp"].as_str().unwrap().parse().unwrap();
                check(tlp == level, format!("notify {team}: a notice at {tlp}"));
            }
            check(
                (held > 0) == (may_tell && cap < level),
                format!("notify {team} (cap {cap}): {held} held back"),
            );
        }

        // Health metrics: the team's view always counts the findings; the public's only when
        // documented.
        sb.cmd("t.db")
            .args(["metrics", "compute"])
            .assert()
            .success();
        let team_rows = sb.json("t.db", &["metrics", "export"]);
        let public_rows = sb.json("t.db", &["metrics", "export", "--public"]);
        let team_n = team_rows.as_array().unwrap().len();
        let public_n = public_rows.as_array().unwrap().len();
        check(team_n > 0, "metrics: the team's view is empty".into());
        match row.word(COL_METRICS) {
            "published" => check(
                public_n == team_n,
                format!("metrics: {public_n} of {team_n} published"),
            ),
            "team-only" => check(public_n == 0, format!("metrics: {public_n} published")),
            other => panic!("docs/tlp.md: {COL_METRICS}: unknown word {other:?}"),
        }
    }
    assert!(
        failures.is_empty(),
        "outputs that do not match docs/tlp.md:\n{}",
        failures.join("\n")
    );
}

/// Issue 16: a stricter setting reaches the findings stored before it. A store ingested under
/// GREEN and brought to AMBER+STRICT by `reattribute` equals one ingested under AMBER+STRICT,
/// and the other team's view of it is empty.
#[test]
fn reattribute_brings_stored_findings_to_a_stricter_setting() {
    let before = Sandbox::new();
    before.routed_telescope("t.db", 60_000, &[]);
    let green = darknet_events(&before, "t.db");
    assert!(!green.is_empty() && green.iter().all(|e| e["tlp"] == "GREEN"));
    configure(&before, TlpLevel::AmberStrict);
    let report = before.json("t.db", &["reattribute"]);
    assert_eq!(report["findings_retagged"], green.len(), "{report}");

    let from_start = Sandbox::new();
    configure(&from_start, TlpLevel::AmberStrict);
    from_start.routed_telescope("t.db", 60_000, &[]);
    let lines = |sb: &Sandbox| {
        let mut v: Vec<String> = darknet_events(sb, "t.db")
            .iter()
            .map(Value::to_string)
            .collect();
        v.sort();
        v
    };
    let retagged = lines(&before);
    assert_eq!(retagged, lines(&from_start));
    assert!(retagged.iter().all(|l| l.contains("\"AMBER+STRICT\"")));
    // Deriving the findings again finds them stored (the dedupe keys follow the owner).
    let out = before
        .cmd("t.db")
        .args(["events", "from-darknet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&before), retagged);
}
