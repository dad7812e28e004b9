//! `firewatch data`: the registry data behind attribution, replaced atomically.

use crate::cli::DataCommand;
use anyhow::{Result, bail};
use firewatch_pipeline::{Context, dataset};
use std::process::ExitCode;

pub fn run(ctx: &Context, cmd: &DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Update { files } => {
            if files.is_empty() {
                bail!("name at least one data file");
            }
            let geo = dataset::build(files)?;
            for p in geo.problems().iter().take(20) {
                eprintln!("{p}");
            }
            let (v4, v6) = geo.table().segment_counts();
            let name = blake3::hash(geo.version().as_bytes()).to_hex()[..16].to_string();
            dataset::install(&ctx.db, files, &name)?;
            outln!(
                "dataset {} is now in force ({v4} IPv4 and {v6} IPv6 ranges, {} bad lines skipped)",
                geo.version(),
                geo.bad_lines()
            );
            Ok(if geo.bad_lines() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        DataCommand::Show { json } => {
            let geo = dataset::load_geo(&ctx.db)?;
            let (v4, v6) = geo.table().segment_counts();
            let info = serde_json::json!({
                "version": geo.version(),
                "installed": dataset::current_dataset(&ctx.db)?,
                "ipv4_ranges": v4,
                "ipv6_ranges": v6,
                "memory_bytes": geo.memory_bytes(),
                "attribution": "IP to ASN data: RouteViews (routeviews.org), DB-IP (db-ip.com), NRO (nro.net), CC BY 4.0; country: the five RIRs' delegated statistics",
            });
            if *json {
                crate::output::json(&info)?;
            } else {
                outln!("dataset   {}", geo.version());
                outln!(
                    "ranges    {v4} IPv4, {v6} IPv6 ({} MiB in memory)",
                    geo.memory_bytes() >> 20
                );
                outln!(
                    "credits   {}",
                    info["attribution"].as_str().unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
