#![no_main]
//! Any bytes as a crosswalk TSV (against the built-in X.1060 catalogue and FIRST framework) and
//! as a FIRST galaxy JSON: each import refuses or reads without a panic, a refusal that sits in
//! the text names its place, a crosswalk read writes back and reads again as the same value,
//! and the view of a small assessment through it covers every FIRST service once.

use std::sync::OnceLock;

use firewatch_assess::{
    About, Assessment, AssessmentFormat, Catalogue, Crosswalk, Framework, crosswalk_view,
};
use libfuzzer_sys::fuzz_target;

struct Fixed {
    catalogue: Catalogue,
    framework: Framework,
    assessment: Assessment,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let catalogue = Catalogue::builtin();
        let about = About {
            scope: "XX".into(),
            ..About::default()
        };
        let matrix = "category,NCSC,National CSIRTs,ISAC\nB,3,,0\nD,5,10,\nD-1,,7,\nI,,,10\n";
        let assessment =
            Assessment::import(matrix, AssessmentFormat::Matrix, &catalogue, &about).unwrap();
        Fixed {
            catalogue,
            framework: Framework::builtin(),
            assessment,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fixed = fixed();
    match Crosswalk::import(text, &fixed.catalogue, &fixed.framework) {
        Ok(read) => {
            let again = Crosswalk::import(&read.to_tsv(), &fixed.catalogue, &fixed.framework)
                .expect("a crosswalk we wrote reads back");
            assert_eq!(again.links, read.links);
            let view = crosswalk_view(&fixed.assessment, &read, &fixed.framework, &fixed.catalogue);
            assert_eq!(view.services.len(), fixed.framework.services().len());
            let mapped: usize = view.services.iter().map(|s| s.mapped.len()).sum();
            assert_eq!(mapped, read.links.len());
        }
        Err(err) => {
            if let Some(place) = err.place() {
                assert!(!place.to_string().is_empty());
            }
        }
    }
    if let Ok(framework) = Framework::import(text) {
        assert!(!framework.services().is_empty());
        for service in framework.services() {
            assert!(framework.area(&service.area).is_some(), "{}", service.id);
            assert_eq!(
                framework.service(&service.name).map(|s| &s.id),
                Some(&service.id)
            );
        }
    }
});
