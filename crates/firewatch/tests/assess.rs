//! `firewatch assess` end to end (issue 21): the three shared X.1060 matrices imported into the
//! store through the CLI, their views against the figures computed by hand in
//! crates/firewatch-assess/tests/matrices.rs, malformed files refused with their line and the
//! stored assessment kept, and charts written whole or not at all.

mod common;
use common::{Sandbox, shared_data};
use serde_json::Value;
use std::path::PathBuf;

const DB: &str = "s.db";

fn matrix(code: &str) -> PathBuf {
    shared_data().join("x1060").join(format!("{code}.csv"))
}

/// A sandbox whose store holds JP, US and SG, imported from the shared matrices.
fn with_three() -> Sandbox {
    let sb = Sandbox::new();
    for code in ["jp", "us", "sg"] {
        sb.cmd(DB)
            .args(["assess", "import"])
            .arg(matrix(code))
            .args(["--scope", code, "--assessed-by", "JPCERT/CC"])
            .args(["--source", "ITU-T SG17 workshop, February 2024"])
            .args(["--assessed-on", "2024-02-01", "--tlp", "clear"])
            .assert()
            .success();
    }
    sb
}

fn stdout(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.cmd(DB).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One CSV line's fields (double quotes honoured, as in the shared files' names).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// The kind names of the matrices' headings, in their order.
const KINDS: [&str; 10] = [
    "ncsc",
    "national-csirt",
    "psirt",
    "private-csirt",
    "law-enforcement",
    "isac",
    "national-soc",
    "private-soc",
    "academia",
    "certificate-vendor",
];

fn close(value: &Value, expected: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is no number"));
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

/// The row of a view's JSON list whose `row.item` is `item`.
fn row<'a>(rows: &'a Value, item: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["row"]["item"] == item)
        .unwrap_or_else(|| panic!("no row {item}"))
}

#[test]
fn the_shared_matrices_import_and_show_their_cells() {
    let sb = with_three();
    let list = sb.json(DB, &["assess", "list"]);
    let scopes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["JP", "SG", "US"]);
    let us = &list[2];
    assert_eq!(us["cells"], 45);
    assert_eq!(us["tlp"], "clear");
    assert_eq!(us["assessed_on"], "2024-02-01");
    assert!(us.get("document").is_none(), "{us}");
    let imported = us["imported_at"].as_str().expect("RFC 3339");
    assert!(imported.parse::<jiff::Timestamp>().is_ok() && imported.ends_with('Z'));

    // `show us --json`: every cell of the file, "no part" (empty) as null, never 0.
    let shown = sb.json(DB, &["assess", "show", "us"]);
    assert_eq!(shown["scope"], "US");
    let cells = shown["heatmap"]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 90);
    let text = std::fs::read_to_string(matrix("us")).unwrap();
    let mut checked = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f = fields(line);
        for (kind, value) in KINDS.iter().zip(&f[2..]) {
            let cell = cells
                .iter()
                .find(|c| c["item"] == f[0].as_str() && c["kind"] == *kind)
                .unwrap_or_else(|| panic!("no cell {} × {kind}", f[0]));
            if value.is_empty() {
                assert!(cell["score"].is_null(), "{cell}");
            } else {
                close(&cell["score"], value.parse().unwrap());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 90);

    // The table: H is carried by law enforcement alone; "no part" is `-`.
    let table = stdout(&sb, &["assess", "show", "US"]);
    let h = table.lines().find(|l| l.starts_with("H ")).unwrap();
    let columns: Vec<&str> = h.split_whitespace().rev().take(10).collect();
    assert_eq!(
        columns,
        ["-", "-", "-", "-", "-", "10", "-", "-", "-", "-"],
        "{h}"
    );
}

