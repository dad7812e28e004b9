//! What every step of the pipeline needs: the configuration and where the store lives.

use crate::config::PipelineConfig;
use anyhow::{Context as _, Result};
use firewatch_store::{Backend, StoreLocation};
use std::path::{Path, PathBuf};

/// The configuration and the store's place, as a command or the service has them.
#[derive(Debug, Clone)]
pub struct Context {
    /// The pipeline's sections of the configuration.
    pub config: PipelineConfig,
    /// The store: a SQLite file or a PostgreSQL database.
    pub location: StoreLocation,
    /// The path the registry datasets are kept beside (`<anchor>-geo/`): a SQLite store's
    /// file; for PostgreSQL, a path on this machine (see [`Context::with_dataset_anchor`]).
    dataset_anchor: PathBuf,
}

impl Context {
    /// A context over the store at `location` (a SQLite file's path converts into one).
    pub fn new(config: PipelineConfig, location: impl Into<StoreLocation>) -> Self {
        let location = location.into();
        let dataset_anchor = match &location {
            StoreLocation::Sqlite(path) => path.clone(),
            // Until the caller names a place: the working directory, named after the database.
            StoreLocation::Postgres(_) => PathBuf::from(location.slug()),
        };
        Context {
            config,
            location,
            dataset_anchor,
        }
    }

    /// Keeps the registry datasets beside `anchor` (`<anchor>-geo/`) instead: for a
    /// PostgreSQL store, whose datasets live on the machine that runs the command.
    pub fn with_dataset_anchor(mut self, anchor: PathBuf) -> Self {
        self.dataset_anchor = anchor;
        self
    }

    /// The path the registry datasets are kept beside.
    pub fn dataset_anchor(&self) -> &Path {
        &self.dataset_anchor
    }

    /// Opens the store.
    pub fn store(&self) -> Result<Box<dyn Backend>> {
        self.location
            .open()
            .with_context(|| format!("cannot open the store {}", self.location))
    }

    /// Opens the store for reading, re-deriving alerts first if captures came in since
    /// (e.g. an ingest was killed between its commit and its alert refresh).
    pub fn fresh_store(&self) -> Result<Box<dyn Backend>> {
        let mut store = self.store()?;
        crate::alerts::refresh_if_stale(store.as_mut(), &self.config.detect)?;
        Ok(store)
    }
}
