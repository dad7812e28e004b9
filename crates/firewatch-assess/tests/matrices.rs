//! The three shared X.1060 matrices (JPCERT/CC, Feb 2024: Japan, United States, Singapore)
//! loaded as they are, and the views checked against figures computed by hand from the files.
//!
//! Column order of the files: NCSC, National CSIRTs, PSIRT, Private CSIRTs, LE/Justice, ISAC,
//! National SOC, Private SOC, Academia, Certificate Vendor. An empty cell is "no part".

use std::path::{Path, PathBuf};

use firewatch_assess::svg::{NO_PART_FILL, difference_svg, heatmap_svg};
use firewatch_assess::{
    About, AssessError, Assessment, AssessmentFormat, Catalogue, CatalogueFormat, GapOptions,
    GapStatus, Granularity, Heatmap, Item, Place, StakeholderKind as K, compare, concentration,
    gaps, heatmap, split,
};

/// The shared X.1060 folder: `$FIREWATCH_SHARED_DATA/x1060`, else `../shared/data/x1060`
/// beside the repository (as the binary's tests find shared data).
fn x1060() -> PathBuf {
    std::env::var_os("FIREWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("x1060")
}

fn text(name: &str) -> String {
    let path = x1060().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(code: &str) -> Assessment {
    let about = About {
        scope: code.to_uppercase(),
        source: Some("JPCERT/CC, ITU-T SG17 mini workshop on X.1060, Feb 2024".to_owned()),
        ..About::default()
    };
    let text = text(&format!("{code}.csv"));
    assert_eq!(AssessmentFormat::sniff(&text), AssessmentFormat::Matrix);
    Assessment::import(
        &text,
        AssessmentFormat::Matrix,
        &Catalogue::builtin(),
        &about,
    )
    .unwrap_or_else(|e| panic!("{code}.csv: {e}"))
}

fn categories(code: &str) -> Heatmap {
    heatmap(&load(code), &Catalogue::builtin(), Granularity::Categories)
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!(
        (actual - expected).abs() < 1e-9,
        "{actual} is not {expected}"
    );
}

fn cat(letter: char) -> Item {
    Item::Category(letter)
}

#[test]
fn the_three_matrices_load_as_they_are() {
    // Non-empty cells counted in each file, row by row.
    // JP: A 3, B 5, C 6, D 5, E 3, F 6, G 4, H 2, I 5 = 39
    // US: A 6, B 5, C 7, D 5, E 5, F 7, G 4, H 1, I 5 = 45
    // SG: A 3, B 5, C 4, D 3, E 4, F 5, G 4, H 2, I 3 = 33
    for (code, cells) in [("jp", 39), ("us", 45), ("sg", 33)] {
        let assessment = load(code);
        assert_eq!(assessment.cells.len(), cells, "{code}");
        // The matrix export is the file again (the files end lines with CRLF, we write LF).
        let catalogue = Catalogue::builtin();
        let out = assessment.export(
            AssessmentFormat::Matrix,
            &catalogue,
            Granularity::Categories,
        );
        assert_eq!(
            out,
            text(&format!("{code}.csv")).replace("\r\n", "\n"),
            "{code}"
        );
    }
    let us = load("us");
    assert_eq!(us.score(&cat('H'), K::LawEnforcement), Some(10));
    assert_eq!(us.score(&cat('H'), K::Ncsc), None);
}

#[test]
fn the_shared_service_list_imports_as_the_built_in_catalogue() {
    let shared = Catalogue::import(&text("services-known.tsv"), CatalogueFormat::Tsv).unwrap();
    assert_eq!(shared.services(), Catalogue::builtin().services());
    assert_eq!(shared.version, "imported");
}

#[test]
fn concentration_matches_the_hand_computed_index() {
    let us = concentration(&categories("us"));
    // US H: LE/Justice 10, no one else. share 10/10 = 1, HHI = 1² = 1.0.
    let h = &us[7];
    assert_eq!(h.row.item, cat('H'));
    assert_eq!(h.carriers, 1);
    assert_eq!(h.top_kind, Some(K::LawEnforcement));
    close(h.top_share, 1.0);
    close(h.hhi, 1.0);
    close(h.effective_carriers, 1.0);

    // US A: NCSC 10, PSIRT 1, Private CSIRTs 1, LE 3, ISAC 1, Certificate Vendor 3; total 19.
    // HHI = (10² + 1² + 1² + 3² + 1² + 3²) / 19² = 121 / 361 = 0.33518; top NCSC 10/19.
    let a = &us[0];
    assert_eq!(a.total, 19.0);
    assert_eq!(a.carriers, 6);
    assert_eq!(a.top_kind, Some(K::Ncsc));
    close(a.top_share, 10.0 / 19.0);
    close(a.hhi, 121.0 / 361.0);

    // SG D: NCSC 10, Private CSIRTs 10, National SOC 10; total 30.
    // HHI = 3 × (10/30)² = 1/3; three equal carriers; the tie goes to the first column (NCSC).
    let sg = concentration(&categories("sg"));
    let d = &sg[3];
    close(d.hhi, 1.0 / 3.0);
    close(d.effective_carriers, 3.0);
    close(d.top_share, 1.0 / 3.0);
    assert_eq!(d.top_kind, Some(K::Ncsc));

    // JP H: LE/Justice 9, National SOC 5; total 14. HHI = (81 + 25) / 196 = 106/196 = 0.5408;
    // top LE 9/14 = 0.6429.
    let jp = concentration(&categories("jp"));
    let h = &jp[7];
    close(h.hhi, 106.0 / 196.0);
    close(h.top_share, 9.0 / 14.0);
    assert_eq!(h.top_kind, Some(K::LawEnforcement));
}

#[test]
fn gaps_match_the_hand_computed_severity() {
    // Every category of the three maps has a carrier of at least 7: no gap at the default
    // threshold (strongest below 5).
    for code in ["jp", "us", "sg"] {
        assert!(
            gaps(&categories(code), &GapOptions::default()).is_empty(),
            "{code}"
        );
    }
    // Threshold 8, G weighted 2. JP strongest per category: A 10, B 10, C 10, D 10, E 10,
    // F 10, G 7 (National SOC 7, Private SOC 7: the first column wins), H 9, I 10.
    // Only G is below 8: severity = 2 × (10 − 7) / 10 = 0.6.
    let options = GapOptions {
        weak_below: 8.0,
        weights: [('G', 2.0)].into_iter().collect(),
    };
    let jp = gaps(&categories("jp"), &options);
    assert_eq!(jp.len(), 1, "{jp:?}");
    assert_eq!(jp[0].row.item, cat('G'));
    assert_eq!(jp[0].status, GapStatus::Weak);
    assert_eq!(jp[0].strongest_kind, Some(K::NationalSoc));
    assert_eq!(jp[0].carriers, 4); // National CSIRTs 5, Private CSIRTs 2, National SOC 7, Private SOC 7
    close(Some(jp[0].severity), 0.6);

    // Threshold 9: US G strongest NCSC 8 → (10 − 8)/10 = 0.2; the other US rows reach 10.
    // SG G also NCSC 8 → 0.2; SG H strongest ISAC 9 is not below 9.
    let nine = GapOptions {
        weak_below: 9.0,
        ..GapOptions::default()
    };
    for code in ["us", "sg"] {
        let found = gaps(&categories(code), &nine);
        assert_eq!(found.len(), 1, "{code}: {found:?}");
        assert_eq!(found[0].row.item, cat('G'));
        assert_eq!(found[0].strongest_kind, Some(K::Ncsc));
        close(Some(found[0].severity), 0.2);
    }

    // Service rows: the matrices score categories only, so all 27 known services are
    // uncovered (severity 1 each); weighting A by 3 puts A's 13 services first at 3.0.
    let services = heatmap(&load("jp"), &Catalogue::builtin(), Granularity::Services);
    let weighted = GapOptions {
        weights: [('A', 3.0)].into_iter().collect(),
        ..GapOptions::default()
    };
    let found = gaps(&services, &weighted);
    assert_eq!(found.len(), 27);
    assert!(found.iter().all(|g| g.status == GapStatus::Uncovered));
    assert!(
        found[..13]
            .iter()
            .all(|g| g.row.category == 'A' && g.severity == 3.0)
    );
    assert!(found[13..].iter().all(|g| g.severity == 1.0));
}

#[test]
fn public_private_split_matches_the_hand_sums() {
    // US, by sector (public: NCSC, National CSIRTs, LE/Justice, National SOC; academic:
    // Academia; the rest private):
    //   A pub 10+3=13 priv 1+1+1+3=6   B pub 9+2=11 priv 10+10+10=30
    //   C pub 5+8+2=15 priv 10+10+8=28 acad 10   D pub 10+1+2=13 priv 9+10=19
    //   E pub 8+2+2=12 priv 10 acad 7  F pub 9+8=17 priv 9+10+1+10=30 acad 5
    //   G pub 8+5=13 priv 2+7=9        H pub 10     I pub 7+4+10=21 priv 7+3=10
    //   public 125, private 142, academic 22, total 289.
    let us = split(&categories("us"));
    assert_eq!(us.overall.total, 289.0);
    close(us.overall.public, 125.0 / 289.0);
    close(us.overall.private, 142.0 / 289.0);
    close(us.overall.academic, 22.0 / 289.0);
    // US B: public 11/41, private 30/41.
    close(us.rows[1].shares.public, 11.0 / 41.0);
    close(us.rows[1].shares.private, 30.0 / 41.0);
    // JP E: LE 2 (public), Private SOC 10 (private), Academia 7; total 19.
    let jp = split(&categories("jp"));
    close(jp.rows[4].shares.public, 2.0 / 19.0);
    close(jp.rows[4].shares.private, 10.0 / 19.0);
    close(jp.rows[4].shares.academic, 7.0 / 19.0);
}

#[test]
fn comparison_matches_the_hand_differences() {
    // JP (left) against US (right), right − left, no part counted as 0.
    let diff = compare(&categories("jp"), &categories("us")).unwrap();
    assert_eq!((diff.left.as_str(), diff.right.as_str()), ("JP", "US"));
    assert_eq!(diff.cells.len(), 90);
    let d = |letter, kind| diff.get(&cat(letter), kind).unwrap().difference;
    close(d('H', K::LawEnforcement), 1.0); // 10 − 9
    close(d('H', K::NationalSoc), -5.0); // no part − 5
    assert_eq!(d('H', K::Ncsc), None); // no part in either
    close(d('A', K::Ncsc), 0.0); // 10 − 10
    close(d('A', K::Psirt), 1.0); // 1 − no part
    close(d('A', K::NationalSoc), -7.0); // no part − 7
    // JP against SG, B: NCSC no part → 4, PSIRT 10 → no part.
    let sg = compare(&categories("jp"), &categories("sg")).unwrap();
    close(sg.get(&cat('B'), K::Ncsc).unwrap().difference, 4.0);
    close(sg.get(&cat('B'), K::Psirt).unwrap().difference, -10.0);
    // Categories against services cannot be compared.
    let services = heatmap(&load("sg"), &Catalogue::builtin(), Granularity::Services);
    assert!(matches!(
        compare(&categories("jp"), &services),
        Err(AssessError::Incomparable { .. })
    ));
}

/// The `<rect class="cell">` of a chart, by item and kind.
fn cell_fill(doc: &roxmltree::Document<'_>, item: &str, kind: K) -> String {
    doc.descendants()
        .find(|n| {
            n.attribute("class") == Some("cell")
                && n.attribute("data-item") == Some(item)
                && n.attribute("data-kind") == Some(kind.as_str())
        })
        .and_then(|n| n.attribute("fill"))
        .unwrap_or_else(|| panic!("no cell {item} × {kind}"))
        .to_owned()
}

fn cells(doc: &roxmltree::Document<'_>) -> usize {
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("cell"))
        .count()
}

#[test]
fn heatmap_svg_parses_with_a_cell_per_matrix_cell() {
    let svg = heatmap_svg(&categories("us"));
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    // 9 categories × 10 kinds.
    assert_eq!(cells(&doc), 90);
    // 10 is the dark end of the scale, #08306b.
    assert_eq!(cell_fill(&doc, "H", K::LawEnforcement), "#08306b");
    // No part is hatched, not the colour of 0.
    assert_eq!(cell_fill(&doc, "H", K::Ncsc), NO_PART_FILL);
    // 1 is a tenth of the way from #f7fbff to #08306b:
    //   r 247 + (8 − 247)/10 = 223.1 → 223 = df; g 251 − 20.3 = 230.7 → 231 = e7;
    //   b 255 − 14.8 = 240.2 → 240 = f0.
    assert_eq!(cell_fill(&doc, "A", K::Psirt), "#dfe7f0");
    let no_part = doc
        .descendants()
        .filter(|n| {
            n.attribute("class") == Some("cell") && n.attribute("data-score") == Some("none")
        })
        .count();
    assert_eq!(no_part, 90 - 45); // the US file has 45 scored cells
}

#[test]
fn difference_svg_parses_with_the_expected_fills() {
    let diff = compare(&categories("jp"), &categories("us")).unwrap();
    let svg = difference_svg(&diff);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    assert_eq!(cells(&doc), 90);
    // −5: half way from #f7f7f7 to #b2182b: r 247 − 69/2 = 212.5 → 213 = d5;
    //   g 247 − 223/2 = 135.5 → 136 = 88; b 247 − 204/2 = 145 = 91.
    assert_eq!(cell_fill(&doc, "H", K::NationalSoc), "#d58891");
    // 0 is the neutral grey, no part in either hatched.
    assert_eq!(cell_fill(&doc, "A", K::Ncsc), "#f7f7f7");
    assert_eq!(cell_fill(&doc, "H", K::Ncsc), NO_PART_FILL);
}

// ---------------------------------------------------------------------------------------------
// Malformed input: each refused with its line (and column), nothing accepted.
// ---------------------------------------------------------------------------------------------

const HEADER: &str = "category,category_name,NCSC,National CSIRTs,PSIRT\n";

fn refuse(text: &str, format: AssessmentFormat) -> AssessError {
    Assessment::import(text, format, &Catalogue::builtin(), &About::default())
        .expect_err("malformed input must be refused whole")
}

#[test]
fn unknown_stakeholder_kind_names_line_and_column() {
    let err = refuse(
        "category,category_name,NCSC,Police\nA,Strategic,10,\n",
        AssessmentFormat::Matrix,
    );
    assert!(matches!(err, AssessError::UnknownKind { .. }), "{err}");
    assert_eq!(
        err.place(),
        Some(Place::Line {
            line: 1,
            column: Some(4)
        })
    );
    assert!(
        err.to_string()
            .starts_with("line 1, column 4: unknown stakeholder kind \"Police\" (known: ncsc,"),
        "{err}"
    );
    let err = refuse("item,kind,score\nA,police,3\n", AssessmentFormat::Cells);
    assert_eq!(
        err.place(),
        Some(Place::Line {
            line: 2,
            column: Some(2)
        }),
        "{err}"
    );
}

#[test]
fn a_score_of_eleven_names_line_and_column() {
    let text = format!("{HEADER}A,Strategic,10,,\nB,Real-time,,11,\n");
    let err = refuse(&text, AssessmentFormat::Matrix);
    assert_eq!(
        err.to_string(),
        "line 3, column 4: score \"11\" is not a whole number from 0 to 10"
    );
    let err = refuse(
        "item,kind,score,target\nA,ncsc,3,11\n",
        AssessmentFormat::Cells,
    );
    assert_eq!(
        err.to_string(),
        "line 2, column 4: target \"11\" is not a whole number from 0 to 10"
    );
}

#[test]
fn a_duplicated_cell_names_both_lines() {
    let text = format!("{HEADER}A,Strategic,10,,\nB,Real-time,,1,\nA,Strategic,9,,\n");
    let err = refuse(&text, AssessmentFormat::Matrix);
    assert!(matches!(err, AssessError::DuplicateRow { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("line 4: the row for A is given twice (first at line 2)"),
        "{err}"
    );
    let err = refuse(
        "item,kind,score\nA-1,ncsc,3\nA-1,NCSC,4\n",
        AssessmentFormat::Cells,
    );
    assert_eq!(
        err.to_string(),
        "line 3: A-1 × ncsc is given twice (first at line 2)"
    );
}

#[test]
fn a_service_in_no_category_names_the_line() {
    let text = format!("{HEADER}A,Strategic,10,,\nZ,Zebra,1,,\n");
    let err = refuse(&text, AssessmentFormat::Matrix);
    assert!(matches!(err, AssessError::NoCategory { .. }), "{err}");
    assert_eq!(
        err.place(),
        Some(Place::Line {
            line: 3,
            column: Some(1)
        })
    );
    let err = refuse(
        "item,kind,score\nA-1,ncsc,3\nZ-9,ncsc,4\n",
        AssessmentFormat::Cells,
    );
    assert_eq!(
        err.to_string(),
        "line 3, column 1: \"Z-9\" is in no category of the catalogue (category Z is not one of A–I)"
    );
    let err = refuse("item,kind,score\nrisk,ncsc,3\n", AssessmentFormat::Cells);
    assert!(matches!(err, AssessError::NoCategory { .. }), "{err}");
}

#[test]
fn a_service_the_catalogue_does_not_list_is_kept_by_its_category() {
    // D-5 is one of the 64 but not among the 27 built in: accepted under D, without a name.
    let catalogue = Catalogue::builtin();
    let a = Assessment::import(
        "item,kind,score\nD-5,national-csirt,8\n",
        AssessmentFormat::Cells,
        &catalogue,
        &About::default(),
    )
    .unwrap();
    let map = heatmap(&a, &catalogue, Granularity::Services);
    let row = map
        .rows
        .iter()
        .find(|r| r.item.to_string() == "D-5")
        .unwrap();
    assert_eq!((row.category, row.name.as_deref()), ('D', None));
    // The category row takes it as D's only service score for national CSIRTs.
    let categories = heatmap(&a, &catalogue, Granularity::Categories);
    assert_eq!(
        categories.get(&cat('D'), K::NationalCsirt).unwrap().score,
        Some(8.0)
    );
}

#[test]
fn views_serialise_to_json() {
    let map = categories("sg");
    let json = serde_json::to_value(&map).unwrap();
    // No part is null, distinct from 0.
    assert_eq!(json["cells"][0]["score"], 10.0);
    assert!(json["cells"][1]["score"].is_null());
    serde_json::to_string(&concentration(&map)).unwrap();
    serde_json::to_string(&gaps(&map, &GapOptions::default())).unwrap();
    serde_json::to_string(&split(&map)).unwrap();
}
