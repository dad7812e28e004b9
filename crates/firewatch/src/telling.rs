//! What each team is told: the notices the next `notify run` would plan (signed with a
//! throw-away key) and a team's own part as findings for STIX and MISP. Shared by `notify
//! preview`, `export --team` and the demo, so what the demo writes is what a team would get.

use anyhow::{Context as _, Result};
use firewatch_core::access::{Role, TelescopeAccess, Viewer, event_ownership, may_read_event};
use firewatch_core::telescope::DARKNET_FEED;
use firewatch_core::{TlpLevel, fields};
use firewatch_notify::openpgp::SenderKey;
use firewatch_notify::{NotifyConfig, Plan, PlannedNotice, Planner};
use firewatch_pipeline::Context;
use firewatch_pipeline::directory::stored_directory;
use firewatch_pipeline::findings::attack_event;
use firewatch_share::{Finding, finding};
use firewatch_store::{AttackQuery, Backend, EventQuery, EventVisibility, TimeRange};

/// The notices the next `notify run` would plan under `cfg`, e-mail signed with a throw-away
/// key made now: what `notify preview` shows and the demo writes. Changes nothing.
pub fn preview_plan(ctx: &Context, cfg: &NotifyConfig) -> Result<Plan> {
    let sender = SenderKey::throwaway("Firewatch preview (throw-away key) <preview@invalid>")?;
    let store = ctx.store()?;
    let directory = stored_directory(store.as_ref())?;
    Ok(Planner {
        cfg,
        directory: &directory,
        sender: &sender,
        telescope: &ctx.config.telescope,
        now: jiff::Timestamp::now().as_second(),
    }
    .plan(store.as_ref())?)
}

/// Writes each notice into `dir` (created if missing) as it would be sent: `.eml` (e-mail) or
/// `.json` (webhook body).
pub fn write_notices<'a>(
    dir: &std::path::Path,
    notices: impl IntoIterator<Item = &'a PlannedNotice>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for p in notices {
        let path = dir.join(&p.file_name);
        std::fs::write(&path, &p.notice.payload)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The notify policy of the demo and of `notify preview` when `[notify]` is not configured: every team of the directory
/// told of the alerts with its sources (and its events, in a daily digest) by e-mail to its
/// directory contacts; `partner` also by webhook.
pub fn default_policy(
    directory: &firewatch_enrich::directory::Directory,
    partner: Option<&str>,
    lookback_days: Option<u32>,
) -> Result<firewatch_notify::NotifyConfig> {
    let mut text = "sender_team = \"firewatch-demo\"\n\
         from = \"Firewatch demo <firewatch-demo@example.invalid>\"\n\
         signing_key = \"(a throw-away key made for the preview)\"\n"
        .to_string();
    if let Some(days) = lookback_days {
        text.push_str(&format!("lookback_days = {days}\n"));
    }
    for team in &directory.teams {
        text.push_str(&format!(
            "[[teams]]\nteam = \"{}\"\nalerts = true\n",
            team.id
        ));
        if partner == Some(team.id.as_str()) {
            text.push_str(&format!(
                "webhook = {{ url = \"https://hooks.example.invalid/firewatch/{}\", secret_env = \"FIREWATCH_DEMO_WEBHOOK_SECRET\" }}\n",
                team.id
            ));
        }
    }
    let cfg: firewatch_notify::NotifyConfig =
        toml::from_str(&text).context("the demo's notify policy")?;
    cfg.validate()?;
    Ok(cfg)
}

/// The team's TLP cap from the stored directory; a team it does not know is refused, naming
/// those it does.
pub fn team_cap(store: &dyn Backend, team: &str) -> Result<TlpLevel> {
    if store.team_directory()?.is_none() {
        anyhow::bail!(
            "--team {team:?}: a team's export needs its TLP cap from the team directory, and none is stored. hint: `firewatch teams import teams.toml`"
        );
    }
    crate::scope::check_team(store, team)?;
    let directory = stored_directory(store)?;
    directory
        .team(team)
        .map(|t| t.max_tlp)
        .ok_or_else(|| anyhow::anyhow!("--team {team:?} is not in the team directory"))
}

/// What `team` is told, as findings: the events it may read (the access rule of every read
/// path) that are its own (routed to it, owned by it and routed to no other team, or naming it
/// as a recipient); when the
/// telescope's TLP lets its routed team be told, every alert with sources of the team — the
/// alert's campaign and each of those sources, and no other team's — and the attacks on its
/// constituency. Nothing above `cap`.
pub fn team_findings(
    store: &dyn Backend,
    telescope: &TelescopeAccess,
    team: &str,
    cap: TlpLevel,
    range: TimeRange,
) -> Result<Vec<Finding>> {
    let viewer = Viewer::User {
        name: format!("export:{team}"),
        team: team.to_owned(),
        role: Role::ReadOnly,
    };
    let its_own = |f: &Finding| {
        let (_, owner, routed, recipients) = event_ownership(&f.event);
        // Another team's routed record is that team's, whoever owns it (a telescope's owner
        // does not get its constituents' addresses in its own part).
        let mine = match routed.as_deref() {
            Some(routed) => routed == team,
            None => owner.as_deref() == Some(team),
        };
        mine || recipients.iter().any(|r| r == team)
    };
    let events: Vec<Finding> = store
        .events(&EventQuery {
            range,
            visibility: Some(EventVisibility::Team(team.to_owned())),
            ..EventQuery::default()
        })?
        .into_iter()
        .map(|e| Finding::from_event(e.event, e.time))
        .filter(|f| f.tlp() <= cap && may_read_event(&viewer, &f.event) && its_own(f))
        .collect();
    let mut telescope_findings = Vec::new();
    if telescope.may_tell_routed_team(team) && telescope.tlp <= cap {
        // The alerts with the team's sources: each campaign and the team's own sources of it
        // (the rule the TAXII server applies too).
        telescope_findings = firewatch_share::team_alert_findings(store, telescope, team, range)?;
        let (tlp, owner) = (telescope.tlp, telescope.owner.as_deref());
        // Attacks the store already holds as events (derived at ingest) are not told twice.
        let stored: std::collections::HashSet<(String, String)> = events
            .iter()
            .filter(|f: &&Finding| {
                f.text(fields::FEED_NAME) == Some(DARKNET_FEED)
                    && f.text("extra.role") == Some("victim")
            })
            .filter_map(|f| {
                Some((
                    f.text("source.ip")?.to_owned(),
                    f.text(fields::TIME_SOURCE)?.to_owned(),
                ))
            })
            .collect();
        for attack in store.attacks(&AttackQuery {
            range,
            victim: None,
            team: Some(team.to_owned()),
            country: None,
            limit: None,
        })? {
            let mut event = attack_event(&attack)?;
            let key = |field: &str| match event.get(field).map(|v| v.to_json()) {
                Some(serde_json::Value::String(s)) => s,
                _ => String::new(),
            };
            if stored.contains(&(key("source.ip"), key(fields::TIME_SOURCE))) {
                continue;
            }
            event.set(fields::TLP, tlp.event_value())?;
            if let Some(owner) = owner {
                event.set(fields::EXTRA_OWNER, owner)?;
            }
            telescope_findings.push(Finding::from_event(
                event,
                attack.start_ns.div_euclid(1_000_000_000),
            ));
        }
    }
    Ok(finding::merge(events, telescope_findings))
}
