//! Attribution for ingest: country, network and team of every source and victim.

use super::Env;
use super::teams::stored_directory;
use anyhow::Result;
use firewatch_enrich::directory::CountryCode;
use firewatch_enrich::geo::GeoData;
use firewatch_enrich::routing::{RouteHints, Router};
use firewatch_store::{Enricher, Enrichment, Store};
use std::net::IpAddr;
use std::sync::Arc;

/// The embedded registry data and the store's team directory.
pub struct DirectoryEnricher {
    geo: GeoData,
    router: Router,
    /// Which data made an attribution: the geo dataset, and the directory's import time.
    version: String,
}

impl Enricher for DirectoryEnricher {
    fn enrich(&self, addr: IpAddr) -> Enrichment {
        let found = self.geo.lookup(addr);
        let country = found
            .country
            .and_then(|cc| cc.as_str().parse::<CountryCode>().ok());
        let hints = RouteHints {
            asn: found.asn,
            country,
            domain: None,
            data_version: None,
        };
        let decision = self.router.route(addr, &hints);
        Enrichment {
            country: found.country.map(|cc| cc.as_str().to_string()),
            asn: found.asn,
            as_name: found.as_name.map(str::to_string),
            team: decision.team.map(|t| t.to_string()),
            data_version: Some(self.version.clone()),
        }
    }
}

/// Builds the enricher from the embedded data and the store's directory.
pub fn enricher(env: &Env) -> Result<Arc<dyn Enricher>> {
    let geo = super::data::load_geo(env)?;
    let directory = stored_directory(env)?;
    let imported = env.store()?.team_directory()?.map(|d| d.imported_at);
    let version = match imported {
        Some(t) => format!("{}+teams@{t}", geo.version()),
        None => geo.version().to_string(),
    };
    Ok(Arc::new(DirectoryEnricher {
        router: Router::new(&directory),
        geo,
        version,
    }))
}
