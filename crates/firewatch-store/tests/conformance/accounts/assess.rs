//! X.1060 assessments and service catalogues.

use firewatch_store::assess::{StoredAssessment, StoredCatalogue};
use firewatch_store::{AssessmentStore, StoreError};

fn jp(document: &str) -> StoredAssessment {
    StoredAssessment {
        scope: "JP".into(),
        assessed_by: Some("JPCERT/CC".into()),
        assessed_on: Some("2024-02-01".into()),
        source: Some("ITU-T SG17 workshop".into()),
        tlp: Some("clear".into()),
        owner: Some("jpcert".into()),
        catalogue_version: "firewatch-x1060-public-1".into(),
        cells: 1,
        format: "matrix".into(),
        origin: "jp.csv".into(),
        imported_at: 1_700_000_000,
        document: document.into(),
    }
}

/// One assessment per scope, matched without regard to ASCII case and replaced whole with
/// the new spelling; a document that is not JSON, or a blank scope, is refused and the old
/// one stays; listings by scope regardless of case.
pub fn assessments<S: AssessmentStore + ?Sized>(s: &mut S) {
    assert!(s.assessment("JP").unwrap().is_none());
    assert!(s.assessments().unwrap().is_empty());
    // Spacing and key order as written: the document reads back byte for byte.
    let first = jp(r#"{"about": {"scope":"JP"},   "cells":[], "a": 1}"#);
    s.replace_assessment(&first).unwrap();
    assert_eq!(s.assessment("jp").unwrap(), Some(first.clone()), "any case");
    assert_eq!(
        s.assessment("  JP ").unwrap(),
        Some(first.clone()),
        "trimmed"
    );
    assert!(s.replace_assessment(&jp("{not json")).is_err());
    assert!(s.replace_assessment(&jp("")).is_err());
    assert_eq!(s.assessment("JP").unwrap(), Some(first.clone()));
    let mut blank = jp("{}");
    blank.scope = "  ".into();
    assert!(matches!(
        s.replace_assessment(&blank),
        Err(StoreError::InvalidQuery(_))
    ));
    assert!(s.assessment("").unwrap().is_none());

    let mut second = jp(r#"{"about":{"scope":"jp"},"cells":[1]}"#);
    second.scope = "jp".into();
    second.cells = 2;
    second.assessed_by = None;
    second.assessed_on = None;
    second.source = None;
    second.tlp = None;
    second.owner = None;
    s.replace_assessment(&second).unwrap();
    assert_eq!(
        s.assessments().unwrap(),
        vec![second.clone()],
        "one per scope, the new spelling"
    );
    let mut padded = jp("[]");
    padded.scope = " Acme CERT ".into();
    s.replace_assessment(&padded).unwrap();
    padded.scope = "Acme CERT".into();
    assert_eq!(s.assessment("acme cert").unwrap(), Some(padded.clone()));
    // Only ASCII letters are folded, as SQLite's NOCASE.
    let mut umlaut = jp("{}");
    umlaut.scope = "Ärzte".into();
    s.replace_assessment(&umlaut).unwrap();
    assert!(s.assessment("ärzte").unwrap().is_none());
    assert_eq!(s.assessment("äRZTE").unwrap(), None);
    assert_eq!(s.assessment("ÄRZTE").unwrap(), Some(umlaut.clone()));
    let mut zed = jp("{}");
    zed.scope = "ZA".into();
    s.replace_assessment(&zed).unwrap();
    let mut low = jp("{}");
    low.scope = "de".into();
    s.replace_assessment(&low).unwrap();
    // By scope without regard to ASCII case, other letters after.
    let scopes: Vec<String> = s
        .assessments()
        .unwrap()
        .into_iter()
        .map(|a| a.scope)
        .collect();
    assert_eq!(scopes, ["Acme CERT", "de", "jp", "ZA", "Ärzte"]);

    assert!(s.remove_assessment("JP").unwrap());
    assert!(!s.remove_assessment("JP").unwrap());
    assert!(s.remove_assessment(" acme cert").unwrap());
    assert!(!s.remove_assessment("").unwrap());
    assert_eq!(s.assessments().unwrap().len(), 3);
}

/// Catalogues are kept for every scope or one, replaced per scope, and listed with the one
/// for every scope first.
pub fn catalogues<S: AssessmentStore + ?Sized>(s: &mut S) {
    assert_eq!(s.catalogue(None).unwrap(), None);
    assert!(s.catalogues().unwrap().is_empty());
    let every = StoredCatalogue {
        scope: None,
        version: "X.1060 Annex A".into(),
        services: 64,
        origin: "full.tsv".into(),
        imported_at: 1,
        // Not JSON: a catalogue is the TSV it reads back from.
        document: "id\tcategory\tname\n".into(),
    };
    let sg = StoredCatalogue {
        scope: Some("SG".into()),
        ..every.clone()
    };
    s.replace_catalogue(&every).unwrap();
    s.replace_catalogue(&sg).unwrap();
    assert_eq!(s.catalogue(None).unwrap(), Some(every.clone()));
    assert_eq!(s.catalogue(Some("sg")).unwrap(), Some(sg.clone()));
    assert_eq!(
        s.catalogue(Some("  ")).unwrap(),
        Some(every.clone()),
        "a blank scope reads as every scope"
    );
    assert_eq!(s.catalogue(Some("JP")).unwrap(), None);
    let blank = StoredCatalogue {
        scope: Some(" ".into()),
        ..every.clone()
    };
    assert!(matches!(
        s.replace_catalogue(&blank),
        Err(StoreError::InvalidQuery(_))
    ));
    let mut newer_sg = sg.clone();
    newer_sg.scope = Some(" sg ".into());
    newer_sg.version = "local-2".into();
    newer_sg.services = 3;
    s.replace_catalogue(&newer_sg).unwrap();
    newer_sg.scope = Some("sg".into());
    let at = StoredCatalogue {
        scope: Some("AT".into()),
        ..every.clone()
    };
    s.replace_catalogue(&at).unwrap();
    let mut newer_every = every.clone();
    newer_every.imported_at = 2;
    s.replace_catalogue(&newer_every).unwrap();
    assert_eq!(s.catalogues().unwrap(), vec![newer_every, at, newer_sg]);
}

on_both!(assess_assessments, crate::accounts::assess::assessments);
on_both!(assess_catalogues, crate::accounts::assess::catalogues);
