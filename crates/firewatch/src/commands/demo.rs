//! `firewatch demo`: a seeded synthetic telescope day, ingested and explained, scored
//! against its own ground truth.

use crate::charts::plot_port;
use crate::output::table;
use crate::progress::Bars;
use crate::tables::{print_alerts, print_attacks};
use anyhow::{Context as _, Result};
use clap::Args;
use firewatch_core::{Protocol, SourceLabel};
use firewatch_pipeline::Context;
use firewatch_pipeline::capture::{IngestOptions, ingest_all};
use firewatch_store::{AlertQuery, AttackQuery, SourceQuery, TimeRange};
use firewatch_synth::{GroundTruth, OutputFormat, SynthConfig, write_capture};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Precision and recall of one class: `found_correct` of the `found` items are true, and
/// `truth_found` of the `truth` items were found (the two differ when one truth item is
/// matched by several findings).
struct Score {
    truth: u64,
    found: u64,
    found_correct: u64,
    truth_found: u64,
}

impl Score {
    fn same(truth: u64, found: u64, correct: u64) -> Score {
        Score {
            truth,
            found,
            found_correct: correct,
            truth_found: correct,
        }
    }
    fn precision(&self) -> f64 {
        if self.found == 0 {
            1.0
        } else {
            self.found_correct as f64 / self.found as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.truth == 0 {
            1.0
        } else {
            self.truth_found as f64 / self.truth as f64
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the synthetic capture, its ground truth and the charts.
    #[arg(long, default_value = "firewatch-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Approximate number of packets to generate.
    #[arg(long, default_value_t = 1_500_000)]
    pub packets: u64,
    /// Seed of the generator (the same seed and start give the same capture).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// When the capture starts: RFC 3339, a date or Unix seconds. Default: six hours before the
    /// last midnight (UTC), so the data is recent (`--since 7d` finds it) and the same all day.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
}

/// The example team directory, imported when the store has none, so the demo routes.
const EXAMPLE_TEAMS: &str = include_str!("../../../../examples/teams.toml");

pub fn run(ctx: &Context, args: &DemoArgs) -> Result<ExitCode> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let capture = args.out.join("telescope.pcap");
    let mut cfg = SynthConfig::with_packets(args.packets);
    cfg.seed = args.seed;
    let now = jiff::Timestamp::now();
    cfg.start_unix = match &args.start {
        Some(text) => firewatch_core::time::parse_time_bound(text, now)
            .map_err(|e| anyhow::anyhow!("--start: {e}"))?,
        None => {
            let midnight = now.as_second() - now.as_second().rem_euclid(86_400);
            midnight - cfg.duration_secs as i64
        }
    };
    let mut store = ctx.store()?;
    if store.team_directory()?.is_none() {
        let directory = firewatch_enrich::directory::Directory::from_toml_str(
            EXAMPLE_TEAMS,
            "examples/teams.toml",
        )?;
        firewatch_pipeline::directory::replace_directory(
            store.as_mut(),
            &directory,
            "examples/teams.toml (imported by the demo)",
            false,
            false,
        )?;
        outln!(
            "0. no team directory in the store: imported the example one ({} teams, examples/teams.toml); `firewatch teams import FILE` replaces it",
            directory.teams.len()
        );
    }
    drop(store);
    outln!(
        "1. generating a synthetic telescope capture ({} packets, seed {}) …",
        args.packets,
        args.seed
    );
    let truth = write_capture(
        &cfg,
        &capture,
        OutputFormat::Pcap {
            big_endian: false,
            nanosecond: false,
        },
        false,
    )
    .with_context(|| format!("cannot write {}", capture.display()))?;
    std::fs::write(
        args.out.join("truth.json"),
        serde_json::to_vec_pretty(&truth)?,
    )?;
    outln!(
        "   {} ({} packets, {} sources) and its ground truth truth.json",
        capture.display(),
        truth.packets,
        truth.sources.len()
    );

    outln!("2. ingesting into {} …", ctx.db.display());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let opts = IngestOptions {
        threads,
        aggregation: ctx.config.aggregation.clone(),
        dry_run: false,
        allow_overlap: false,
    };
    for r in ingest_all(ctx, &[&capture], &opts, &mut Bars::new(true))? {
        outln!(
            "   {}: {} — {} frames, {} sources, {:.0} packets/s",
            r.name,
            r.status,
            r.frames,
            r.sources,
            r.packets_per_second
        );
        if let Some(e) = r.error {
            anyhow::bail!("demo capture could not be read: {e}");
        }
    }
    let store = ctx.fresh_store()?;
    let range = TimeRange {
        since: Some(truth.start_unix),
        until: Some(truth.end_unix),
    };

    outln!("\n3. port alerts (spikes and new campaigns):");
    let alerts = store.alerts(&AlertQuery {
        range,
        ..Default::default()
    })?;
    print_alerts(&alerts);

    outln!("\n   who is told (each alert's sources by the team they are routed to):");
    print_alert_teams(store.as_ref(), &alerts)?;

    outln!("\n4. DoS attacks seen through backscatter:");
    let attacks = store.attacks(&AttackQuery {
        range,
        victim: None,
        team: None,
        country: None,
        limit: None,
    })?;
    print_attacks(&attacks);

    outln!("\n5. how well that matches the ground truth:");
    let sources = store.sources(&SourceQuery {
        range,
        label: None,
        team: None,
        country: None,
        limit: None,
    })?;
    let predicted: BTreeMap<_, _> = sources.iter().map(|s| (s.addr, s.label)).collect();
    let mut rows = Vec::new();
    for label in SourceLabel::ALL {
        let s = Score::same(
            truth.sources.values().filter(|&&l| l == label).count() as u64,
            predicted.values().filter(|&&l| l == label).count() as u64,
            truth
                .sources
                .iter()
                .filter(|(a, l)| **l == label && predicted.get(*a) == Some(l))
                .count() as u64,
        );
        rows.push(score_row(label.as_str(), &s));
    }
    let interval = i64::from(ctx.config.aggregation.interval_secs);
    let spikes = spike_score(&truth, &alerts, interval);
    rows.push(score_row("port spikes", &spikes));
    let overlaps = |a: &firewatch_store::AttackRecord, t: &firewatch_synth::TrueAttack| {
        t.victim == a.victim && t.start_ns <= a.end_ns && a.start_ns <= t.end_ns
    };
    let attack_score = Score {
        truth: truth.attacks.len() as u64,
        found: attacks.len() as u64,
        found_correct: attacks
            .iter()
            .filter(|a| truth.attacks.iter().any(|t| overlaps(a, t)))
            .count() as u64,
        truth_found: truth
            .attacks
            .iter()
            .filter(|t| attacks.iter().any(|a| overlaps(a, t)))
            .count() as u64,
    };
    rows.push(score_row("DoS attacks", &attack_score));
    table(
        &["WHAT", "TRUE", "FOUND", "CORRECT", "PRECISION", "RECALL"],
        rows,
    );

    outln!("\n6. charts:");
    let mut charted = Vec::new();
    for a in alerts.iter().take(4) {
        let key = (a.proto.clone(), a.port);
        if charted.contains(&key) {
            continue;
        }
        charted.push(key);
        let proto: Protocol = a.proto.parse()?;
        for ext in ["svg", "png"] {
            let out = args.out.join(format!("port-{}-{}.{ext}", a.proto, a.port));
            plot_port(ctx, proto, a.port, &range, &out)?;
            outln!("   {}", out.display());
        }
    }
    outln!(
        "\ndone in {:.1} s. Try: firewatch sources list --label mirai, firewatch ports top, firewatch sources show <IP>, firewatch events stats --by classification.identifier",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Per alert, its sources per routed team: what each team's notice would say is its own.
fn print_alert_teams(
    store: &dyn firewatch_store::Backend,
    alerts: &[firewatch_store::AlertRecord],
) -> Result<()> {
    let mut rows = Vec::new();
    for a in alerts {
        let mut per_team: BTreeMap<String, u64> = BTreeMap::new();
        for s in store.alert_sources(a, None)? {
            *per_team
                .entry(s.team.unwrap_or_else(|| "(no team)".to_owned()))
                .or_default() += 1;
        }
        let mut teams: Vec<(String, u64)> = per_team.into_iter().collect();
        teams.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        let told = teams
            .iter()
            .map(|(team, n)| format!("{team} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![
            format!("{}/{}", a.proto, a.port),
            a.unique_sources.to_string(),
            told,
        ]);
    }
    table(
        &[
            "ALERT",
            "SOURCES",
            "BY TEAM (firewatch alerts list --team T)",
        ],
        rows,
    );
    Ok(())
}

fn score_row(what: &str, s: &Score) -> Vec<String> {
    vec![
        what.to_string(),
        s.truth.to_string(),
        s.found.to_string(),
        s.found_correct.to_string(),
        format!("{:.3}", s.precision()),
        format!("{:.3}", s.recall()),
    ]
}

/// An alert is correct when it is on a planted spike's port and starts within one interval of it.
fn spike_score(
    truth: &GroundTruth,
    alerts: &[firewatch_store::AlertRecord],
    interval: i64,
) -> Score {
    let matches = |t: &firewatch_synth::TrueSpike, a: &firewatch_store::AlertRecord| {
        t.proto.to_string() == a.proto
            && t.port == a.port
            && (a.start - t.start_unix).abs() <= interval
    };
    Score {
        truth: truth.spikes.len() as u64,
        found: alerts.len() as u64,
        found_correct: alerts
            .iter()
            .filter(|a| truth.spikes.iter().any(|t| matches(t, a)))
            .count() as u64,
        truth_found: truth
            .spikes
            .iter()
            .filter(|t| alerts.iter().any(|a| matches(t, a)))
            .count() as u64,
    }
}
