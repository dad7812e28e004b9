//! Attribution for ingest: country, network and team of every source and victim.

use super::Env;
use super::teams::stored_directory;
use anyhow::Result;
use firewatch_enrich::attribute::Attributor;
use firewatch_store::{Enricher, Enrichment, Store};
use std::net::IpAddr;
use std::sync::Arc;

/// The dataset in force and the store's team directory, folded into one lookup table.
pub struct DirectoryEnricher {
    attributor: Attributor,
    /// Which data made an attribution: the geo dataset, and the directory's import time.
    version: String,
}

impl Enricher for DirectoryEnricher {
    fn enrich(&self, addr: IpAddr) -> Enrichment {
        let found = self.attributor.attribute(addr);
        Enrichment {
            country: found.country.map(|cc| cc.as_str().to_string()),
            asn: found.asn,
            as_name: found.as_name.map(str::to_string),
            team: found.team.map(|t| t.to_string()),
            data_version: Some(self.version.clone()),
        }
    }
}

/// Builds the enricher from the dataset in force and the store's directory.
pub fn enricher(env: &Env) -> Result<Arc<dyn Enricher>> {
    let geo = super::data::load_geo(env)?;
    let directory = stored_directory(env)?;
    let imported = env.store()?.team_directory()?.map(|d| d.imported_at);
    let version = match imported {
        Some(t) => format!("{}+teams@{t}", geo.version()),
        None => geo.version().to_string(),
    };
    Ok(Arc::new(DirectoryEnricher {
        attributor: Attributor::new(&geo, &directory),
        version,
    }))
}
