//! X.1060 service maps (issue 21, docs/x1060.md): one assessment per scope (a country or an
//! organisation) and the imported service catalogues.
//!
//! The store keeps documents, not the model: an assessment is the JSON `firewatch-assess`
//! writes (checked to be JSON by SQLite, validated against the catalogue by the caller before
//! it gets here), beside the columns a listing needs without parsing it: who assessed it, when,
//! from what, its TLP and owning team, how many cells, where it was imported from and when. A
//! catalogue is the TSV it reads back from. So the store does not depend on the assessment
//! crate; `firewatch_pipeline::assess` converts, for the binary and the web service alike.
//! Each write is one statement: the scope's previous assessment is replaced whole or stays as
//! it was.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::{Result, SqliteStore, StoreError};

/// One scope's assessment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredAssessment {
    /// The country (ISO 3166 code) or organisation assessed; matched without regard to case.
    pub scope: String,
    /// Who assessed it.
    pub assessed_by: Option<String>,
    /// When it was assessed (`YYYY-MM-DD`).
    pub assessed_on: Option<String>,
    /// From what (a report, a workshop, a survey).
    pub source: Option<String>,
    /// Who may read it (`clear`, `green`, `amber`, `amber+strict`, `red`); none reads as RED.
    pub tlp: Option<String>,
    /// The directory team that owns it (imported it): who reads it at AMBER and AMBER+STRICT.
    pub owner: Option<String>,
    /// The version of the catalogue it was validated against.
    pub catalogue_version: String,
    /// How many cells it holds.
    pub cells: u64,
    /// The format it was imported from (`matrix`, `cells`, `json`).
    pub format: String,
    /// Where it was imported from (a file name).
    pub origin: String,
    /// When it was imported, Unix seconds.
    pub imported_at: i64,
    /// The assessment itself, as `firewatch-assess` writes it in JSON.
    pub document: String,
}

/// An imported service catalogue as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCatalogue {
    /// The scope it is for; `None` for every scope without one of its own.
    pub scope: Option<String>,
    /// The version the catalogue names.
    pub version: String,
    /// How many services it lists.
    pub services: u64,
    /// Where it was imported from (a file name).
    pub origin: String,
    /// When it was imported, Unix seconds.
    pub imported_at: i64,
    /// The catalogue as the TSV it reads back from.
    pub document: String,
}

/// A store of X.1060 assessments and catalogues. Implemented by [`SqliteStore`].
pub trait AssessmentStore {
    /// Makes `assessment` its scope's, replacing the one stored in one step. The caller
    /// validates it first: one that fails never reaches the store, and the old one stays.
    fn replace_assessment(&mut self, assessment: &StoredAssessment) -> Result<()>;
    /// The assessment of one scope (any case), if one was imported.
    fn assessment(&self, scope: &str) -> Result<Option<StoredAssessment>>;
    /// Every stored assessment, by scope.
    fn assessments(&self) -> Result<Vec<StoredAssessment>>;
    /// Removes a scope's assessment; `false` if there was none.
    fn remove_assessment(&mut self, scope: &str) -> Result<bool>;
    /// Makes `catalogue` the one of its scope (or of every scope), replacing it in one step.
    fn replace_catalogue(&mut self, catalogue: &StoredCatalogue) -> Result<()>;
    /// The catalogue imported for exactly this scope (`None`: for every scope), if any.
    fn catalogue(&self, scope: Option<&str>) -> Result<Option<StoredCatalogue>>;
    /// Every imported catalogue, the one for every scope first.
    fn catalogues(&self) -> Result<Vec<StoredCatalogue>>;
}

const ASSESSMENT_COLUMNS: &str = "scope, assessed_by, assessed_on, source, tlp, \
     catalogue_version, cells, format, origin, imported_at, document, owner";

const CATALOGUE_COLUMNS: &str = "scope, version, services, origin, imported_at, document";

fn assessment_row(r: &Row<'_>) -> rusqlite::Result<StoredAssessment> {
    Ok(StoredAssessment {
        scope: r.get(0)?,
        assessed_by: r.get(1)?,
        assessed_on: r.get(2)?,
        source: r.get(3)?,
        tlp: r.get(4)?,
        catalogue_version: r.get(5)?,
        cells: r.get(6)?,
        format: r.get(7)?,
        origin: r.get(8)?,
        imported_at: r.get(9)?,
        document: r.get(10)?,
        owner: r.get(11)?,
    })
}

fn catalogue_row(r: &Row<'_>) -> rusqlite::Result<StoredCatalogue> {
    let scope: String = r.get(0)?;
    Ok(StoredCatalogue {
        scope: (!scope.is_empty()).then_some(scope),
        version: r.get(1)?,
        services: r.get(2)?,
        origin: r.get(3)?,
        imported_at: r.get(4)?,
        document: r.get(5)?,
    })
}

