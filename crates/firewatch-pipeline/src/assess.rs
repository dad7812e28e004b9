//! X.1060 assessments read back from the store (issue 21, docs/x1060.md): the one conversion
//! of a stored document into an [`Assessment`], for the command line and the web alike.
//!
//! The store keeps documents (`firewatch_store::AssessmentStore`); `firewatch-assess` is pure.
//! This is where the two meet: the catalogue in force for a scope (its own, else the one for
//! every scope, else the built-in one) and the stored assessment validated against it.

use anyhow::{Context as _, Result};
use firewatch_assess::{About, Assessment, AssessmentFormat, Catalogue, CatalogueFormat};
use firewatch_store::{Backend, StoredAssessment, StoredCatalogue};

/// A stored assessment, read back, with the catalogue of its scope.
#[derive(Debug, Clone)]
pub struct LoadedAssessment {
    /// The stored row: metadata, TLP, owner and the document.
    pub stored: StoredAssessment,
    /// The document read back and validated.
    pub assessment: Assessment,
    /// The catalogue that validated it.
    pub catalogue: Catalogue,
}

/// The catalogue that checks `scope`'s assessments: its own, else the one for every scope,
/// else the built-in one; with the stored catalogue it came from (`None`: built in).
pub fn catalogue_for(
    store: &dyn Backend,
    scope: Option<&str>,
) -> Result<(Catalogue, Option<StoredCatalogue>)> {
    let own = match scope {
        Some(scope) => store.catalogue(Some(scope))?,
        None => None,
    };
    let stored = match own {
        Some(c) => Some(c),
        None => store.catalogue(None)?,
    };
    let Some(stored) = stored else {
        return Ok((Catalogue::builtin(), None));
    };
    let catalogue =
        Catalogue::import(&stored.document, CatalogueFormat::Tsv).with_context(|| {
            format!(
                "the catalogue stored from {} cannot be read back",
                stored.origin
            )
        })?;
    Ok((catalogue, Some(stored)))
}

/// Reads a stored assessment back against the catalogue of its scope.
pub fn read_assessment(store: &dyn Backend, stored: StoredAssessment) -> Result<LoadedAssessment> {
    let (catalogue, _) = catalogue_for(store, Some(&stored.scope))?;
    let assessment = Assessment::import(
        &stored.document,
        AssessmentFormat::Json,
        &catalogue,
        &About::default(),
    )
    .with_context(|| {
        format!(
            "the stored assessment of {} cannot be read back",
            stored.scope
        )
    })?;
    Ok(LoadedAssessment {
        stored,
        assessment,
        catalogue,
    })
}

/// The assessment of `scope` (any case), read back; `None` if none is stored.
pub fn load_assessment(store: &dyn Backend, scope: &str) -> Result<Option<LoadedAssessment>> {
    store
        .assessment(scope)?
        .map(|stored| read_assessment(store, stored))
        .transpose()
}
