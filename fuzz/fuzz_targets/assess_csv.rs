#![no_main]
//! Any bytes as an X.1060 catalogue (TSV, CSV, JSON) and as an assessment (matrix CSV, cells
//! CSV, JSON): each import refuses or reads without a panic, a refusal that sits in the text
//! names its line, and what is read writes back and reads again as the same value.

use std::sync::OnceLock;

use firewatch_assess::{
    About, Assessment, AssessmentFormat, Catalogue, CatalogueFormat, Granularity, Item,
};
use libfuzzer_sys::fuzz_target;

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [
        CatalogueFormat::Tsv,
        CatalogueFormat::Csv,
        CatalogueFormat::Json,
    ] {
        if let Ok(read) = Catalogue::import(text, format) {
            let again = Catalogue::import(&read.to_tsv(), CatalogueFormat::Tsv)
                .expect("a catalogue we wrote reads back");
            if format == CatalogueFormat::Tsv {
                assert_eq!(again, read);
            } else {
                assert_eq!(again.services().len(), read.services().len());
            }
        }
    }
    let about = About::default();
    let catalogue = catalogue();
    for format in [
        AssessmentFormat::Matrix,
        AssessmentFormat::Cells,
        AssessmentFormat::Json,
    ] {
        let read = match Assessment::import(text, format, catalogue, &about) {
            Ok(read) => read,
            Err(err) => {
                if let Some(place) = err.place() {
                    assert!(!place.to_string().is_empty());
                }
                continue;
            }
        };
        for (out, back) in [
            (AssessmentFormat::Cells, AssessmentFormat::Cells),
            (AssessmentFormat::Json, AssessmentFormat::Json),
        ] {
            let written = read.export(out, catalogue, Granularity::Categories);
            let again = Assessment::import(&written, back, catalogue, &about)
                .expect("an assessment we wrote reads back");
            assert_eq!(again.cells, read.cells, "{written}");
        }
        // A matrix holds scores of one granularity: compare the scored cells as sets.
        if read
            .cells
            .iter()
            .all(|c| matches!(c.item, Item::Category(_)))
        {
            let written = read.export(AssessmentFormat::Matrix, catalogue, Granularity::Categories);
            let again = Assessment::import(&written, AssessmentFormat::Matrix, catalogue, &about)
                .expect("a matrix we wrote reads back");
            let scored = |a: &Assessment| {
                let mut cells: Vec<_> = a
                    .cells
                    .iter()
                    .filter_map(|c| c.score.map(|s| (c.item.clone(), c.kind, s)))
                    .collect();
                cells.sort();
                cells
            };
            assert_eq!(scored(&again), scored(&read), "{written}");
        }
    }
});
