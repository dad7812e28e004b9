//! `firewatch cases`: cross-border cases (issue 19, docs/cases.md), from a finding to a case
//! in one step, and every change to it after.
//!
//! Each command reads the case, makes its change through `firewatch-cases` (which refuses
//! what the rules forbid, saying why) and stores the new timeline entries with the case's rows
//! in one transaction.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use firewatch_cases::stored::{commit, load};
use firewatch_cases::{
    Case, Determination, FindingKind, NewCase, ObservableKind, Pap, PartyFigures, PartyStatus,
    Role, Severity, Stamp, Status, TaskStatus, party_figures,
};
use firewatch_core::TlpLevel;
use firewatch_core::time::parse_time_bound;
use firewatch_pipeline::Context;
use firewatch_store::Backend;
use firewatch_store::cases::CaseQuery;
use jiff::Timestamp;
use serde::Serialize;

use crate::output::{Rest, json, limited_table, table};
use crate::scope::check_team;

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// Open a case: from an alert (every team owning part of it becomes an affected party
    /// with its own sources as observables), or by hand.
    #[command(
        after_help = "Examples:\n  firewatch cases open --from-alert tcp-5555-spike-1793588400 --coordinator oic-example-coord\n  firewatch cases open --title \"Defacements of .example sites\" --coordinator oic-example-coord --tlp amber"
    )]
    Open(OpenArgs),
    /// Cases, newest first.
    List(ListArgs),
    /// One case: header, parties and their figures, tasks, links, observables.
    Show(ShowArgs),
    /// A case's timeline: every change and comment, oldest first.
    Timeline(ShowArgs),
    /// Add a team as a party, or move a party's status (invited, notified, seen,
    /// acknowledged, acting, done, declined).
    #[command(
        after_help = "Examples:\n  firewatch cases party 3 jp-example-cert --status acknowledged\n  firewatch cases party 3 ke-example-cirt --role observer\n  firewatch cases party 3 jp-example-cert --status done --at 2026-12-07T09:30:00Z"
    )]
    Party(PartyArgs),
    /// A party's tasks.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Link a finding (alert, attack, event) by its stable key, to the case or a party's slice.
    Link(LinkArgs),
    /// Add an observable (address, port, asn, domain), to the case or a party's slice.
    Observe(ObserveArgs),
    /// Add a comment.
    Comment(CommentArgs),
    /// Close a case with its determination (confirmed, suspected, false-positive, blocked,
    /// failed-attempt).
    Close(CloseArgs),
    /// Open a closed case again.
    Reopen(ReopenArgs),
    /// Write to a party: a signed e-mail (encrypted where the directory has the team's key)
    /// with the case's tag in the subject, queued in the outbox (`firewatch notify run` sends
    /// it); replies come back with `firewatch mail receive`.
    #[command(
        after_help = "Examples:\n  firewatch cases mail 3 jp-example-cert --body \"Please clean the 23 hosts attached to this case.\"\n  firewatch cases mail 3 jp-example-cert --body-file note.txt --subject \"Cleaning status?\""
    )]
    Mail(MailArgs),
    /// Parties past their service level (`[cases.service_levels]`, per severity): not
    /// acknowledged, or not done, in time.
    Overdue(OverdueArgs),
    /// Remind each overdue party once per deadline, by signed mail through the outbox.
    Remind(RemindArgs),
    /// Response figures: parties, acknowledged, resolved, median times, overdue; per team,
    /// membership or month.
    #[command(
        after_help = "Examples:\n  firewatch cases stats\n  firewatch cases stats --by membership --json\n  firewatch cases stats --by month"
    )]
    Stats(StatsArgs),
    /// A case as a STIX 2.1 bundle: an incident (with the Incident Core Extension's fields),
    /// its observables, comments as notes, and its whole timeline for another Firewatch.
    #[command(
        after_help = "Examples:\n  firewatch cases export 3 -o case-3.json\n  firewatch cases export 3 --team jp-example-cert -o for-jp.json   # only what that team may see"
    )]
    Export(ExportArgs),
    /// Take in a case another Firewatch exported (a STIX 2.1 bundle): a new case, or, for a
    /// case we hold, the entries its timeline lacks.
    #[command(
        after_help = "Examples:\n  firewatch cases import case-3.json\n  curl -s … | firewatch cases import -"
    )]
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct OverdueArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemindArgs {
    /// List who would be reminded; queue and record nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How `cases stats` groups parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsBy {
    /// The party's team.
    Team,
    /// Each network the party's team belongs to (the directory's memberships).
    Membership,
    /// The month its case was opened.
    Month,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// How to group the parties.
    #[arg(long, value_enum, default_value = "team")]
    pub by: StatsBy,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MailArgs {
    /// The case number.
    pub id: u64,
    /// The party to write to.
    pub team: String,
    /// The text.
    #[arg(
        long,
        conflicts_with = "body_file",
        required_unless_present = "body_file"
    )]
    pub body: Option<String>,
    /// The text, from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<std::path::PathBuf>,
    /// The subject (default: the case's title); the case's tag is put in front.
    #[arg(long)]
    pub subject: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The case number.
    pub id: u64,
    /// Only what this team may see of it (its own slice, and what belongs to the whole case).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// The producing team's name in the bundle (default: `[share] producer_name`).
    #[arg(long, value_name = "NAME")]
    pub producer: Option<String>,
    /// Write the bundle here (default: standard output).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle (`-`: standard input).
    pub file: std::path::PathBuf,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Give a party a task.
    Add(TaskAddArgs),
    /// Change a task's status (ongoing, done, failed, cancelled) or due date.
    Set(TaskSetArgs),
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Open it from this alert (`firewatch alerts list`).
    #[arg(long, value_name = "ID")]
    pub from_alert: Option<String>,
    /// A line saying what happened (from an alert: said for you).
    #[arg(long)]
    pub title: Option<String>,
    /// More words.
    #[arg(long, default_value = "")]
    pub summary: String,
    /// low, medium, high, critical.
    #[arg(long, default_value = "medium")]
    pub severity: Severity,
    /// Who may read the case (clear, green, amber, amber+strict, red); from an alert, the
    /// telescope's TLP by default, else amber.
    #[arg(long)]
    pub tlp: Option<TlpLevel>,
    /// What parties may do with it (PAP: clear, green, amber, red).
    #[arg(long, default_value = "amber")]
    pub pap: Pap,
    /// The coordinating team (default: the telescope's owner, if configured).
    #[arg(long, value_name = "TEAM")]
    pub coordinator: Option<String>,
    /// Open another case for an alert that already has one.
    #[arg(long)]
    pub again: bool,
    /// When the case began, if earlier than now (a report filed late; RFC 3339, a date, Unix
    /// seconds, or an age: 2h).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print the new case as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the cases this team may see: it is a party, or the case's TLP lets it read.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Only cases with this status (new, in-progress, closed).
    #[arg(long)]
    pub status: Option<Status>,
    /// At most this many rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The case number.
    pub id: u64,
    /// Only what this team may see of it: its own slice, and what belongs to the whole case.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Observables shown at most in the table (all with --json).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PartyArgs {
    /// The case number.
    pub id: u64,
    /// The team (directory id).
    pub team: String,
    /// Add the team as a party with this role (coordinator, affected, reporter, observer).
    #[arg(long)]
    pub role: Option<Role>,
    /// Its new status.
    #[arg(long)]
    pub status: Option<PartyStatus>,
    /// When it happened, if earlier than now (RFC 3339, a date, Unix seconds, or an age: 2h).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

