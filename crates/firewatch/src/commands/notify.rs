//! `firewatch notify run|status`: tell the responsible teams, through the outbox.

use crate::output::{json as print_json, s_time, table};
use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use firewatch_notify::openpgp::SenderKey;
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
    /// The outbox: queued, sent and failed notices (with the reason), and the records held
    /// back by a team's TLP cap.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
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

fn sender_key(cfg: &NotifyConfig) -> Result<SenderKey> {
    let path = &cfg.signing_key;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("notify.signing_key: cannot read {}", path.display()))?;
    let passphrase = match &cfg.signing_key_passphrase_env {
        Some(var) => Some(
            std::env::var(var)
                .map_err(|_| anyhow!("notify.signing_key_passphrase_env: ${var} is not set"))?,
        ),
        None => None,
    };
    Ok(SenderKey::from_armored(
        &text,
        passphrase.as_deref(),
        &path.display().to_string(),
    )?)
}

pub fn run(ctx: &Context, notify: Option<&NotifyConfig>, cmd: &NotifyCommand) -> Result<ExitCode> {
    match cmd {
        NotifyCommand::Run(args) => run_notices(ctx, notify, args),
        NotifyCommand::Status { json } => status(ctx, *json),
    }
}

fn run_notices(ctx: &Context, notify: Option<&NotifyConfig>, args: &RunArgs) -> Result<ExitCode> {
    let cfg = config(notify)?;
    let sender = sender_key(cfg)?;
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

fn status(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let notices = store.notices(None)?;
    let withheld = store.withheld()?;
    if as_json {
        print_json(&serde_json::json!({ "notices": notices, "withheld": withheld }))?;
        return Ok(ExitCode::SUCCESS);
    }
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
