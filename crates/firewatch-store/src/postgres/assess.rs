//! PostgreSQL implementation of the assessment area (issue 17): X.1060 assessments and
//! service catalogues, as [`crate::assess`] documents them.
//!
//! SQLite keys both tables by the scope under COLLATE NOCASE, which folds ASCII letters only;
//! here the store computes that key (`scope_key`: the trimmed scope with ASCII letters
//! lowered) and keeps the scope as last written beside it. Each write is one upsert.

use postgres::Row;

use super::PgStore;
use super::identity::read;
use crate::assess::{StoredAssessment, StoredCatalogue};
use crate::{AssessmentStore, Result, StoreError};

const ASSESSMENT_COLUMNS: &str = "scope, assessed_by, assessed_on, source, tlp, \
     catalogue_version, cells, format, origin, imported_at, document::text, owner";

const CATALOGUE_COLUMNS: &str = "scope, version, services, origin, imported_at, document";

/// How SQLite's NOCASE compares a scope: ASCII letters folded, nothing else.
fn fold(scope: &str) -> String {
    scope.trim().to_ascii_lowercase()
}

/// A scope as a key: never empty (the empty scope is the catalogues' "every").
fn scope_key(scope: &str) -> Result<String> {
    let key = fold(scope);
    if key.is_empty() {
        return Err(StoreError::InvalidQuery(
            "an assessment needs a scope (a country code or an organisation)".to_owned(),
        ));
    }
    Ok(key)
}

fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::InvalidQuery(format!("{what} {v} is too large")))
}

fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {v}")))
}

fn assessment_row(r: &Row) -> Result<StoredAssessment> {
    Ok(StoredAssessment {
        scope: r.try_get(0)?,
        assessed_by: r.try_get(1)?,
        assessed_on: r.try_get(2)?,
        source: r.try_get(3)?,
        tlp: r.try_get(4)?,
        catalogue_version: r.try_get(5)?,
        cells: to_u64(r.try_get(6)?, "assessment cells")?,
        format: r.try_get(7)?,
        origin: r.try_get(8)?,
        imported_at: r.try_get(9)?,
        document: r.try_get(10)?,
        owner: r.try_get(11)?,
    })
}

fn catalogue_row(r: &Row) -> Result<StoredCatalogue> {
    let scope: String = r.try_get(0)?;
    Ok(StoredCatalogue {
        scope: (!scope.is_empty()).then_some(scope),
        version: r.try_get(1)?,
        services: to_u64(r.try_get(2)?, "catalogue services")?,
        origin: r.try_get(3)?,
        imported_at: r.try_get(4)?,
        document: r.try_get(5)?,
    })
}

impl AssessmentStore for PgStore {
    fn replace_assessment(&mut self, a: &StoredAssessment) -> Result<()> {
        let key = scope_key(&a.scope)?;
        let cells = to_i64(a.cells, "assessment cells")?;
        // One statement: the old assessment is replaced whole, the scope spelled anew, or,
        // if the document is not JSON (the `json` type checks), stays as it was.
        self.client.execute(
            "INSERT INTO assess_assessments (scope_key, scope, assessed_by, assessed_on,
                 source, tlp, catalogue_version, cells, format, origin, imported_at, document,
                 owner)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::json, $13)
             ON CONFLICT (scope_key) DO UPDATE SET scope = EXCLUDED.scope,
                 assessed_by = EXCLUDED.assessed_by, assessed_on = EXCLUDED.assessed_on,
                 source = EXCLUDED.source, tlp = EXCLUDED.tlp,
                 catalogue_version = EXCLUDED.catalogue_version, cells = EXCLUDED.cells,
                 format = EXCLUDED.format, origin = EXCLUDED.origin,
                 imported_at = EXCLUDED.imported_at, document = EXCLUDED.document,
                 owner = EXCLUDED.owner",
            &[
                &key,
                &a.scope.trim(),
                &a.assessed_by,
                &a.assessed_on,
                &a.source,
                &a.tlp,
                &a.catalogue_version,
                &cells,
                &a.format,
                &a.origin,
                &a.imported_at,
                &a.document,
                &a.owner,
            ],
        )?;
        Ok(())
    }

    fn assessment(&self, scope: &str) -> Result<Option<StoredAssessment>> {
        read(self, |c| {
            c.query_opt(
                &format!(
                    "SELECT {ASSESSMENT_COLUMNS} FROM assess_assessments WHERE scope_key = $1"
                ),
                &[&fold(scope)],
            )?
            .map(|r| assessment_row(&r))
            .transpose()
        })
    }

    fn assessments(&self) -> Result<Vec<StoredAssessment>> {
        read(self, |c| {
            c.query(
                &format!("SELECT {ASSESSMENT_COLUMNS} FROM assess_assessments ORDER BY scope_key"),
                &[],
            )?
            .iter()
            .map(assessment_row)
            .collect()
        })
    }

    fn remove_assessment(&mut self, scope: &str) -> Result<bool> {
        let n = self.client.execute(
            "DELETE FROM assess_assessments WHERE scope_key = $1",
            &[&fold(scope)],
        )?;
        Ok(n > 0)
    }

    fn replace_catalogue(&mut self, c: &StoredCatalogue) -> Result<()> {
        let (key, scope) = match &c.scope {
            Some(scope) => (scope_key(scope)?, scope.trim()),
            None => (String::new(), ""),
        };
        let services = to_i64(c.services, "catalogue services")?;
        self.client.execute(
            "INSERT INTO assess_catalogues (scope_key, scope, version, services, origin,
                 imported_at, document)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (scope_key) DO UPDATE SET scope = EXCLUDED.scope,
                 version = EXCLUDED.version, services = EXCLUDED.services,
                 origin = EXCLUDED.origin, imported_at = EXCLUDED.imported_at,
                 document = EXCLUDED.document",
            &[
                &key,
                &scope,
                &c.version,
                &services,
                &c.origin,
                &c.imported_at,
                &c.document,
            ],
        )?;
        Ok(())
    }

    fn catalogue(&self, scope: Option<&str>) -> Result<Option<StoredCatalogue>> {
        read(self, |c| {
            c.query_opt(
                &format!("SELECT {CATALOGUE_COLUMNS} FROM assess_catalogues WHERE scope_key = $1"),
                &[&scope.map_or_else(String::new, fold)],
            )?
            .map(|r| catalogue_row(&r))
            .transpose()
        })
    }

    fn catalogues(&self) -> Result<Vec<StoredCatalogue>> {
        read(self, |c| {
            c.query(
                &format!("SELECT {CATALOGUE_COLUMNS} FROM assess_catalogues ORDER BY scope_key"),
                &[],
            )?
            .iter()
            .map(catalogue_row)
            .collect()
        })
    }
}