#[derive(Debug, Args)]
pub struct TaskAddArgs {
    /// The case number.
    pub id: u64,
    /// The party the task is for.
    pub team: String,
    /// What is to be done.
    pub title: String,
    /// When it is due: RFC 3339, a date, Unix seconds, or from now (+3d, +12h).
    #[arg(long, value_name = "TIME")]
    pub due: Option<String>,
}

#[derive(Debug, Args)]
pub struct TaskSetArgs {
    /// The case number.
    pub id: u64,
    /// The task's number.
    pub task: u32,
    /// Its new status (ongoing, done, failed, cancelled).
    #[arg(long)]
    pub status: Option<TaskStatus>,
    /// A new due date (as for `task add`).
    #[arg(long, value_name = "TIME", conflicts_with = "no_due")]
    pub due: Option<String>,
    /// Remove the due date.
    #[arg(long)]
    pub no_due: bool,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The case number.
    pub id: u64,
    /// alert, attack or event.
    pub kind: FindingKind,
    /// The finding's stable key.
    pub key: String,
    /// Link it to this party's slice only.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
}

#[derive(Debug, Args)]
pub struct ObserveArgs {
    /// The case number.
    pub id: u64,
    /// address, port, asn or domain.
    pub kind: ObservableKind,
    /// Its value (192.0.2.7, tcp/23, AS64500, example.org).
    pub value: String,
    /// Add it to this party's slice only.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The case number.
    pub id: u64,
    /// What to say.
    pub text: String,
    /// Who says it (a team or a name).
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The case number.
    pub id: u64,
    /// What it turned out to be: confirmed, suspected, false-positive, blocked,
    /// failed-attempt (required).
    #[arg(long)]
    pub determination: Option<Determination>,
    /// Why, in words.
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReopenArgs {
    /// The case number.
    pub id: u64,
    /// Why, in words.
    #[arg(long)]
    pub reason: Option<String>,
}

pub fn run(ctx: &Context, config: &crate::config::Config, cmd: &CasesCommand) -> Result<ExitCode> {
    match cmd {
        CasesCommand::Export(args) => export(ctx, config, args),
        CasesCommand::Mail(args) => mail(ctx, config, args),
        CasesCommand::Overdue(args) => overdue(ctx, config, args),
        CasesCommand::Remind(args) => remind(ctx, config, args),
        CasesCommand::Stats(args) => stats(ctx, config, args),
        CasesCommand::Import(args) => import(ctx, args),
        CasesCommand::Open(args) => open(ctx, args),
        CasesCommand::List(args) => list(ctx, args),
        CasesCommand::Show(args) => show(ctx, args),
        CasesCommand::Timeline(args) => timeline(ctx, args),
        CasesCommand::Party(args) => party(ctx, args),
        CasesCommand::Task(TaskCommand::Add(args)) => task_add(ctx, args),
        CasesCommand::Task(TaskCommand::Set(args)) => task_set(ctx, args),
        CasesCommand::Link(args) => change(ctx, args.id, |store, case, stamp| {
            if let Some(team) = &args.team {
                check_team(store, team)?;
            }
            case.link(args.kind, &args.key, args.team.as_deref(), stamp)?;
            Ok(format!("linked {} {}", args.kind, args.key.trim()))
        }),
        CasesCommand::Observe(args) => change(ctx, args.id, |store, case, stamp| {
            if let Some(team) = &args.team {
                check_team(store, team)?;
            }
            let added = case.observe(args.kind, &args.value, args.team.as_deref(), stamp)?;
            if !added {
                bail!("{} {} is already there", args.kind, args.value.trim());
            }
            Ok(format!("added {} {}", args.kind, args.value.trim()))
        }),
        CasesCommand::Comment(args) => {
            let stamp = Stamp::at(now(), args.by.clone());
            change_stamped(ctx, args.id, stamp, |_, case, stamp| {
                case.comment(&args.text, stamp)?;
                Ok("comment added".to_owned())
            })
        }
        CasesCommand::Close(args) => change(ctx, args.id, |_, case, stamp| {
            case.close(args.determination, args.note.as_deref(), stamp)?;
            Ok(format!(
                "closed as {}",
                args.determination.map_or("", |d| d.as_str())
            ))
        }),
        CasesCommand::Reopen(args) => change(ctx, args.id, |_, case, stamp| {
            case.reopen(args.reason.as_deref(), stamp)?;
            Ok("reopened (in progress)".to_owned())
        }),
    }
}

/// Now, to the second.
fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("now is a valid time")
}

