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
use std::path::{Path, PathBuf};
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

pub fn run(ctx: &Context, config: &crate::config::Config, args: &DemoArgs) -> Result<ExitCode> {
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

    outln!("2. ingesting into {} …", ctx.location);
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

    outln!(
        "\n3. port alerts (spikes, new campaigns, and single-source bursts, which are not notified by default):"
    );
    let alerts = store.alerts(&AlertQuery {
        range,
        ..Default::default()
    })?;
    print_alerts(&alerts);

    outln!("\n   who is told (each alert's sources by the team they are routed to):");
    let told = print_alert_teams(store.as_ref(), &alerts)?;

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
    let (bursts, campaigns): (Vec<_>, Vec<_>) = alerts
        .iter()
        .cloned()
        .partition(|a| a.kind == firewatch_core::telescope::AlertKind::SingleSourceBurst);
    let planted_spikes: Vec<(String, u16, i64)> = truth
        .spikes
        .iter()
        .map(|t| (t.proto.to_string(), t.port, t.start_unix))
        .collect();
    let planted_bursts: Vec<(String, u16, i64)> = truth
        .bursts
        .iter()
        .map(|t| (t.proto.to_string(), t.port, t.start_unix))
        .collect();
    rows.push(score_row(
        "port spikes",
        &alert_score(&planted_spikes, &campaigns, interval),
    ));
    rows.push(score_row(
        "bursts",
        &alert_score(&planted_bursts, &bursts, interval),
    ));
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
        "\n7. what the teams get (written into {}):",
        args.out.display()
    );
    deliverables(ctx, config, args, &truth, &told)?;

    outln!(
        "\ndone in {:.1} s. Try: firewatch sources list --label mirai, firewatch ports top, firewatch sources show <IP>, firewatch events stats --by classification.identifier",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Per alert, its sources per routed team: what each team's notice would say is its own.
/// Returns each team's number of alert sources.
fn print_alert_teams(
    store: &dyn firewatch_store::Backend,
    alerts: &[firewatch_store::AlertRecord],
) -> Result<BTreeMap<String, u64>> {
    let mut rows = Vec::new();
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for a in alerts {
        let mut per_team: BTreeMap<String, u64> = BTreeMap::new();
        for s in store.alert_sources(a, None)? {
            if let Some(team) = &s.team {
                *totals.entry(team.clone()).or_default() += 1;
            }
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
    Ok(totals)
}

/// Removes the files a previous demo wrote into `dir` (those ending in one of `extensions`),
/// so that what is there is this run's.
fn clear_files(dir: &Path, extensions: &[&str]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let ours = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if ours && path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Step 7: the notices the teams would be sent (signed with a throw-away key, as `notify
/// preview` makes them) and one partner team's STIX bundle and MISP feed (as `export stix|misp
/// --team` makes them), written under `--out`, with where each is and how to look at it.
fn deliverables(
    ctx: &Context,
    config: &crate::config::Config,
    args: &DemoArgs,
    truth: &GroundTruth,
    told: &BTreeMap<String, u64>,
) -> Result<()> {
    let store = ctx.fresh_store()?;
    let directory = firewatch_pipeline::directory::stored_directory(store.as_ref())?;
    let telescope = &ctx.config.telescope;
    // The partner: the team with the most alert sources that may be told of them, a team of
    // its own constituency before the catch-all.
    let partner = directory
        .teams
        .iter()
        .filter(|t| told.contains_key(t.id.as_str()))
        .filter(|t| telescope.may_tell_routed_team(t.id.as_str()) && t.may_receive(telescope.tlp))
        .max_by_key(|t| {
            (
                !t.default,
                told[t.id.as_str()],
                std::cmp::Reverse(t.id.clone()),
            )
        })
        .map(|t| t.id.to_string());

    let notices_dir = args.out.join("notices");
    clear_files(&notices_dir, &["eml", "json"])?;
    let lookback_days =
        ((jiff::Timestamp::now().as_second() - truth.start_unix).max(0) / 86_400 + 2) as u32;
    let notify = match &config.notify {
        Some(cfg) => {
            cfg.validate()?;
            cfg.clone()
        }
        None => {
            crate::telling::default_policy(&directory, partner.as_deref(), Some(lookback_days))?
        }
    };
    let plan = crate::telling::preview_plan(ctx, &notify)?;
    crate::telling::write_notices(&notices_dir, &plan.notices)?;
    let mut rows = Vec::new();
    for p in &plan.notices {
        rows.push(vec![
            p.notice.team.clone(),
            p.notice.channel.clone(),
            p.notice.tlp.clone(),
            p.notice.items.len().to_string(),
            p.file_name.clone(),
        ]);
    }
    let source = if config.notify.is_some() {
        "the [notify] policies"
    } else {
        "a demo policy: every team by e-mail, the partner also by webhook"
    };
    outln!(
        "   the notices `firewatch notify run` would send ({source}), e-mail signed with a throw-away key, in {}/:",
        notices_dir.display()
    );
    table(&["TEAM", "CHANNEL", "TLP", "RECORDS", "FILE"], rows);
    for w in &plan.withheld {
        outln!(
            "   held back from {}: {} ({} over its cap {})",
            w.team,
            w.item,
            w.tlp,
            w.max_tlp
        );
    }
    for reason in &plan.deferred {
        outln!("   not planned: {reason}");
    }
    let first = |ext: &str| {
        plan.notices
            .iter()
            .find(|p| p.file_name.ends_with(ext))
            .map(|p| notices_dir.join(&p.file_name).display().to_string())
    };
    if let Some(eml) = first(".eml") {
        outln!(
            "   look: less {eml} (a PGP/MIME message: the text and the CSV of addresses, then the application/pgp-signature part; a mail client opens it)"
        );
    }
    if let Some(json) = first(".json") {
        outln!("   look: jq . {json} (the webhook's body, as POSTed)");
    }

    let Some(partner) = partner else {
        outln!("   no team may be told of an alert's sources: no STIX bundle or MISP feed written");
        return Ok(());
    };
    let share_dir = args.out.join("share");
    std::fs::create_dir_all(&share_dir)
        .with_context(|| format!("cannot create {}", share_dir.display()))?;
    let cap = crate::telling::team_cap(store.as_ref(), &partner)?;
    let findings = crate::telling::team_findings(
        store.as_ref(),
        telescope,
        &partner,
        cap,
        TimeRange::default(),
    )?;
    // The producer `export` names: [share], else the configured sender team.
    let sender_team = config.notify.as_ref().map(|n| n.sender_team.as_str());
    let producer = config.share.producer(None, sender_team);
    let bundle = firewatch_share::stix::Exporter::for_producer(&producer).bundle(&findings);
    let stix_path = share_dir.join(format!("{partner}.stix.json"));
    std::fs::write(&stix_path, serde_json::to_string_pretty(&bundle)? + "\n")
        .with_context(|| format!("cannot write {}", stix_path.display()))?;
    let objects = bundle["objects"].as_array().map_or(0, Vec::len);
    let misp_dir = share_dir.join(format!("misp-{partner}"));
    clear_files(&misp_dir, &["json", "csv", "tmp"])?;
    let feed = firewatch_share::misp::write_feed(&misp_dir, &producer, &findings)
        .with_context(|| format!("cannot write the feed into {}", misp_dir.display()))?;
    outln!(
        "   {partner}'s own part ({} findings at most {}, its cap; `firewatch export stix|misp --team {partner}` writes the same):",
        findings.len(),
        cap.label()
    );
    outln!(
        "   STIX 2.1 bundle: {} ({objects} objects). look: jq -r '.objects[].type' {} | sort | uniq -c",
        stix_path.display(),
        stix_path.display()
    );
    outln!(
        "   MISP feed:       {}/ ({} events, {} attributes). look: jq . {}/manifest.json, or add the directory, served over HTTP, as a MISP feed (format \"MISP Feed\")",
        misp_dir.display(),
        feed.events,
        feed.attributes,
        misp_dir.display()
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

/// An alert is correct when it is on a planted episode's port (`planted`: protocol, port,
/// start) and starts within one interval of it.
fn alert_score(
    planted: &[(String, u16, i64)],
    alerts: &[firewatch_store::AlertRecord],
    interval: i64,
) -> Score {
    let matches = |(proto, port, start): &(String, u16, i64), a: &firewatch_store::AlertRecord| {
        *proto == a.proto && *port == a.port && (a.start - start).abs() <= interval
    };
    Score {
        truth: planted.len() as u64,
        found: alerts.len() as u64,
        found_correct: alerts
            .iter()
            .filter(|a| planted.iter().any(|t| matches(t, a)))
            .count() as u64,
        truth_found: planted
            .iter()
            .filter(|t| alerts.iter().any(|a| matches(t, a)))
            .count() as u64,
    }
}
