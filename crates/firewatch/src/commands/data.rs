//! `firewatch data`: the registry data behind attribution, replaced atomically.

use anyhow::{Result, bail};
use clap::Subcommand;
use firewatch_pipeline::{Context, dataset};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Build a dataset from files and put it in force atomically: ip→ASN CSV or TSV (gzip or
    /// not), RIR delegated-extended statistics, MaxMind-format .mmdb. Running ingests switch to
    /// it between inputs.
    #[command(
        after_help = "Example:\n  firewatch data update ip2asn-v4.tsv.gz ip2asn-v6.tsv.gz delegated-apnic-extended-latest"
    )]
    Update {
        /// The data files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Put the dataset in force even if no range of it carries an ASN or a country of its own
        /// (otherwise refused: it would drop every attribution).
        #[arg(long)]
        force: bool,
    },
    /// The dataset in force, its size and its credits.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, cmd: &DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Update { files, force } => {
            if files.is_empty() {
                bail!("name at least one data file");
            }
            let geo = dataset::build(files)?;
            for p in geo.problems().iter().take(20) {
                eprintln!("{p}");
            }
            if !*force && !dataset::usable(&geo, files) {
                bail!(
                    "the files give no range with an ASN or a country of their own ({} bad lines); the dataset in force is kept (--force puts it in force anyway)",
                    geo.bad_lines()
                );
            }
            let (v4, v6) = geo.table().segment_counts();
            let name = blake3::hash(geo.version().as_bytes()).to_hex()[..16].to_string();
            dataset::install(ctx.dataset_anchor(), files, &name)?;
            outln!(
                "dataset {} is now in force ({v4} IPv4 and {v6} IPv6 ranges, {} bad lines skipped)",
                geo.version(),
                geo.bad_lines()
            );
            // What is stored was attributed with the old data: attribute it again.
            let rederived = firewatch_pipeline::rederive::rederive(ctx, None)?;
            outln!("{}", firewatch_pipeline::rederive::summary(&rederived));
            Ok(if geo.bad_lines() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        DataCommand::Show { json } => {
            let geo = dataset::load_geo(ctx.dataset_anchor())?;
            let (v4, v6) = geo.table().segment_counts();
            let info = serde_json::json!({
                "version": geo.version(),
                "installed": dataset::current_dataset(ctx.dataset_anchor())?,
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
