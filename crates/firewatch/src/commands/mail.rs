//! `firewatch mail receive`: one e-mail on standard input (the way an MTA pipes mail to a
//! ticket system) or from a file, into the case it answers (docs/cases.md).
//!
//! The sender is looked up among the directory's e-mail contacts; a PGP/MIME signature is
//! checked against that team's key. The case side (matching by tag, then by
//! In-Reply-To/References, duplicates, reopening, acknowledgement) is `firewatch-cases`'.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use firewatch_cases::{Delivered, MailRules, ReceivedMail, SignatureState, take_in};
use firewatch_notify::inbound::{SignatureCheck, read_mail, verify};
use firewatch_pipeline::{Context, directory};
use jiff::Timestamp;
use serde_json::json;

use crate::output::json;

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Take in one received e-mail: a reply goes into its case's thread (by the subject's
    /// `[Firewatch #N]` tag, else by In-Reply-To/References), a duplicate is dropped, anything
    /// else becomes a new case to triage.
    #[command(
        after_help = "Examples:\n  firewatch mail receive < reply.eml\n  firewatch mail receive reply.eml --json\n  # /etc/aliases: firewatch: \"|/usr/local/bin/firewatch mail receive\""
    )]
    Receive(ReceiveArgs),
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// The message (RFC 5322); `-` or nothing: standard input.
    pub file: Option<PathBuf>,
    /// The team that coordinates new reports (default: `[cases] desk`, else `[notify]
    /// sender_team`).
    #[arg(long, value_name = "TEAM")]
    pub desk: Option<String>,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, config: &crate::config::Config, cmd: &MailCommand) -> Result<ExitCode> {
    match cmd {
        MailCommand::Receive(args) => receive(ctx, config, args),
    }
}

fn receive(ctx: &Context, config: &crate::config::Config, args: &ReceiveArgs) -> Result<ExitCode> {
    let (name, raw) = match args.file.as_deref() {
        Some(path) if path.as_os_str() != "-" => (
            path.display().to_string(),
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        _ => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
                .context("cannot read standard input")?;
            ("standard input".to_owned(), buf)
        }
    };
    let desk = args
        .desk
        .clone()
        .or_else(|| config.cases.desk.clone())
        .or_else(|| config.notify.as_ref().map(|n| n.sender_team.clone()));
    let Some(desk) = desk else {
        bail!(
            "no team coordinates new reports: give --desk TEAM, or set [cases] desk (or [notify] sender_team)"
        );
    };
    let mail = read_mail(&raw, config.cases.max_mail_bytes).with_context(|| name.clone())?;
    let mut store = ctx.store()?;
    store.check_writable()?;
    let directory = match store.team_directory()? {
        Some(stored) => Some(directory::directory_of(&stored)?),
        None => None,
    };
    let from = mail.from.clone().unwrap_or_default();
    let team = directory.as_ref().and_then(|d| {
        d.teams.iter().find(|t| {
            t.contacts.iter().any(|c| {
                c.kind == firewatch_enrich::directory::ContactKind::Email
                    && c.value.trim().eq_ignore_ascii_case(&from)
            })
        })
    });
    let key = team
        .and_then(|t| t.openpgp.as_ref())
        .and_then(|k| k.armored.clone());
    let signature = match (&mail.signed, &key) {
        (None, _) => SignatureState::Unsigned,
        (Some(signed), Some(key)) => match verify(signed, key) {
            SignatureCheck::Verified { .. } => SignatureState::Verified,
            SignatureCheck::Unverified { why } => SignatureState::Unverified(why),
            SignatureCheck::Unsigned => SignatureState::Unsigned,
        },
        (Some(_), None) => SignatureState::Unverified(match team {
            Some(t) => format!("signed, but the directory has no key of {}", t.id),
            None => format!("signed, but {from} is no team's contact in the directory"),
        }),
    };
    let received = ReceivedMail {
        message_id: mail.message_id.clone(),
        from: from.clone(),
        team: team.map(|t| t.id.to_string()),
        team_has_key: key.is_some(),
        subject: mail.subject.clone(),
        replies_to: mail.replies_to.clone(),
        date: mail.date.and_then(|s| Timestamp::from_second(s).ok()),
        text: mail.text.clone(),
        signature: signature.clone(),
    };
    let rules = MailRules {
        tag: config.cases.mail_tag.clone(),
        desk,
    };
    let now = Timestamp::from_second(Timestamp::now().as_second())?;
    let delivered = take_in(store.as_mut(), &received, &rules, now)?;
    let signature_word = signature.as_str();
    let (case, outcome) = match &delivered {
        Delivered::Duplicate { case } => (*case, "duplicate"),
        Delivered::Threaded { case, .. } => (*case, "threaded"),
        Delivered::Report { case } => (*case, "report"),
    };
    if args.json {
        let mut out = json!({
            "message_id": mail.message_id,
            "from": from,
            "team": received.team,
            "signature": signature_word,
            "case": case,
            "outcome": outcome,
        });
        if let SignatureState::Unverified(why) = &signature {
            out["signature_note"] = json!(why);
        }
        if let Delivered::Threaded {
            by,
            reopened,
            acknowledged,
            ..
        } = &delivered
        {
            out["matched_by"] = json!(by);
            out["reopened"] = json!(reopened);
            out["acknowledged"] = json!(acknowledged);
        }
        json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let who = received
        .team
        .as_deref()
        .map_or_else(|| from.clone(), |t| format!("{t} <{from}>"));
    match delivered {
        Delivered::Duplicate { case } => outln!(
            "{}: already taken in (case #{case}); nothing recorded",
            mail.message_id
        ),
        Delivered::Threaded {
            case,
            by,
            reopened,
            acknowledged,
        } => {
            outln!(
                "case #{case}: mail from {who} ({signature_word}), matched by {by}{}{}",
                if reopened {
                    "; the case is open again"
                } else {
                    ""
                },
                if acknowledged {
                    "; the party has acknowledged"
                } else {
                    ""
                }
            );
            if let SignatureState::Unverified(why) = &signature {
                outln!("  signature not counted: {why}");
            }
        }
        Delivered::Report { case } => outln!(
            "case #{case}: a new report from {who} ({signature_word}), to triage: it matched no case"
        ),
    }
    Ok(ExitCode::SUCCESS)
}
