//! What every step of the pipeline needs: the configuration and where the store lives.

use crate::config::PipelineConfig;
use anyhow::{Context as _, Result};
use firewatch_store::Backend;
use std::path::PathBuf;

/// The configuration and the store's path, as a command or the service has them.
#[derive(Debug, Clone)]
pub struct Context {
    /// The pipeline's sections of the configuration.
    pub config: PipelineConfig,
    /// The SQLite store's file.
    pub db: PathBuf,
}

impl Context {
    /// A context over the store at `db`.
    pub fn new(config: PipelineConfig, db: PathBuf) -> Self {
        Context { config, db }
    }

    /// Opens the store.
    pub fn store(&self) -> Result<Box<dyn Backend>> {
        firewatch_store::open(&self.db)
            .with_context(|| format!("cannot open the store {}", self.db.display()))
    }

    /// Opens the store for reading, re-deriving alerts first if captures came in since
    /// (e.g. an ingest was killed between its commit and its alert refresh).
    pub fn fresh_store(&self) -> Result<Box<dyn Backend>> {
        let mut store = self.store()?;
        crate::alerts::refresh_if_stale(store.as_mut(), &self.config.detect)?;
        Ok(store)
    }
}
