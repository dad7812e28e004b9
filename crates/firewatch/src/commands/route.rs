//! `firewatch route IP`: the responsible team for an address, with the rule and data behind it.

use super::Env;
use super::teams::stored_directory;
use crate::cli::RouteArgs;
use anyhow::{Result, anyhow};
use firewatch_enrich::directory::CountryCode;
use firewatch_enrich::routing::{RouteHints, RouteRule, Router};
use serde::Serialize;
use std::process::ExitCode;

/// The answer, for `--json`.
#[derive(Serialize)]
struct RouteAnswer<'a> {
    addr: std::net::IpAddr,
    country: Option<String>,
    asn: Option<u32>,
    as_name: Option<&'a str>,
    data_version: &'a str,
    team: Option<String>,
    rule: String,
    conflicts: Vec<String>,
    explanation: String,
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

pub fn run(env: &Env, args: &RouteArgs) -> Result<ExitCode> {
    let geo = super::data::load_geo(env)?;
    let found = geo.lookup(args.ip);
    let country = match &args.country {
        Some(cc) => Some(
            cc.parse::<CountryCode>()
                .map_err(|e| anyhow!("--country: {e}"))?,
        ),
        None => found
            .country
            .and_then(|cc| cc.as_str().parse::<CountryCode>().ok()),
    };
    let asn = args.asn.or(found.asn);
    let directory = stored_directory(env)?;
    if directory.teams.is_empty() {
        eprintln!("note: no team directory in the store yet (firewatch teams import FILE)");
    }
    let router = Router::new(&directory);
    let hints = RouteHints {
        asn,
        country,
        domain: args.domain.as_deref(),
        data_version: Some(geo.version()),
    };
    let decision = router.route(args.ip, &hints);
    let answer = RouteAnswer {
        addr: args.ip,
        country: country.map(|c| c.to_string()),
        asn,
        as_name: found.as_name,
        data_version: geo.version(),
        team: decision.team.map(|t| t.to_string()),
        rule: rule_text(&decision.rule),
        conflicts: decision.conflicts.iter().map(|t| t.to_string()).collect(),
        explanation: decision.explain(),
    };
    if args.json {
        crate::output::json(&answer)?;
    } else {
        let network = match (answer.asn, answer.as_name) {
            (Some(a), Some(n)) => format!("AS{a} {n}"),
            (Some(a), None) => format!("AS{a}"),
            _ => "no ASN".into(),
        };
        println!(
            "{}: country {}, {network}",
            args.ip,
            answer.country.as_deref().unwrap_or("unknown")
        );
        println!("{}", answer.explanation);
    }
    Ok(if decision.is_conflict() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
