//! What is written reads back the same (cells CSV, JSON, catalogue TSV), and no text makes an
//! import panic: the invariants the fuzz target `assess_csv` checks, as properties that run in
//! every `cargo test`.

use firewatch_assess::{
    About, Assessment, AssessmentFormat, Catalogue, CatalogueFormat, Cell, Delivery, Granularity,
    Item, Score, StakeholderKind,
};
use proptest::prelude::*;

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        prop::sample::select(vec!['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'])
            .prop_map(Item::Category),
        ("[A-I]", 1u32..70).prop_map(|(c, n)| Item::parse(&format!("{c}-{n}")).unwrap()),
    ]
}

fn score() -> impl Strategy<Value = Option<Score>> {
    prop::option::of((0u8..=10).prop_map(|s| Score::new(s).unwrap()))
}

/// Free text as a person writes it: commas, quotes, tabs and line breaks inside, no blanks
/// around (the readers trim).
fn words() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[a-zA-Z0-9][a-zA-Z0-9 ,\"'\t\n#/&<>é-]{0,20}[a-zA-Z0-9]")
}

fn cell() -> impl Strategy<Value = Cell> {
    (
        item(),
        prop::sample::select(StakeholderKind::ALL.to_vec()),
        score(),
        score(),
        prop::option::of(prop::sample::select(vec![
            Delivery::InHouse,
            Delivery::Outsourced,
        ])),
        words(),
        prop::option::of((2000i16..2100, 1i8..=12, 1i8..=28)),
        words(),
    )
        .prop_map(
            |(item, kind, score, target, delivery, by, on, source)| Cell {
                item,
                kind,
                score,
                target,
                delivery,
                assessed_by: by,
                assessed_on: on.map(|(y, m, d)| jiff::civil::date(y, m, d)),
                source,
            },
        )
}

fn assessment() -> impl Strategy<Value = Assessment> {
    prop::collection::vec(cell(), 0..30).prop_map(|cells| {
        let mut seen = std::collections::HashSet::new();
        let cells = cells
            .into_iter()
            .filter(|c| seen.insert((c.item.clone(), c.kind)))
            .collect();
        Assessment {
            about: About {
                scope: "JP".to_owned(),
                ..About::default()
            },
            cells,
        }
    })
}

proptest! {
    #[test]
    fn cells_csv_and_json_read_back(a in assessment()) {
        let catalogue = Catalogue::builtin();
        for format in [AssessmentFormat::Cells, AssessmentFormat::Json] {
            let text = a.export(format, &catalogue, Granularity::Services);
            let back = Assessment::import(&text, format, &catalogue, &a.about)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(&back, &a);
        }
    }

    #[test]
    fn no_text_makes_an_import_panic(text in "[A-Z0-9a-z ,\"#\t\n{}:\\[\\]-]{0,200}") {
        let catalogue = Catalogue::builtin();
        for format in [AssessmentFormat::Matrix, AssessmentFormat::Cells, AssessmentFormat::Json] {
            let _ = Assessment::import(&text, format, &catalogue, &About::default());
        }
        for format in [CatalogueFormat::Tsv, CatalogueFormat::Csv, CatalogueFormat::Json] {
            if let Ok(read) = Catalogue::import(&text, format) {
                let again = Catalogue::import(&read.to_tsv(), CatalogueFormat::Tsv).unwrap();
                prop_assert_eq!(again.services(), read.services());
            }
        }
    }
}