/// A time given on the command line: RFC 3339, a date, Unix seconds, an age (`2h`: ago), or
/// with `future`, `+3d` from now.
fn time_arg(text: &str, future: bool) -> Result<Timestamp> {
    let now = now();
    let secs = match text.trim().strip_prefix('+') {
        Some(ahead) if future => {
            let back = parse_time_bound(ahead, now)?;
            2 * now.as_second() - back
        }
        _ => parse_time_bound(text, now)?,
    };
    Ok(Timestamp::from_second(secs)?)
}

/// Reads case `id`, or says there is none.
fn notify_config(config: &crate::config::Config) -> Result<&firewatch_notify::NotifyConfig> {
    config.notify.as_ref().context(
        "case mail goes out through notify: the configuration has no [notify] section (sender team, From address, signing key; see docs/notify.md)",
    )
}

fn mail(ctx: &Context, config: &crate::config::Config, args: &MailArgs) -> Result<ExitCode> {
    let notify = notify_config(config)?;
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => text.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, None) => bail!("give the text with --body or --body-file"),
    };
    let mut store = ctx.store()?;
    store.check_writable()?;
    let mut case = read_case(store.as_ref(), args.id)?;
    let subject = args.subject.clone().unwrap_or_else(|| case.title.clone());
    let before = case.timeline.len();
    let sent = send_case_mail(
        store.as_mut(),
        config,
        notify,
        &mut case,
        &args.team,
        &subject,
        &body,
    )?;
    let appended = case.timeline.len() - before;
    commit(store.as_mut(), &mut case, appended)?;
    outln!(
        "case #{}: mail to {} <{}> {} (Message-ID <{}>): \"{}\"; `firewatch notify run` sends it",
        case.id,
        args.team,
        sent.recipients,
        if sent.queued {
            "queued"
        } else {
            "was already queued"
        },
        sent.message_id,
        sent.subject
    );
    Ok(ExitCode::SUCCESS)
}

/// Every stored case, read back.
fn all_cases(store: &dyn Backend) -> Result<Vec<Case>> {
    store
        .cases(&CaseQuery::default())?
        .into_iter()
        .map(|header| read_case(store, header.id))
        .collect()
}