#[test]
fn views_match_the_hand_computed_figures() {
    let sb = with_three();

    // Concentration. US H: LE/Justice 10 alone: share 1, HHI 1.0.
    let us = sb.json(DB, &["assess", "concentration", "US"]);
    let h = row(&us, "H");
    assert_eq!(h["carriers"], 1);
    assert_eq!(h["top_kind"], "law-enforcement");
    close(&h["top_share"], 1.0);
    close(&h["hhi"], 1.0);
    // US A: 10, 1, 1, 3, 1, 3 (total 19): HHI 121/361, NCSC's share 10/19.
    let a = row(&us, "A");
    close(&a["total"], 19.0);
    close(&a["hhi"], 121.0 / 361.0);
    close(&a["top_share"], 10.0 / 19.0);
    // SG D: three equal carriers of 10: HHI 1/3, the first column (NCSC) on top.
    let sg = sb.json(DB, &["assess", "concentration", "sg"]);
    close(&row(&sg, "D")["hhi"], 1.0 / 3.0);
    close(&row(&sg, "D")["effective_carriers"], 3.0);
    assert_eq!(row(&sg, "D")["top_kind"], "ncsc");
    // JP H: LE 9, National SOC 5: HHI 106/196.
    let jp = sb.json(DB, &["assess", "concentration", "JP"]);
    close(&row(&jp, "H")["hhi"], 106.0 / 196.0);
    let table = stdout(&sb, &["assess", "concentration", "US"]);
    let h = table.lines().find(|l| l.starts_with("H ")).unwrap();
    assert!(
        h.contains("law-enforcement") && h.contains("100.0%") && h.contains("1.000"),
        "{h}"
    );

    // Gaps. Every category has a carrier of 7 or more: none at the default threshold.
    assert_eq!(sb.json(DB, &["assess", "gaps", "US"]), Value::Array(vec![]));
    // Threshold 8, G weighed 2: JP G (strongest National SOC 7) is weak, 2 × 3/10 = 0.6.
    let jp = sb.json(
        DB,
        &[
            "assess",
            "gaps",
            "JP",
            "--weak-below",
            "8",
            "--weight",
            "G=2",
        ],
    );
    assert_eq!(jp.as_array().unwrap().len(), 1, "{jp}");
    assert_eq!(jp[0]["row"]["item"], "G");
    assert_eq!(jp[0]["status"], "weak");
    assert_eq!(jp[0]["strongest_kind"], "national-soc");
    assert_eq!(jp[0]["carriers"], 4);
    close(&jp[0]["severity"], 0.6);
    // Threshold 9: US G, strongest NCSC 8: 0.2.
    let us = sb.json(DB, &["assess", "gaps", "US", "--weak-below", "9"]);
    assert_eq!(us.as_array().unwrap().len(), 1, "{us}");
    close(&us[0]["severity"], 0.2);
    // Services: the matrices score categories only, so all 27 known services are uncovered.
    let services = sb.json(DB, &["assess", "gaps", "JP", "--services"]);
    assert_eq!(services.as_array().unwrap().len(), 27);
    assert!(
        services
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] == "uncovered")
    );

    // Split: the US map's 289 points are 125 public, 142 private, 22 academic.
    let split = sb.json(DB, &["assess", "split", "US"]);
    close(&split["overall"]["total"], 289.0);
    close(&split["overall"]["public"], 125.0 / 289.0);
    close(&split["overall"]["private"], 142.0 / 289.0);
    close(&split["overall"]["academic"], 22.0 / 289.0);

    // Compare JP → US (US − JP, no part as 0).
    let diff = sb.json(DB, &["assess", "compare", "JP", "US"]);
    assert_eq!(
        (&diff["left"], &diff["right"]),
        (&"JP".into(), &"US".into())
    );
    let d = |item: &str, kind: &str| {
        diff["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["item"] == item && c["kind"] == kind)
            .unwrap()["difference"]
            .clone()
    };
    close(&d("H", "law-enforcement"), 1.0);
    close(&d("H", "national-soc"), -5.0);
    assert!(d("H", "ncsc").is_null(), "no part in either");
    close(&d("A", "ncsc"), 0.0);
    close(&d("A", "psirt"), 1.0);
    close(&d("A", "national-soc"), -7.0);
    let sg = sb.json(DB, &["assess", "compare", "jp", "sg"]);
    let b_ncsc = sg["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == "B" && c["kind"] == "ncsc")
        .unwrap();
    close(&b_ncsc["difference"], 4.0);
    let table = stdout(&sb, &["assess", "compare", "JP", "US"]);
    let h = table.lines().find(|l| l.starts_with("H ")).unwrap();
    let columns: Vec<&str> = h.split_whitespace().rev().take(10).collect();
    assert_eq!(
        columns,
        ["-", "-", "-", "-5", "-", "+1", "-", "-", "-", "-"],
        "{h}"
    );
}

#[test]
fn a_malformed_file_names_its_line_and_keeps_the_stored_assessment() {
    let sb = with_three();
    let before = stdout(&sb, &["assess", "show", "US", "--json"]);
    let header = "category,category_name,NCSC,National CSIRTs,PSIRT\n";
    let cases = [
        (
            "eleven.csv",
            format!("{header}A,Strategic,10,,\nB,Real-time,,11,\n"),
            "line 3, column 4: score \"11\" is not a whole number from 0 to 10",
        ),
        (
            "police.csv",
            "category,category_name,NCSC,Police\nA,Strategic,10,\n".to_owned(),
            "line 1, column 4: unknown stakeholder kind \"Police\"",
        ),
        (
            "twice.csv",
            format!("{header}A,Strategic,10,,\nB,Real-time,,1,\nA,Strategic,9,,\n"),
            "line 4: the row for A is given twice (first at line 2)",
        ),
        (
            "twice-cells.csv",
            "item,kind,score\nA-1,ncsc,3\nA-1,NCSC,4\n".to_owned(),
            "line 3: A-1 × ncsc is given twice (first at line 2)",
        ),
        (
            "nowhere.csv",
            "item,kind,score\nA-1,ncsc,3\nZ-9,ncsc,4\n".to_owned(),
            "line 3, column 1: \"Z-9\" is in no category",
        ),
    ];
    for (name, text, why) in cases {
        std::fs::write(sb.path(name), text).unwrap();
        let out = sb
            .cmd(DB)
            .args(["assess", "import"])
            .arg(sb.path(name))
            .args(["--scope", "US"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{}: {why}", sb.path(name).display())),
            "{name}: {err}"
        );
        assert!(
            err.contains("the stored assessment of US is unchanged"),
            "{err}"
        );
        assert_eq!(
            stdout(&sb, &["assess", "show", "US", "--json"]),
            before,
            "{name}"
        );
    }
    // A scope with nothing stored says nothing about an old one.
    let out = sb
        .cmd(DB)
        .args(["assess", "import"])
        .arg(sb.path("eleven.csv"))
        .args(["--scope", "FR"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing was imported") && !err.contains("unchanged"),
        "{err}"
    );
    assert_eq!(
        sb.json(DB, &["assess", "list"]).as_array().unwrap().len(),
        3
    );
}

#[test]
fn exports_read_back_as_the_same_map() {
    let sb = with_three();
    let original = sb.json(DB, &["assess", "show", "JP"])["heatmap"].clone();
    for (format, file) in [
        ("json", "jp.json"),
        ("csv", "jp-cells.csv"),
        ("matrix", "jp.csv"),
    ] {
        let text = stdout(&sb, &["assess", "export", "JP", "--format", format]);
        std::fs::write(sb.path(file), text).unwrap();
        sb.cmd("t.db")
            .args(["assess", "import"])
            .arg(sb.path(file))
            .args(["--scope", "JP"])
            .assert()
            .success();
        let back = sb.json("t.db", &["assess", "show", "JP"]);
        assert_eq!(back["heatmap"], original, "{format}");
    }
    // The JSON carries who assessed it and its TLP.
    let json = sb.json("t.db", &["assess", "list"]);
    assert_eq!(json[0]["scope"], "JP");
    sb.cmd("u.db")
        .args(["assess", "import"])
        .arg(sb.path("jp.json"))
        .assert()
        .success();
    let list = sb.json("u.db", &["assess", "list"]);
    assert_eq!(list[0]["scope"], "JP", "the scope the JSON names");
    assert_eq!(list[0]["assessed_by"], "JPCERT/CC");
    assert_eq!(list[0]["tlp"], "clear");
}

/// The `<rect class="cell">`s of an SVG document, parsed as XML.
fn svg_cells(path: &std::path::Path) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the chart is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("cell"))
        .map(|n| {
            let a = |name| n.attribute(name).unwrap_or_default().to_owned();
            (a("data-item"), a("data-kind"), a("data-score"), a("fill"))
        })
        .collect()
}

#[test]
fn plot_writes_whole_charts_and_nothing_on_failure() {
    let sb = with_three();
    sb.cmd(DB)
        .args(["assess", "plot", "US", "--out"])
        .arg(sb.path("us.svg"))
        .assert()
        .success();
    let cells = svg_cells(&sb.path("us.svg"));
    assert_eq!(cells.len(), 90);
    assert_eq!(cells.iter().filter(|c| c.2 == "none").count(), 90 - 45);
    let h = cells
        .iter()
        .find(|c| c.0 == "H" && c.1 == "law-enforcement")
        .unwrap();
    assert_eq!((h.2.as_str(), h.3.as_str()), ("10", "#08306b"));

    sb.cmd(DB)
        .args(["assess", "plot", "JP", "US", "--out"])
        .arg(sb.path("jp-us.svg"))
        .assert()
        .success();
    let cells = svg_cells(&sb.path("jp-us.svg"));
    assert_eq!(cells.len(), 90);
    let a = cells.iter().find(|c| c.0 == "A" && c.1 == "ncsc").unwrap();
    assert_eq!(a.3, "#f7f7f7", "no difference");

    sb.cmd(DB)
        .args(["assess", "plot", "JP", "US", "--out"])
        .arg(sb.path("jp-us.png"))
        .assert()
        .success();
    let png = std::fs::read(sb.path("jp-us.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));

    // Failures: an unknown scope, a bad extension, a missing directory. No file, no leftover.
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(sb.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("s.db"))
            .collect();
        names.sort();
        names
    };
    let before = listing();
    for (args, out) in [
        (vec!["ZZ"], sb.path("zz.svg")),
        (vec!["US", "ZZ"], sb.path("us-zz.png")),
        (vec!["US"], sb.path("us.txt")),
        (vec!["US"], sb.path("missing/us.svg")),
    ] {
        sb.cmd(DB)
            .args(["assess", "plot"])
            .args(&args)
            .arg("--out")
            .arg(&out)
            .assert()
            .failure();
        assert!(!out.exists(), "{}", out.display());
    }
    assert_eq!(listing(), before);
}

#[test]
fn an_imported_catalogue_checks_and_names_services() {
    let sb = Sandbox::new();
    let builtin = sb.json(DB, &["assess", "catalogue", "show"]);
    assert_eq!(builtin["built_in"], true);
    assert_eq!(builtin["services"].as_array().unwrap().len(), 27);

    std::fs::write(
        sb.path("full.tsv"),
        "# version: test edition\nid\tcategory\tname\tsource\nA-1\tA\tRisk management\tAnnex A\nD-2\tD Incident response\tTriage\tAnnex A\n",
    )
    .unwrap();
    sb.cmd(DB)
        .args(["assess", "catalogue", "import"])
        .arg(sb.path("full.tsv"))
        .assert()
        .success();
    let shown = sb.json(DB, &["assess", "catalogue", "show"]);
    assert_eq!(shown["version"], "test edition");
    assert_eq!(shown["built_in"], false);
    assert_eq!(shown["services"].as_array().unwrap().len(), 2);
    assert!(shown["imported_at"].as_str().unwrap().ends_with('Z'));

    // A service assessed by id takes its name from the catalogue.
    std::fs::write(
        sb.path("cells.csv"),
        "item,kind,score,target\nD-2,ncsc,4,8\n",
    )
    .unwrap();
    sb.cmd(DB)
        .args(["assess", "import"])
        .arg(sb.path("cells.csv"))
        .args(["--scope", "ACME Corp"])
        .assert()
        .success();
    let table = stdout(&sb, &["assess", "show", "acme corp", "--services"]);
    let d2 = table.lines().find(|l| l.starts_with("D-2")).unwrap();
    assert!(d2.contains("Triage") && d2.contains("4→8"), "{d2}");

    // A bad catalogue is refused with its line; the one in force stays.
    std::fs::write(
        sb.path("twice.tsv"),
        "id\tcategory\tname\nA-1\tA\tOne\nA-1\tA\tTwo\n",
    )
    .unwrap();
    let out = sb
        .cmd(DB)
        .args(["assess", "catalogue", "import"])
        .arg(sb.path("twice.tsv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: line 3", sb.path("twice.tsv").display())),
        "{err}"
    );
    assert_eq!(sb.json(DB, &["assess", "catalogue", "show"]), shown);
}

/// `assess show --evidence` (issue 21, item 4): what Firewatch measures beside the claims, in
/// a table and in one JSON object; plainly "not measured yet" where it measures nothing.
#[test]
fn show_evidence_puts_measured_figures_beside_the_claims() {
    let sb = with_three();
    let text = stdout(&sb, &["assess", "show", "JP", "--evidence"]);
    assert!(text.contains("measured by Firewatch for JP"), "{text}");
    for row in [
        "B real-time analysis",
        "D incident response",
        "I external relations",
    ] {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(text.contains("not measured yet"), "{text}");
    let value: Value = serde_json::from_str(&stdout(
        &sb,
        &["assess", "show", "jp", "--evidence", "--json"],
    ))
    .unwrap();
    assert_eq!(value["scope"], "JP");
    assert!(value["heatmap"]["rows"].is_array());
    let e = &value["evidence"];
    assert_eq!(e["country"], "JP");
    assert_eq!(e["incident_response"]["notices"], 0);
    assert_eq!(e["real_time_analysis"]["captures"], 0);
    assert!(e["measured_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e["cases"]["parties"], 0);
    // Only the communication checks (issue 20) are not measured yet.
    assert_eq!(e["not_measured"].as_array().unwrap().len(), 1);
    // The owner is recorded at import and listed.
    sb.cmd(DB)
        .args(["assess", "import"])
        .arg(matrix("sg"))
        .args(["--scope", "SG", "--tlp", "amber", "--owner", "sg-cert"])
        .assert()
        .success();
    let list: Value = serde_json::from_str(&stdout(&sb, &["assess", "list", "--json"])).unwrap();
    let sg = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["scope"] == "SG")
        .unwrap();
    assert_eq!(sg["owner"], "sg-cert");
    assert_eq!(sg["tlp"], "amber");
}
