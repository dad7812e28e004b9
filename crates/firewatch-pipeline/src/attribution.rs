//! Attribution for ingest: country, network and team of every source and victim, from the
//! registry data in force and the store's team directory, folded into one lookup table.

use crate::{Context, dataset, directory};
use anyhow::Result;
use firewatch_core::attribution::{Attribute, Attribution};
use firewatch_enrich::attribute::Attributor;
use std::net::IpAddr;
use std::sync::Arc;

/// The registry data and the directory as one lookup: what the store's derivation and the
/// feed experts both ask.
pub struct DirectoryEnricher {
    attributor: Attributor,
    /// Which data made an attribution: the geo dataset, and the directory's import time.
    version: String,
}

impl Attribute for DirectoryEnricher {
    fn attribute(&self, addr: IpAddr) -> Attribution {
        let found = self.attributor.attribute(addr);
        Attribution {
            country: found.country.map(|cc| cc.as_str().to_string()),
            asn: found.asn,
            as_name: found.as_name.map(str::to_string),
            team: found.team.map(|t| t.to_string()),
            data_version: Some(self.version.clone()),
        }
    }
}

/// Builds the enricher from the dataset in force and the store's directory.
pub fn enricher(ctx: &Context) -> Result<Arc<dyn Attribute>> {
    Ok(directory_enricher(ctx)?)
}

/// As [`enricher`], with its concrete type (which names the data version it attributes with).
pub fn directory_enricher(ctx: &Context) -> Result<Arc<DirectoryEnricher>> {
    let geo = dataset::load_geo(ctx.dataset_anchor())?;
    let store = ctx.store()?;
    let directory = directory::stored_directory(store.as_ref())?;
    let imported = store.team_directory()?.map(|d| d.imported_at);
    let version = match imported {
        Some(t) => format!("{}+teams@{t}", geo.version()),
        None => geo.version().to_string(),
    };
    Ok(Arc::new(DirectoryEnricher {
        attributor: Attributor::new(&geo, &directory),
        version,
    }))
}

impl DirectoryEnricher {
    /// The registry dataset's version and the directory's import time, as each record keeps it.
    pub fn version(&self) -> &str {
        &self.version
    }
}