fn overdue(ctx: &Context, config: &crate::config::Config, args: &OverdueArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let now = now();
    let mut rows: Vec<firewatch_cases::service::Overdue> = all_cases(store.as_ref())?
        .iter()
        .flat_map(|c| firewatch_cases::service::overdue(c, &config.cases.service_levels, now))
        .collect();
    rows.sort_by(|a, b| b.late_secs.cmp(&a.late_secs).then(a.case.cmp(&b.case)));
    if args.json {
        json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("no party is past its service level");
        return Ok(ExitCode::SUCCESS);
    }
    table(
        &[
            "CASE", "SEVERITY", "PARTY", "TO", "SINCE", "DUE", "LATE", "REMINDED",
        ],
        rows.iter()
            .map(|o| {
                vec![
                    format!("#{}", o.case),
                    o.severity.to_string(),
                    o.team.clone(),
                    o.due.as_str().to_owned(),
                    o.since.to_string(),
                    o.deadline.to_string(),
                    duration_text(o.late_secs),
                    if o.reminded { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

/// `3d 4h`, `2h 5m`, `45s`.
fn duration_text(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn remind(ctx: &Context, config: &crate::config::Config, args: &RemindArgs) -> Result<ExitCode> {
    let mut store = ctx.store()?;
    if !args.dry_run {
        store.check_writable()?;
    }
    let notify = if args.dry_run {
        None
    } else {
        Some(notify_config(config)?)
    };
    let now = now();
    let mut reminded = 0;
    for mut case in all_cases(store.as_ref())? {
        let due: Vec<_> =
            firewatch_cases::service::overdue(&case, &config.cases.service_levels, now)
                .into_iter()
                .filter(|o| !o.reminded)
                .collect();
        if due.is_empty() {
            continue;
        }
        let before = case.timeline.len();
        for o in &due {
            let what = match o.due {
                firewatch_cases::service::Due::Acknowledge => "acknowledge",
                firewatch_cases::service::Due::Resolve => "report it done",
            };
            let Some(notify) = notify else {
                outln!(
                    "would remind {} of case #{} to {what} (due {}, {} late)",
                    o.team,
                    case.id,
                    o.deadline,
                    duration_text(o.late_secs)
                );
                continue;
            };
            let body = format!(
                "Case #{} ({}, severity {}) has waited for you to {what} since {}; it was due {}.\n\nPlease answer this mail, keeping its subject.\n",
                case.id, case.title, case.severity, o.since, o.deadline
            );
            let subject = format!("Reminder: {}", case.title);
            let sent = send_case_mail(
                store.as_mut(),
                config,
                notify,
                &mut case,
                &o.team,
                &subject,
                &body,
            )?;
            case.remind(
                &o.team,
                o.due,
                &Stamp::at(now, Some(notify.sender_team.clone())),
            )?;
            outln!(
                "case #{}: reminded {} to {what} ({})",
                case.id,
                o.team,
                sent.message_id
            );
            reminded += 1;
        }
        let appended = case.timeline.len() - before;
        if appended > 0 {
            commit(store.as_mut(), &mut case, appended)?;
        }
    }
    if reminded == 0 && !args.dry_run {
        outln!("no overdue party left to remind");
    }
    Ok(ExitCode::SUCCESS)
}

fn stats(ctx: &Context, config: &crate::config::Config, args: &StatsArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let directory = match store.team_directory()? {
        Some(stored) => Some(firewatch_pipeline::directory::directory_of(&stored)?),
        None => None,
    };
    let cases = all_cases(store.as_ref())?;
    let rows = firewatch_cases::service::group_stats(
        &cases,
        &config.cases.service_levels,
        now(),
        |case, party| match args.by {
            StatsBy::Team => vec![party.team.clone()],
            StatsBy::Month => vec![case.opened_at.strftime("%Y-%m").to_string()],
            StatsBy::Membership => {
                let of = directory
                    .as_ref()
                    .and_then(|d| d.team(&party.team))
                    .map(|t| t.memberships.clone())
                    .unwrap_or_default();
                if of.is_empty() {
                    vec!["no membership".to_owned()]
                } else {
                    of
                }
            }
        },
    );
    if args.json {
        json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let secs = |s: Option<i64>| s.map(duration_text).unwrap_or_else(|| "-".into());
    table(
        &[
            "GROUP",
            "CASES",
            "PARTIES",
            "ACKNOWLEDGED",
            "RESOLVED",
            "MEDIAN TO ACK",
            "MEDIAN TO RESOLVE",
            "OVERDUE",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.group.clone(),
                    r.cases.to_string(),
                    r.parties.to_string(),
                    r.acknowledged.to_string(),
                    r.resolved.to_string(),
                    secs(r.median_time_to_acknowledge_secs),
                    secs(r.median_time_to_resolve_secs),
                    r.overdue.to_string(),
                ]
            })
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

/// A case mail queued in the outbox.
struct SentMail {
    queued: bool,
    message_id: String,
    recipients: String,
    subject: String,
}

/// Queues a signed mail to a party in notify's outbox and records it in `case` (a message
/// entry, its Message-ID in the party's slice, `invited` → `notified`); the caller commits.
/// Outbox first: a run killed before the case is committed queues the same notice again (its
/// id depends on the case as it stands), finds it queued, and records it then.
fn send_case_mail(
    store: &mut dyn Backend,
    config: &crate::config::Config,
    notify: &firewatch_notify::NotifyConfig,
    case: &mut Case,
    team_id: &str,
    subject: &str,
    body: &str,
) -> Result<SentMail> {
    let Some(party) = case.party(team_id) else {
        bail!(
            "{team_id} is no party of case #{}; add it first (`firewatch cases party {} {team_id} --role affected`)",
            case.id,
            case.id
        );
    };
    let invited = party.status == PartyStatus::Invited;
    let stored = store
        .team_directory()?
        .context("no team directory is stored. hint: `firewatch teams import teams.toml`")?;
    let directory = firewatch_pipeline::directory::directory_of(&stored)?;
    let team = directory
        .team(team_id)
        .with_context(|| format!("{team_id} is not in the team directory"))?;
    let subject = firewatch_cases::tagged_subject(&config.cases.mail_tag, case.id, subject);
    // The thread so far with this team (and the whole case's), oldest first.
    let thread: Vec<String> = case
        .links
        .iter()
        .filter(|l| l.kind == FindingKind::Mail && l.team.as_deref().is_none_or(|t| t == team_id))
        .map(|l| l.key.clone())
        .collect();
    let now = now();
    let sender = notify.sender_key()?;
    let (notice, message_id) = firewatch_notify::case_mail::case_notice(
        notify,
        &sender,
        team,
        &firewatch_notify::case_mail::CaseMail {
            case: case.id,
            timeline_len: case.timeline.len(),
            subject: &subject,
            body,
            tlp: case.tlp,
            thread: &thread,
            now: now.as_second(),
        },
    )?;
    let queued = store.enqueue(&notice)?;
    let stamp = Stamp::at(now, Some(notify.sender_team.clone()));
    case.apply(
        firewatch_cases::Change::Message {
            direction: firewatch_cases::MailDirection::Out,
            message_id: message_id.clone(),
            team: Some(team_id.to_owned()),
            address: notice.recipients.join(", "),
            subject: subject.clone(),
            signature: if team.openpgp.as_ref().is_some_and(|k| k.armored.is_some()) {
                "signed, encrypted".into()
            } else {
                "signed".into()
            },
            note: None,
            excerpt: firewatch_cases::excerpt(body, 400),
        },
        &stamp,
    )?;
    case.link(FindingKind::Mail, &message_id, Some(team_id), &stamp)?;
    if invited {
        case.set_party_status(team_id, PartyStatus::Notified, &stamp)?;
    }
    Ok(SentMail {
        queued,
        message_id,
        recipients: notice.recipients.join(", "),
        subject,
    })
}

fn export(ctx: &Context, config: &crate::config::Config, args: &ExportArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let case = seen_by(store.as_ref(), args.id, args.team.as_deref())?;
    let sender_team = config.notify.as_ref().map(|n| n.sender_team.as_str());
    let producer = config.share.producer(args.producer.as_deref(), sender_team);
    let exporter = firewatch_share::stix::Exporter::for_producer(&producer);
    let bundle = firewatch_share::case_stix::export(&case, &exporter);
    let mut text = serde_json::to_string_pretty(&bundle)?;
    text.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    eprintln!(
        "case #{}: {} STIX objects, incident {}",
        case.id,
        bundle["objects"].as_array().map_or(0, Vec::len),
        firewatch_share::case_stix::incident_id(&case)
    );
    Ok(ExitCode::SUCCESS)
}

/// What `cases import` did.
#[derive(Debug, Serialize)]
struct Imported {
    case: u64,
    incident: String,
    /// `new`: a case we did not hold; `merged`: entries added to one we hold.
    outcome: &'static str,
    appended: usize,
    already_held: usize,
    refused: Vec<RefusedEntry>,
}

#[derive(Debug, Serialize)]
struct RefusedEntry {
    entry: u64,
    why: String,
}

fn import(ctx: &Context, args: &ImportArgs) -> Result<ExitCode> {
    let name = args.file.display().to_string();
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
            .context("cannot read standard input")?;
        buf
    } else {
        std::fs::read(&args.file).with_context(|| format!("cannot read {name}"))?
    };
    let bundle: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{name}: not a JSON document"))?;
    let read = firewatch_share::case_stix::read(&bundle).with_context(|| name.clone())?;
    let incoming = read.case().with_context(|| name.clone())?;
    let mut store = ctx.store()?;
    store.check_writable()?;
    let held = held_case(store.as_ref(), &incoming, &read.incident)?;
    let done = match held {
        None => {
            let mut case = incoming;
            let appended = case.timeline.len();
            commit(store.as_mut(), &mut case, appended)?;
            Imported {
                case: case.id,
                incident: read.incident,
                outcome: "new",
                appended,
                already_held: 0,
                refused: Vec::new(),
            }
        }
        Some(mut case) => {
            let absorbed = case.absorb(&read.timeline);
            if absorbed.appended > 0 {
                commit(store.as_mut(), &mut case, absorbed.appended)?;
            }
            Imported {
                case: case.id,
                incident: read.incident,
                outcome: "merged",
                appended: absorbed.appended,
                already_held: absorbed.already_held,
                refused: absorbed
                    .refused
                    .into_iter()
                    .map(|(entry, why)| RefusedEntry { entry, why })
                    .collect(),
            }
        }
    };
    if args.json {
        json(&done)?;
    } else {
        match done.outcome {
            "new" => outln!(
                "case #{} imported from {name}: {} timeline entries (incident {})",
                done.case,
                done.appended,
                done.incident
            ),
            _ => outln!(
                "case #{}: {} new timeline entries from {name}, {} already held{}",
                done.case,
                done.appended,
                done.already_held,
                if done.refused.is_empty() {
                    String::new()
                } else {
                    format!(", {} refused:", done.refused.len())
                }
            ),
        }
        for r in &done.refused {
            outln!("  entry {}: {}", r.entry, r.why);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The case we hold that `incoming` is (the same incident: same coordinator, opening time
/// and title), if any.
fn held_case(store: &dyn Backend, incoming: &Case, incident: &str) -> Result<Option<Case>> {
    for header in store.cases(&CaseQuery::default())? {
        if header.coordinator == incoming.coordinator
            && header.title == incoming.title
            && header.opened_at == incoming.opened_at.as_second()
        {
            let case = read_case(store, header.id)?;
            if firewatch_share::case_stix::incident_id(&case) == incident {
                return Ok(Some(case));
            }
        }
    }
    Ok(None)
}

fn read_case(store: &dyn Backend, id: u64) -> Result<Case> {
    load(store, id)?.with_context(|| format!("no case #{id}. hint: `firewatch cases list`"))
}

/// One change to a stored case, made now: `f` changes it and says what it did; its new
/// timeline entries are stored in one transaction.
fn change(
    ctx: &Context,
    id: u64,
    f: impl FnOnce(&dyn Backend, &mut Case, &Stamp) -> Result<String>,
) -> Result<ExitCode> {
    change_stamped(ctx, id, Stamp::at(now(), None), f)
}

fn change_stamped(
    ctx: &Context,
    id: u64,
    stamp: Stamp,
    f: impl FnOnce(&dyn Backend, &mut Case, &Stamp) -> Result<String>,
) -> Result<ExitCode> {
    let mut store = ctx.store()?;
    store.check_writable()?;
    let mut case = read_case(store.as_ref(), id)?;
    let before = case.timeline.len();
    let said = f(store.as_ref(), &mut case, &stamp)?;
    let appended = case.timeline.len() - before;
    if appended > 0 {
        commit(store.as_mut(), &mut case, appended)?;
    }
    outln!("case #{id}: {said}");
    Ok(ExitCode::SUCCESS)
}

/// Now, or `--at` when something happened earlier (recorded now; never in the future).
fn stamp_at(at: Option<&str>) -> Result<Stamp> {
    let recorded = now();
    let Some(text) = at else {
        return Ok(Stamp::at(recorded, None));
    };
    let at = time_arg(text, false)?;
    if at > recorded {
        bail!("--at {text}: {at} is in the future");
    }
    Ok(Stamp::late(at, recorded, None))
}

fn open(ctx: &Context, args: &OpenArgs) -> Result<ExitCode> {
    let mut store = ctx.fresh_store()?;
    store.check_writable()?;
    let coordinator = match (&args.coordinator, &ctx.config.telescope.owner) {
        (Some(team), _) | (None, Some(team)) => team.clone(),
        (None, None) => bail!(
            "a case needs a coordinating team. hint: --coordinator TEAM (`firewatch teams list`)"
        ),
    };
    check_team(store.as_ref(), &coordinator)?;
    let stamp = stamp_at(args.at.as_deref())?;
    let Some(alert_id) = &args.from_alert else {
        let Some(title) = &args.title else {
            bail!("a case opened by hand needs a title. hint: --title \"…\", or --from-alert ID");
        };
        let mut case = Case::open(
            NewCase {
                title: title.clone(),
                summary: args.summary.clone(),
                severity: args.severity,
                tlp: args.tlp.unwrap_or(TlpLevel::Amber),
                pap: args.pap,
                coordinator,
            },
            &stamp,
        )?;
        let appended = case.timeline.len();
        commit(store.as_mut(), &mut case, appended)?;
        return print_opened(&case, 0, args.json);
    };
    let Some(alert) = store.alert(alert_id)? else {
        bail!("no alert {alert_id:?} (firewatch alerts list)");
    };
    let earlier = store.cases_linking(FindingKind::Alert.as_str(), &alert.id)?;
    if let (Some(first), false) = (earlier.first(), args.again) {
        bail!(
            "alert {} is already linked to case #{first}. hint: `firewatch cases show {first}`, or --again for another case",
            alert.id
        );
    }
    let sources = store.alert_sources(&alert, None)?;
    let teams: BTreeSet<&str> = sources.iter().filter_map(|s| s.team.as_deref()).collect();
    let unrouted = sources.iter().filter(|s| s.team.is_none()).count();
    let title = args.title.clone().unwrap_or_else(|| {
        format!(
            "{}/{} {} from {} ({} sources, {} teams)",
            alert.proto,
            alert.port,
            serde_json::to_value(alert.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "alert".into()),
            crate::output::s_time(alert.start),
            sources.len(),
            teams.len()
        )
    });
    let mut case = Case::open(
        NewCase {
            title,
            summary: args.summary.clone(),
            severity: args.severity,
            tlp: args.tlp.unwrap_or(ctx.config.telescope.tlp),
            pap: args.pap,
            coordinator: coordinator.clone(),
        },
        &stamp,
    )?;
    case.link(FindingKind::Alert, &alert.id, None, &stamp)?;
    if matches!(alert.proto.as_str(), "tcp" | "udp") {
        let port = format!("{}/{}", alert.proto, alert.port);
        case.observe(ObservableKind::Port, &port, None, &stamp)?;
    }
    for team in &teams {
        if *team != coordinator {
            case.add_party(team, Role::Affected, &stamp)?;
        }
        // The team's own part, as its notice names it.
        for source in store.alert_sources(&alert, Some(team))? {
            case.observe(
                ObservableKind::Address,
                &source.addr.to_string(),
                Some(team),
                &stamp,
            )?;
            if let Some(asn) = source.asn {
                case.observe(ObservableKind::Asn, &asn.to_string(), Some(team), &stamp)?;
            }
        }
    }
    let appended = case.timeline.len();
    commit(store.as_mut(), &mut case, appended)?;
    print_opened(&case, unrouted, args.json)
}

fn print_opened(case: &Case, unrouted: usize, as_json: bool) -> Result<ExitCode> {
    if as_json {
        json(&case_json(case))?;
        return Ok(ExitCode::SUCCESS);
    }
    let affected = case
        .parties
        .iter()
        .filter(|p| p.role == Role::Affected)
        .count();
    outln!(
        "case #{} opened: {:?}, coordinated by {}, {} affected parties, {} observables",
        case.id,
        case.title,
        case.coordinator,
        affected,
        case.observables.len()
    );
    if unrouted > 0 {
        eprintln!(
            "note: {unrouted} of the alert's sources are routed to no team and are in no party's slice"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A case with its parties' figures, as JSON shows it.
#[derive(Serialize)]
struct CaseJson<'a> {
    #[serde(flatten)]
    case: &'a Case,
    figures: Vec<PartyFigures>,
}

fn case_json(case: &Case) -> CaseJson<'_> {
    CaseJson {
        case,
        figures: party_figures(case),
    }
}

/// The case as `team` may see it (all of it without a team), or why not.
fn seen_by(store: &dyn Backend, id: u64, team: Option<&str>) -> Result<Case> {
    let case = read_case(store, id)?;
    let Some(team) = team else {
        return Ok(case);
    };
    check_team(store, team)?;
    match case.view_for(team) {
        Some(view) => Ok(view),
        None => bail!(
            "{team} may not see case #{id}: it is no party and the case is {}",
            case.tlp
        ),
    }
}

fn list(ctx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    if let Some(team) = &args.team {
        check_team(store.as_ref(), team)?;
    }
    let mut rows = store.cases(&CaseQuery {
        visible_to: args.team.clone(),
        status: args.status.map(|s| s.as_str().to_owned()),
        // One more than asked, to tell whether the limit left rows out.
        limit: args.limit.map(|l| l.saturating_add(1)),
    })?;
    let rest = match args.limit {
        Some(limit) => Rest::cut_probe(&mut rows, limit),
        None => Rest::None,
    };
    let ids: Vec<u64> = rows.iter().map(|c| c.id).collect();
    let parties = store.case_parties(&ids)?;
    if args.json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|c| {
                let mut v = crate::output::json_times(
                    serde_json::to_value(c).unwrap_or_default(),
                    &["opened_at", "updated_at", "closed_at"],
                    &[],
                );
                v["parties"] = parties
                    .iter()
                    .filter(|(id, _)| *id == c.id)
                    .map(|(_, p)| {
                        serde_json::json!({"team": p.team, "role": p.role, "status": p.status})
                    })
                    .collect();
                v
            })
            .collect();
        json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    limited_table(
        &[
            "CASE",
            "STATUS",
            "SEVERITY",
            "TLP",
            "COORDINATOR",
            "PARTIES",
            "ACKNOWLEDGED",
            "OPENED",
            "UPDATED",
            "TITLE",
        ],
        rows.iter()
            .map(|c| {
                let mine: Vec<_> = parties.iter().filter(|(id, _)| *id == c.id).collect();
                let acked = mine
                    .iter()
                    .filter(|(_, p)| {
                        p.status
                            .parse::<PartyStatus>()
                            .is_ok_and(PartyStatus::acknowledges)
                    })
                    .count();
                let status = match &c.determination {
                    Some(d) => format!("{} ({d})", c.status),
                    None => c.status.clone(),
                };
                vec![
                    format!("#{}", c.id),
                    status,
                    c.severity.clone(),
                    c.tlp.clone(),
                    c.coordinator.clone(),
                    mine.len().to_string(),
                    format!("{acked}/{}", mine.len()),
                    crate::output::s_time(c.opened_at),
                    crate::output::s_time(c.updated_at),
                    c.title.clone(),
                ]
            })
            .collect(),
        rest,
    );
    Ok(ExitCode::SUCCESS)
}

/// 930 seconds as "15m 30s", 90000 as "1d 1h".
fn duration(secs: Option<i64>) -> String {
    let Some(s) = secs else {
        return String::new();
    };
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn show(ctx: &Context, args: &ShowArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let case = seen_by(store.as_ref(), args.id, args.team.as_deref())?;
    if args.json {
        json(&case_json(&case))?;
        return Ok(ExitCode::SUCCESS);
    }
    let status = match case.determination {
        Some(d) => format!("{} ({d})", case.status),
        None => case.status.to_string(),
    };
    outln!("case #{}  {}", case.id, case.title);
    outln!(
        "status      {status}, severity {}, {}, PAP:{}",
        case.severity,
        case.tlp,
        case.pap.as_str().to_ascii_uppercase()
    );
    outln!("coordinator {}", case.coordinator);
    outln!(
        "opened      {}, last change {}",
        case.opened_at,
        case.updated_at
    );
    if !case.summary.is_empty() {
        outln!("summary     {}", case.summary);
    }
    if let Some(team) = &args.team {
        outln!("seen as     {team} (its own slice and the whole case's)");
    }
    outln!();
    let figures = party_figures(&case);
    table(
        &[
            "PARTY",
            "ROLE",
            "STATUS",
            "SINCE",
            "OBSERVABLES",
            "TASKS",
            "TO ACKNOWLEDGE",
            "TO RESOLVE",
        ],
        case.parties
            .iter()
            .zip(&figures)
            .map(|(p, f)| {
                let mine = |t: &Option<String>| t.as_deref() == Some(p.team.as_str());
                vec![
                    p.team.clone(),
                    p.role.to_string(),
                    p.status.to_string(),
                    p.since.to_string(),
                    case.observables
                        .iter()
                        .filter(|o| mine(&o.team))
                        .count()
                        .to_string(),
                    case.tasks
                        .iter()
                        .filter(|t| t.team == p.team)
                        .count()
                        .to_string(),
                    duration(f.time_to_acknowledge_secs),
                    duration(f.time_to_resolve_secs),
                ]
            })
            .collect(),
    );
    if !case.tasks.is_empty() {
        outln!();
        table(
            &["TASK", "PARTY", "STATUS", "DUE", "TITLE"],
            case.tasks
                .iter()
                .map(|t| {
                    vec![
                        t.task.to_string(),
                        t.team.clone(),
                        t.status.to_string(),
                        t.due.map(|d| d.to_string()).unwrap_or_default(),
                        t.title.clone(),
                    ]
                })
                .collect(),
        );
    }
    let slice = |t: &Option<String>| t.clone().unwrap_or_else(|| "(whole case)".into());
    if !case.links.is_empty() {
        outln!();
        table(
            &["LINKED", "KEY", "FOR"],
            case.links
                .iter()
                .map(|l| vec![l.kind.to_string(), l.key.clone(), slice(&l.team)])
                .collect(),
        );
    }
    outln!();
    let mut observables: Vec<_> = case.observables.iter().collect();
    let rest = Rest::cut(&mut observables, args.limit);
    limited_table(
        &["OBSERVABLE", "VALUE", "FOR"],
        observables
            .iter()
            .map(|o| vec![o.kind.to_string(), o.value.clone(), slice(&o.team)])
            .collect(),
        rest,
    );
    Ok(ExitCode::SUCCESS)
}

fn timeline(ctx: &Context, args: &ShowArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let case = seen_by(store.as_ref(), args.id, args.team.as_deref())?;
    if args.json {
        json(&case.timeline)?;
        return Ok(ExitCode::SUCCESS);
    }
    table(
        &["SEQ", "AT", "RECORDED", "BY", "CHANGE"],
        case.timeline
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    e.at.to_string(),
                    if e.recorded_at == e.at {
                        String::new()
                    } else {
                        e.recorded_at.to_string()
                    },
                    e.actor.clone().unwrap_or_default(),
                    e.change.describe(),
                ]
            })
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

fn party(ctx: &Context, args: &PartyArgs) -> Result<ExitCode> {
    if args.role.is_none() && args.status.is_none() {
        bail!("nothing to change. hint: --status STATUS, or --role ROLE to add the team");
    }
    let stamp = stamp_at(args.at.as_deref())?;
    change_stamped(ctx, args.id, stamp, |store, case, stamp| {
        check_team(store, &args.team)?;
        let mut said = Vec::new();
        match (case.party(&args.team).map(|p| p.role), args.role) {
            (None, Some(role)) => {
                case.add_party(&args.team, role, stamp)?;
                said.push(format!("{} joined as {role}", args.team));
            }
            (None, None) => bail!(
                "{} is not a party of case #{}. hint: --role affected|reporter|observer adds it",
                args.team,
                args.id
            ),
            (Some(now), Some(role)) if now != role => bail!(
                "{} is already a party, as {now}; a party's role does not change",
                args.team
            ),
            (Some(_), _) => {}
        }
        if let Some(status) = args.status {
            case.set_party_status(&args.team, status, stamp)?;
            said.push(format!("{} is {status}", args.team));
            let figures = party_figures(case);
            if let Some(f) = figures.iter().find(|f| f.team == args.team) {
                match (status, f.time_to_acknowledge_secs, f.time_to_resolve_secs) {
                    (PartyStatus::Done, _, Some(ttr)) => {
                        said.push(format!("time to resolve {}", duration(Some(ttr))))
                    }
                    (s, Some(tta), _) if s.acknowledges() => {
                        said.push(format!("time to acknowledge {}", duration(Some(tta))))
                    }
                    _ => {}
                }
            }
        }
        Ok(said.join(", "))
    })
}

fn task_add(ctx: &Context, args: &TaskAddArgs) -> Result<ExitCode> {
    let due = args.due.as_deref().map(|d| time_arg(d, true)).transpose()?;
    change(ctx, args.id, |_, case, stamp| {
        let task = case.add_task(&args.team, &args.title, due, stamp)?;
        Ok(format!("task {task} for {}", args.team))
    })
}

fn task_set(ctx: &Context, args: &TaskSetArgs) -> Result<ExitCode> {
    let due = match (&args.due, args.no_due) {
        (Some(d), _) => Some(Some(time_arg(d, true)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    change(ctx, args.id, |_, case, stamp| {
        case.set_task(args.task, args.status, due, stamp)?;
        let task = case.task(args.task).expect("just changed");
        Ok(format!("task {} is {}", task.task, task.status))
    })
}
