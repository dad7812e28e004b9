//! `firewatch notify run|status`: tell the responsible teams, through the outbox.

use crate::output::{json as print_json, s_time, table};
use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use firewatch_notify::{Courier, NotifyConfig, Planner, queue};
use firewatch_pipeline::Context;
use firewatch_pipeline::directory::stored_directory;
use firewatch_store::outbox::OutboxState;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Plan the notices the [notify] policies ask for, record them in the outbox, and send
    /// what is due (signed e-mail, webhooks).
    #[command(
        after_help = "Examples:\n  firewatch notify run\n  firewatch notify run --wait 300        # keep retrying failures for up to 5 minutes\n  firewatch notify run --dry-run out/    # write .eml / .json files, change nothing\n\nEvery notice is recorded in the store before it is sent and marked sent once the server\naccepted it; a notice that fails is retried with exponential backoff ([notify.retry]).\nExit status: 0 when nothing is left to retry, 1 otherwise."
    )]
    Run(RunArgs),
    /// The notices the next run would plan, without sending, recording or a signing key
    /// (e-mail is signed with a throw-away key made for the preview).
    #[command(
        after_help = "Examples:\n  firewatch notify preview\n  firewatch notify preview --team jp-example-cert --out preview/"
    )]
    Preview(PreviewArgs),
    /// The outbox per team (notices by state, records held back by TLP cap); `--team` lists
    /// that team's notices and held-back records one by one.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Only this team's notices.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Also write each notice into DIR (.eml, .json) as it would be sent.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One team's notices and held-back records, one per line.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Print JSON (every notice and held-back record, or the team's).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Write each notice that would be sent (new ones and queued ones) into DIR as .eml
    /// (e-mail) or .json (webhook body), and change nothing in the store.
    #[arg(long, value_name = "DIR")]
    pub dry_run: Option<PathBuf>,
    /// Keep retrying failed notices for up to this many seconds before exiting.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub wait: f64,
    /// Put notices that failed for good back in the queue first.
    #[arg(long)]
    pub retry_failed: bool,
    /// Print the run's report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn config(notify: Option<&NotifyConfig>) -> Result<&NotifyConfig> {
    let cfg = notify
        .ok_or_else(|| anyhow!("no [notify] section in the configuration (see firewatch.toml)"))?;
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(ctx: &Context, notify: Option<&NotifyConfig>, cmd: &NotifyCommand) -> Result<ExitCode> {
    match cmd {
        NotifyCommand::Run(args) => run_notices(ctx, notify, args),
        NotifyCommand::Preview(args) => preview(ctx, notify, args),
        NotifyCommand::Status(args) => status(ctx, args),
    }
}