/// A scope as a key: trimmed, and never empty (the empty scope is the catalogues' "every").
fn scope_key(scope: &str) -> Result<&str> {
    let scope = scope.trim();
    if scope.is_empty() {
        return Err(StoreError::InvalidQuery(
            "an assessment needs a scope (a country code or an organisation)".to_owned(),
        ));
    }
    Ok(scope)
}

impl AssessmentStore for SqliteStore {
    fn replace_assessment(&mut self, a: &StoredAssessment) -> Result<()> {
        let scope = scope_key(&a.scope)?;
        let tx = self.write_tx()?;
        // Delete first so the stored spelling of the scope is the new one (keys ignore case).
        tx.execute("DELETE FROM assess_assessments WHERE scope = ?", [scope])?;
        tx.execute(
            &format!(
                "INSERT INTO assess_assessments ({ASSESSMENT_COLUMNS}) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                scope,
                a.assessed_by,
                a.assessed_on,
                a.source,
                a.tlp,
                a.catalogue_version,
                a.cells,
                a.format,
                a.origin,
                a.imported_at,
                a.document,
                a.owner,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn assessment(&self, scope: &str) -> Result<Option<StoredAssessment>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ASSESSMENT_COLUMNS} FROM assess_assessments WHERE scope = ?"),
                [scope.trim()],
                assessment_row,
            )
            .optional()?)
    }

    fn assessments(&self) -> Result<Vec<StoredAssessment>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ASSESSMENT_COLUMNS} FROM assess_assessments ORDER BY scope"
        ))?;
        let rows = stmt.query_map([], assessment_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn remove_assessment(&mut self, scope: &str) -> Result<bool> {
        self.writable()?;
        Ok(self.conn.execute(
            "DELETE FROM assess_assessments WHERE scope = ?",
            [scope.trim()],
        )? > 0)
    }

    fn replace_catalogue(&mut self, c: &StoredCatalogue) -> Result<()> {
        let scope = c.scope.as_deref().map(scope_key).transpose()?.unwrap_or("");
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM assess_catalogues WHERE scope = ?", [scope])?;
        tx.execute(
            &format!(
                "INSERT INTO assess_catalogues ({CATALOGUE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            ),
            params![
                scope,
                c.version,
                c.services,
                c.origin,
                c.imported_at,
                c.document
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn catalogue(&self, scope: Option<&str>) -> Result<Option<StoredCatalogue>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CATALOGUE_COLUMNS} FROM assess_catalogues WHERE scope = ?"),
                [scope.map_or("", str::trim)],
                catalogue_row,
            )
            .optional()?)
    }

    fn catalogues(&self) -> Result<Vec<StoredCatalogue>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {CATALOGUE_COLUMNS} FROM assess_catalogues ORDER BY scope"
        ))?;
        let rows = stmt.query_map([], catalogue_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn an_assessment_is_replaced_whole_per_scope() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        assert!(s.assessment("JP").unwrap().is_none());
        s.replace_assessment(&jp(r#"{"about":{"scope":"JP"},"cells":[]}"#))
            .unwrap();
        let first = s.assessment("jp").unwrap().expect("any case");
        assert_eq!(first.assessed_by.as_deref(), Some("JPCERT/CC"));
        let mut second = jp(r#"{"about":{"scope":"jp"},"cells":[1]}"#);
        second.scope = "jp".into();
        second.cells = 2;
        s.replace_assessment(&second).unwrap();
        let all = s.assessments().unwrap();
        assert_eq!(all, vec![second], "one per scope, the new spelling");
        assert!(s.remove_assessment("JP").unwrap());
        assert!(s.assessments().unwrap().is_empty());
    }

    #[test]
    fn a_document_that_is_not_json_is_refused_and_the_old_one_stays() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let good = jp(r#"{"about":{"scope":"JP"},"cells":[]}"#);
        s.replace_assessment(&good).unwrap();
        assert!(s.replace_assessment(&jp("{not json")).is_err());
        assert_eq!(s.assessment("JP").unwrap(), Some(good));
        let mut blank = jp("{}");
        blank.scope = "  ".into();
        assert!(matches!(
            s.replace_assessment(&blank),
            Err(StoreError::InvalidQuery(_))
        ));
    }

    #[test]
    fn catalogues_are_kept_for_every_scope_or_one() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let every = StoredCatalogue {
            scope: None,
            version: "X.1060 Annex A".into(),
            services: 64,
            origin: "full.tsv".into(),
            imported_at: 1,
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
        assert_eq!(s.catalogue(Some("JP")).unwrap(), None);
        assert_eq!(s.catalogues().unwrap(), vec![every, sg]);
    }
}
