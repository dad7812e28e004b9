//! `firewatch route IP`: the responsible team for an address, with the rule and data behind it.

use anyhow::{Result, anyhow};
use clap::Args;
use firewatch_enrich::directory::CountryCode;
use firewatch_pipeline::directory::{self, RouteQuery};
use firewatch_pipeline::{Context, dataset};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The address to route.
    pub ip: std::net::IpAddr,
    /// Use this ASN instead of the one the embedded data gives.
    #[arg(long)]
    pub asn: Option<u32>,
    /// Use this country (ISO 3166 alpha-2) instead of the one the embedded data gives.
    #[arg(long)]
    pub country: Option<String>,
    /// A DNS name tied to the event, for domain claims.
    #[arg(long)]
    pub domain: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: &RouteArgs) -> Result<ExitCode> {
    let geo = dataset::load_geo(ctx.dataset_anchor())?;
    let country = args
        .country
        .as_deref()
        .map(|cc| {
            cc.parse::<CountryCode>()
                .map_err(|e| anyhow!("--country: {e}"))
        })
        .transpose()?;
    let directory = directory::stored_directory(ctx.store()?.as_ref())?;
    if directory.teams.is_empty() {
        eprintln!("note: no team directory in the store yet (firewatch teams import FILE)");
    }
    let query = RouteQuery {
        country,
        asn: args.asn,
        domain: args.domain.as_deref(),
    };
    let answer = directory::route(&geo, &directory, args.ip, &query);
    if args.json {
        crate::output::json(&answer)?;
    } else {
        let network = match (answer.asn, answer.as_name.as_deref()) {
            (Some(a), Some(n)) => format!("AS{a} {n}"),
            (Some(a), None) => format!("AS{a}"),
            _ => "no ASN".into(),
        };
        outln!(
            "{}: country {}, {network}",
            args.ip,
            answer.country.as_deref().unwrap_or("unknown")
        );
        outln!("{}", answer.explanation);
    }
    Ok(if answer.conflicts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