fn run_notices(ctx: &Context, notify: Option<&NotifyConfig>, args: &RunArgs) -> Result<ExitCode> {
    let cfg = config(notify)?;
    let sender = cfg.sender_key()?;
    let directory = stored_directory(ctx.store()?.as_ref())?;
    let mut store = ctx.fresh_store()?;
    let planner = Planner {
        cfg,
        directory: &directory,
        sender: &sender,
        telescope: &ctx.config.telescope,
        now: jiff::Timestamp::now().as_second(),
    };
    let plan = planner.plan(store.as_ref())?;
    for reason in &plan.deferred {
        eprintln!("notify: {reason}");
    }
    if let Some(dir) = &args.dry_run {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut written = 0;
        let queued = store.notices(Some(OutboxState::Queued))?;
        let files = plan
            .notices
            .iter()
            .map(|p| (p.file_name.clone(), &p.notice.payload))
            .chain(queued.iter().map(|e| {
                let ext = if e.channel == "email" { "eml" } else { "json" };
                (
                    format!("{}-{}-{}.{ext}", e.team, e.channel, e.id),
                    &e.payload,
                )
            }));
        for (name, payload) in files {
            let path = dir.join(&name);
            std::fs::write(&path, payload)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written += 1;
        }
        outln!(
            "dry run: wrote {written} notices to {} ({} new, {} already queued); {} records held back by TLP caps; the outbox is unchanged",
            dir.display(),
            plan.notices.len(),
            queued.len(),
            plan.withheld.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let queued = queue(store.as_mut(), &plan)?;
    firewatch_store::crash_point("notify-after-queue");
    if args.retry_failed {
        store.requeue_failed(jiff::Timestamp::now().as_millisecond())?;
    }
    let courier = Courier::new(cfg)?;
    let wait = Duration::try_from_secs_f64(args.wait.max(0.0))
        .map_err(|e| anyhow!("--wait {}: {e}", args.wait))?;
    let report = courier.deliver(store.as_mut(), wait)?;
    if args.json {
        print_json(&serde_json::json!({
            "queued": queued,
            "withheld": plan.withheld.len(),
            "deferred": plan.deferred,
            "sent": report.sent,
            "retrying": report.retrying,
            "failed": report.failed,
        }))?;
    } else {
        outln!(
            "queued {queued} new notices ({} records held back by TLP caps); sent {}, retrying {}, failed {}",
            plan.withheld.len(),
            report.sent.len(),
            report.retrying.len(),
            report.failed.len()
        );
        for (id, reason) in report.retrying.iter().chain(&report.failed) {
            eprintln!("notify: {id}: {reason}");
        }
    }
    Ok(if report.retrying.is_empty() && report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn preview(ctx: &Context, notify: Option<&NotifyConfig>, args: &PreviewArgs) -> Result<ExitCode> {
    if let Some(team) = &args.team {
        crate::scope::check_team(ctx.store()?.as_ref(), team)?;
    }
    // Without [notify], the policy the demo uses: what a first configuration would send.
    let default_policy;
    let cfg = match notify {
        Some(_) => config(notify)?,
        None => {
            let directory = stored_directory(ctx.store()?.as_ref())?;
            eprintln!(
                "no [notify] section: previewing the default policy (every team of the directory told by e-mail of its alerts at once and of its events in a daily digest); see [notify] in firewatch.toml"
            );
            default_policy = crate::telling::default_policy(&directory, None, None)?;
            &default_policy
        }
    };
    let plan = crate::telling::preview_plan(ctx, cfg)?;
    let mine = |team: &str| args.team.as_deref().is_none_or(|t| t == team);
    let notices: Vec<_> = plan
        .notices
        .iter()
        .filter(|p| mine(&p.notice.team))
        .collect();
    let mut held: std::collections::BTreeMap<&str, usize> = Default::default();
    for w in plan.withheld.iter().filter(|w| mine(&w.team)) {
        *held.entry(w.team.as_str()).or_default() += 1;
    }
    if let Some(dir) = &args.out {
        crate::telling::write_notices(dir, notices.iter().copied())?;
    }
    if args.json {
        print_json(&serde_json::json!({
            "notices": notices.iter().map(|p| serde_json::json!({
                "team": p.notice.team,
                "channel": p.notice.channel,
                "recipients": p.notice.recipients,
                "tlp": p.notice.tlp,
                "subject": p.notice.subject,
                "records": p.notice.items,
                "file": p.file_name,
            })).collect::<Vec<_>>(),
            "held_back": held,
            "deferred": plan.deferred,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    table(
        &["TEAM", "CHANNEL", "TO", "TLP", "RECORDS", "SUBJECT"],
        notices
            .iter()
            .map(|p| {
                vec![
                    p.notice.team.clone(),
                    p.notice.channel.clone(),
                    p.notice.recipients.join(", "),
                    p.notice.tlp.clone(),
                    p.notice.items.len().to_string(),
                    p.notice.subject.clone(),
                ]
            })
            .collect(),
    );
    for (team, n) in &held {
        outln!(
            "{team}: {n} records held back by its TLP cap (not in its notice; notify status --team {team})"
        );
    }
    for reason in &plan.deferred {
        eprintln!("notify: {reason}");
    }
    match &args.out {
        Some(dir) => outln!(
            "{} notices written to {} (e-mail signed with a throw-away key: not what recipients verify)",
            notices.len(),
            dir.display()
        ),
        None => {
            outln!("nothing was sent or recorded; --out DIR writes the notices as they would go")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status(ctx: &Context, args: &StatusArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let mine = |team: &str| args.team.as_deref().is_none_or(|t| t == team);
    let notices: Vec<_> = store
        .notices(None)?
        .into_iter()
        .filter(|n| mine(&n.team))
        .collect();
    let withheld: Vec<_> = store
        .withheld()?
        .into_iter()
        .filter(|w| mine(&w.team))
        .collect();
    if args.json {
        // The payload is the notice as sent: bytes, not for reading here.
        let mut notices = serde_json::to_value(&notices)?;
        if let Some(list) = notices.as_array_mut() {
            for n in list.iter_mut().filter_map(serde_json::Value::as_object_mut) {
                n.remove("payload");
            }
        }
        print_json(&serde_json::json!({
            "notices": crate::output::json_times(notices, &["created_at", "sent_at"], &[]),
            "withheld": crate::output::json_times(serde_json::to_value(&withheld)?, &["at"], &[]),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if notices.is_empty() && withheld.is_empty() {
        outln!(
            "nothing queued, sent or held back yet{}: `notify run` sends, `notify preview` shows what would go",
            args.team
                .as_deref()
                .map(|t| format!(" for {t}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.team.is_none() {
        return status_summary(&notices, &withheld);
    }
    status_lines(&notices, &withheld)
}

/// Per team: notices by state, the last error, and records held back by cap and level.
fn status_summary(
    notices: &[firewatch_store::outbox::OutboxEntry],
    withheld: &[firewatch_store::outbox::WithheldRecord],
) -> Result<ExitCode> {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Row {
        states: BTreeMap<String, usize>,
        last_error: Option<String>,
        held: BTreeMap<String, usize>,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for n in notices {
        let row = rows.entry(&n.team).or_default();
        *row.states.entry(n.state.as_str().to_owned()).or_default() += 1;
        if n.last_error.is_some() {
            row.last_error.clone_from(&n.last_error);
        }
    }
    for w in withheld {
        *rows
            .entry(&w.team)
            .or_default()
            .held
            .entry(format!("{} over {}", w.tlp, w.max_tlp))
            .or_default() += 1;
    }
    let join = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    table(
        &[
            "TEAM",
            "NOTICES",
            "HELD BACK (record TLP over team cap)",
            "LAST ERROR",
        ],
        rows.iter()
            .map(|(team, r)| {
                vec![
                    (*team).to_owned(),
                    join(&r.states),
                    join(&r.held),
                    r.last_error.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    if !rows.is_empty() {
        outln!("one line per notice and record: notify status --team TEAM (or --json)");
    }
    Ok(ExitCode::SUCCESS)
}

fn status_lines(
    notices: &[firewatch_store::outbox::OutboxEntry],
    withheld: &[firewatch_store::outbox::WithheldRecord],
) -> Result<ExitCode> {
    table(
        &[
            "ID",
            "TEAM",
            "CHANNEL",
            "STATE",
            "ATTEMPTS",
            "TLP",
            "RECORDS",
            "CREATED",
            "SENT",
            "LAST ERROR",
        ],
        notices
            .iter()
            .map(|n| {
                vec![
                    n.id.clone(),
                    n.team.clone(),
                    n.channel.clone(),
                    n.state.as_str().to_string(),
                    n.attempts.to_string(),
                    n.tlp.clone(),
                    n.items.to_string(),
                    s_time(n.created_at),
                    n.sent_at.map(s_time).unwrap_or_default(),
                    n.last_error.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    if !withheld.is_empty() {
        outln!();
        outln!("held back (above the team's TLP cap, never sent to it):");
        table(
            &["TEAM", "RECORD", "TLP", "TEAM CAP", "SINCE"],
            withheld
                .iter()
                .map(|w| {
                    vec![
                        w.team.clone(),
                        w.item.clone(),
                        w.tlp.clone(),
                        w.max_tlp.clone(),
                        s_time(w.at),
                    ]
                })
                .collect(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
