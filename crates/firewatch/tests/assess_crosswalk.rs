//! `firewatch assess crosswalk` end to end (issue 21, item 5): the mapping table, the shared
//! Japanese matrix read FIRST service by FIRST service with the matrix's own cells, a user's
//! map and the galaxy JSON brought by file, and a bad map refused with its line.

mod common;
use common::{Sandbox, shared_data};
use serde_json::Value;
use std::collections::BTreeMap;

const DB: &str = "s.db";

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

/// The JP matrix as category → kind → score, read straight from the CSV.
fn jp_matrix() -> BTreeMap<String, BTreeMap<&'static str, f64>> {
    let text = std::fs::read_to_string(shared_data().join("x1060/jp.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f = fields(line);
            let cells = KINDS
                .iter()
                .zip(&f[2..])
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (*k, v.trim().parse::<f64>().unwrap()))
                .collect();
            (f[0].clone(), cells)
        })
        .collect()
}

fn with_jp() -> Sandbox {
    let sb = Sandbox::new();
    sb.cmd(DB)
        .args(["assess", "import"])
        .arg(shared_data().join("x1060/jp.csv"))
        .args([
            "--scope",
            "jp",
            "--assessed-by",
            "JPCERT/CC",
            "--tlp",
            "clear",
        ])
        .assert()
        .success();
    sb
}

fn service<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["first"] == id)
        .unwrap_or_else(|| panic!("no FIRST service {id} in {view}"))
}

#[test]
fn jp_through_the_crosswalk_keeps_the_matrix_cells() {
    let sb = with_jp();
    let view = sb.json(DB, &["assess", "crosswalk", "jp"]);
    assert_eq!(view["scope"], "JP");
    assert_eq!(view["services"].as_array().unwrap().len(), 21);
    let matrix = jp_matrix();

    // Every category mapped anywhere shows exactly the matrix's row: its kinds and scores.
    let mut checked = 0;
    for row in view["services"].as_array().unwrap() {
        for mapped in row["mapped"].as_array().unwrap() {
            let item = mapped["item"].as_str().unwrap();
            let Some(expected) = matrix.get(item) else {
                // A service id (D-1, I-1...): the JP matrix has no service rows, so no part.
                assert_eq!(mapped["scores"], Value::Array(vec![]), "{item}");
                continue;
            };
            let got: BTreeMap<&str, f64> = mapped["scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let kind = KINDS.iter().find(|k| **k == s["kind"]).unwrap();
                    (*kind, s["score"].as_f64().unwrap())
                })
                .collect();
            assert_eq!(&got, expected, "{} ← {item}", row["first"]);
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");

    // A few by hand: D is NCSC 5, national CSIRTs 10, PSIRT 9, private CSIRTs 10, national SOC 10.
    let acceptance = service(&view, "information-security-incident-report-acceptance");
    assert_eq!(acceptance["coverage"], "covered");
    assert_eq!(acceptance["strongest"].as_f64(), Some(10.0));
    let d = acceptance["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["item"] == "D")
        .unwrap();
    assert_eq!(d["relation"], "includes");
    assert_eq!(d["scores"][0]["kind"], "ncsc");
    assert_eq!(d["scores"][0]["score"].as_f64(), Some(5.0));
    assert_eq!(d["scores"][2]["kind"], "psirt");
    assert_eq!(d["scores"][2]["score"].as_f64(), Some(9.0));
    // H (fraud) is LE/Justice 9, national SOC 5, only `related` to forensics; C carries it.
    let forensics = service(&view, "artifact-and-forensic-evidence-analysis");
    let h = forensics["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["item"] == "H")
        .unwrap();
    assert_eq!(h["strongest"].as_f64(), Some(9.0));
    assert_eq!(forensics["coverage"], "covered");
    // Awareness building: I includes it, its strongest is the ISAC's 10.
    assert_eq!(
        service(&view, "awareness-building")["strongest"].as_f64(),
        Some(10.0)
    );
    // Mapped to nothing by the built-in crosswalk.
    let not_covered: Vec<&str> = view["not_covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(not_covered.contains(&"vulnerability-report-intake"));
    assert!(not_covered.contains(&"crisis-management-support"));
    assert!(!not_covered.contains(&"mitigation-and-recovery"));

    // The table says the same.
    let out = sb
        .cmd(DB)
        .args(["assess", "crosswalk", "JP"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ncsc 5, national-csirt 10, psirt 9, private-csirt 10, national-soc 10"),
        "{text}"
    );
}

#[test]
fn the_mapping_table_and_a_map_of_ones_own() {
    let sb = with_jp();
    let table = sb.json(DB, &["assess", "crosswalk"]);
    assert_eq!(table["crosswalk"], "firewatch-x1060-first-1");
    assert_eq!(
        table["first_unmapped"],
        serde_json::json!(["vulnerability-report-intake", "vulnerability-analysis"])
    );

    // The TSV it prints reads back with --map; the galaxy JSON reads with --first.
    let out = sb
        .cmd(DB)
        .args(["assess", "crosswalk", "--tsv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut tsv = String::from_utf8(out.stdout).unwrap();
    tsv.push_str("C\tvulnerability-analysis\trelated\tour own addition\n");
    std::fs::write(sb.path("map.tsv"), &tsv).unwrap();
    let galaxy = shared_data().join("first-csirt-services/first-csirt-services-framework.json");
    let out = sb
        .cmd(DB)
        .args(["assess", "crosswalk", "JP", "--json", "--map"])
        .arg(sb.path("map.tsv"))
        .arg("--first")
        .arg(&galaxy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        view["framework"],
        "FIRST CSIRT Services Framework, MISP galaxy version 1"
    );
    let analysis = service(&view, "vulnerability-analysis");
    assert_eq!(analysis["coverage"], "related-only");
    assert_eq!(analysis["mapped"][0]["strongest"].as_f64(), Some(10.0));

    // A bad line is refused with its line and column.
    let lines = tsv.lines().count();
    std::fs::write(
        sb.path("bad.tsv"),
        format!("{tsv}D\tincident-handling\trelated\tno such FIRST service\n"),
    )
    .unwrap();
    let out = sb
        .cmd(DB)
        .args(["assess", "crosswalk", "JP", "--map"])
        .arg(sb.path("bad.tsv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}: line {}, column 2: column `first`: \"incident-handling\" is no service of the FIRST framework",
            sb.path("bad.tsv").display(),
            lines + 1
        )),
        "{err}"
    );
}
