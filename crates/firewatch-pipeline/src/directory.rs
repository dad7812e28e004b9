//! The team directory kept in the store, read one way for every reader, and the routing answer
//! built from it and the registry data in force.

use anyhow::{Context as _, Result, anyhow};
use firewatch_enrich::directory::{
    CountryCode, Directory, DirectoryError, ValidationPolicy, import_trusted_introducer_csv,
};
use firewatch_enrich::geo::GeoData;
use firewatch_enrich::routing::{RouteHints, RouteRule, Router};
use firewatch_store::{Store, StoredDirectory};
use serde::Serialize;
use std::net::IpAddr;
use std::path::Path;

/// The directory in the store, or an empty one if none was imported. It is validated with the
/// policy it was imported under (`--allow-nested-prefixes`), so every reader routes alike.
pub fn stored_directory(store: &(impl Store + ?Sized)) -> Result<Directory> {
    let Some(stored) = store.team_directory()? else {
        return Ok(Directory::default());
    };
    directory_of(&stored)
}

/// A stored directory, validated with the policy it was imported under.
pub fn directory_of(stored: &StoredDirectory) -> Result<Directory> {
    let policy = ValidationPolicy {
        allow_nested_prefixes: stored.allow_nested_prefixes,
    };
    Directory::from_toml_str_with(&stored.toml, &stored.origin, &policy)
        .map_err(|e| anyhow!("the stored team directory no longer validates: {e}"))
}

/// A CSV row of a directory file that was left out, and why.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    /// The 1-based line in the file.
    pub line: u64,
    /// Why the row was left out.
    pub message: String,
}

/// Reads and validates a directory file (TOML, JSON, or the Trusted Introducer CSV export, by
/// extension), with the CSV rows that were left out.
pub fn read_directory_file(
    path: &Path,
    policy: &ValidationPolicy,
) -> Result<(Directory, Vec<RejectedRow>)> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {origin}"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (dir, rejected) = match ext.as_deref() {
        Some("csv") => {
            let import = import_trusted_introducer_csv(text.as_bytes(), &origin)?;
            let rejected = import
                .rejected
                .iter()
                .map(|row| RejectedRow {
                    line: row.line,
                    message: row.message.clone(),
                })
                .collect();
            (import.into_directory(), rejected)
        }
        Some("json") => {
            let dir: Directory =
                serde_json::from_str(&text).map_err(|e| anyhow!("{origin}: {e}"))?;
            (dir, Vec::new())
        }
        _ => {
            return Ok((
                Directory::from_toml_str_with(&text, &origin, policy)?,
                Vec::new(),
            ));
        }
    };
    if let Err(problems) = dir.validate(policy) {
        return Err(DirectoryError::Invalid { origin, problems }.into());
    }
    Ok((dir, rejected))
}

/// Which team is responsible for an address, by which rule and data: the same answer for the
/// command line (`firewatch route`) and the web API (`/api/v1/route/{ip}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteAnswer {
    /// The address asked about.
    pub addr: IpAddr,
    /// Its country (given, else from the registry data).
    pub country: Option<String>,
    /// Its origin AS (given, else from the registry data).
    pub asn: Option<u32>,
    /// The AS's name, from the registry data.
    pub as_name: Option<String>,
    /// The registry dataset that answered.
    pub data_version: String,
    /// The responsible team; `None` when nobody claims the address.
    pub team: Option<String>,
    /// The rule that decided (`prefix 192.0.2.0/24`, `country JP`, `default team`).
    pub rule: String,
    /// Teams with equally specific claims, when the directory conflicts.
    pub conflicts: Vec<String>,
    /// Why, for a person.
    pub explanation: String,
}

/// What the asker knows beyond the address: it overrides the registry data.
#[derive(Debug, Clone, Default)]
pub struct RouteQuery<'a> {
    /// The country, if known better than the registry data.
    pub country: Option<CountryCode>,
    /// The origin AS, if known better than the registry data.
    pub asn: Option<u32>,
    /// The domain the address serves, for domain claims.
    pub domain: Option<&'a str>,
}

/// Routes `addr` through `directory`, with country and AS from `geo` unless `query` gives them.
pub fn route(
    geo: &GeoData,
    directory: &Directory,
    addr: IpAddr,
    query: &RouteQuery<'_>,
) -> RouteAnswer {
    let found = geo.lookup(addr);
    let country = query.country.or_else(|| {
        found
            .country
            .and_then(|cc| cc.as_str().parse::<CountryCode>().ok())
    });
    let asn = query.asn.or(found.asn);
    let router = Router::new(directory);
    let hints = RouteHints {
        asn,
        country,
        domain: query.domain,
        data_version: Some(geo.version()),
    };
    let decision = router.route(addr, &hints);
    RouteAnswer {
        addr,
        country: country.map(|c| c.to_string()),
        asn,
        as_name: found.as_name.map(str::to_string),
        data_version: geo.version().to_string(),
        team: decision.team.map(|t| t.to_string()),
        rule: rule_text(&decision.rule),
        conflicts: decision.conflicts.iter().map(|t| t.to_string()).collect(),
        explanation: decision.explain(),
    }
}

fn rule_text(rule: &RouteRule<'_>) -> String {
    match rule {
        RouteRule::Prefix(net) => format!("prefix {net}"),
        RouteRule::Asn(asn) => format!("asn AS{asn}"),
        RouteRule::Domain(d) => format!("domain {d}"),
        RouteRule::Country(cc) => format!("country {cc}"),
        RouteRule::RegionalCoordinator(cc) => format!("regional coordinator for {cc}"),
        RouteRule::Default => "default team".into(),
        RouteRule::Unclaimed => "unclaimed".into(),
    }
}

/// Stores `directory` as the one in force, with the policy it was validated under. A directory
/// without a single team (an empty file, `{}`, a CSV whose every row was left out) would route
/// nothing to anyone: it is refused, and the one in force kept, unless `force`.
pub fn replace_directory(
    store: &mut (impl Store + ?Sized),
    directory: &Directory,
    origin: &str,
    allow_nested_prefixes: bool,
    force: bool,
) -> Result<()> {
    if directory.teams.is_empty() && !force {
        anyhow::bail!(
            "{origin} holds no team; the directory in force is kept (--force replaces it with an empty one)"
        );
    }
    let stored = StoredDirectory {
        toml: directory.to_toml()?,
        origin: origin.to_string(),
        allow_nested_prefixes,
        imported_at: jiff::Timestamp::now().as_second(),
    };
    store.replace_team_directory(&stored)?;
    Ok(())
}
