//! Planning: which records each team is told about, on which channel, in which notice.
//!
//! For every team policy: the team's events (`extra.team`, the policy's filter, the severity
//! floor, the look-back window) and darknet alerts of the policy's `alert_kinds` (not
//! single-source bursts unless named); records above the team's TLP cap are
//! held back and recorded; records the team was already given on a channel are left out;
//! what remains becomes one notice per channel and schedule (a daily digest at most once per
//! UTC day). Planning only reads the store; [`queue`] records the notices.

use std::collections::BTreeSet;

use firewatch_core::access::TelescopeAccess;
use firewatch_core::filter::{Expr, Filter};
use firewatch_enrich::directory::{ContactKind, Directory, Team, TlpLevel};
use firewatch_store::outbox::{NewNotice, OutboxStore, WithheldRecord};
use firewatch_store::{AlertQuery, EventQuery, EventStore, EventVisibility, Store, TimeRange};

use crate::NotifyError;
use crate::config::{AttachmentFormat, NotifyConfig, Schedule, TeamPolicy};
use crate::item::{NoticeItem, attachment_csv, attachment_json};
use crate::mail::{EmailContent, build_email};
use crate::openpgp::{RecipientKey, SenderKey};
use crate::template::{NoticeContext, TeamView, Templates};

/// A notice ready to be queued, with a file name for `--dry-run`.
#[derive(Debug, Clone)]
pub struct PlannedNotice {
    pub notice: NewNotice,
    /// `<team>-<channel>-<id>.eml` or `.json`.
    pub file_name: String,
}

/// What planning found.
#[derive(Debug, Default)]
pub struct Plan {
    pub notices: Vec<PlannedNotice>,
    /// Records held back by a team's TLP cap (recorded by [`queue`]).
    pub withheld: Vec<WithheldRecord>,
    /// Teams or channels left out this time, and why (rate limit, missing key, …).
    pub deferred: Vec<String>,
}

/// The channels of notices.
pub const EMAIL: &str = "email";
/// See [`EMAIL`].
pub const WEBHOOK: &str = "webhook";

/// The idempotency key of a notice: BLAKE3 over team, channel, slot and the sorted record
/// keys, 128 bits in hex. The same content for the same team and channel gives the same key.
pub fn notice_id(team: &str, channel: &str, slot: Option<&str>, items: &[String]) -> String {
    let mut h = blake3::Hasher::new();
    for part in [team, channel, slot.unwrap_or("")] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let sorted: BTreeSet<&String> = items.iter().collect();
    for item in sorted {
        h.update(&(item.len() as u64).to_le_bytes());
        h.update(item.as_bytes());
    }
    hex::encode(&h.finalize().as_bytes()[..16])
}

fn team_filter(team: &str, extra: Option<&str>) -> Result<Filter, NotifyError> {
    let own = Filter::equals(firewatch_core::fields::EXTRA_TEAM, team)
        .map_err(|e| NotifyError::Config(format!("team id {team:?}: {e}")))?;
    Ok(match extra {
        None => own,
        Some(text) => {
            let f = Filter::parse(text)
                .map_err(|e| NotifyError::Config(format!("team {team}: filter: {e}")))?;
            Filter::from_expr(Expr::And(vec![own.expr().clone(), f.expr().clone()]))
        }
    })
}

/// The records a policy asks for, before TLP and what was already sent.
fn candidates<S>(
    store: &S,
    cfg: &NotifyConfig,
    telescope: &TelescopeAccess,
    policy: &TeamPolicy,
    now: i64,
) -> Result<Vec<(NoticeItem, Schedule)>, NotifyError>
where
    S: Store + EventStore + ?Sized,
{
    let range = TimeRange {
        since: Some(now - i64::from(cfg.lookback_days) * 86_400),
        until: None,
    };
    let mut out = Vec::new();
    if policy.events {
        // Only what the team may read (the access rule every read path applies: another
        // owner's AMBER+STRICT, RED it is not named for) is a candidate; its TLP cap then
        // holds back what it may read but not receive.
        let q = EventQuery {
            filter: Some(team_filter(&policy.team, policy.filter.as_deref())?),
            range,
            visibility: Some(EventVisibility::Team(policy.team.clone())),
            ..Default::default()
        };
        for e in store.events(&q)? {
            out.push((NoticeItem::from_event(&e), policy.events_schedule));
        }
    }
    // Alerts are telescope findings: the telescope's one TLP and owner decide whether the team
    // they are routed to may be told (as the same finding stored as an event would).
    if policy.alerts && telescope.may_tell_routed_team(&policy.team) {
        let tlp = telescope.tlp;
        let q = AlertQuery {
            range,
            team: Some(policy.team.clone()),
            ..Default::default()
        };
        for mut alert in store.alerts(&q)? {
            if !policy.alert_kinds.contains(&alert.kind) {
                continue;
            }
            // Every one of the team's own sources in the alert, and only those: another team's
            // addresses are not its business (not even among the alert's top sources).
            let mine: Vec<String> = store
                .alert_sources(&alert, Some(&policy.team))?
                .into_iter()
                .map(|s| s.addr.to_string())
                .collect();
            alert
                .top_sources
                .retain(|s| mine.contains(&s.addr.to_string()));
            out.push((
                NoticeItem::from_alert(&alert, tlp, mine),
                policy.alerts_schedule,
            ));
        }
    }
    out.retain(|(item, _)| item.severity >= policy.min_severity);
    Ok(out)
}

/// The e-mail recipients of a policy: its own list, else the team's e-mail contacts.
fn email_recipients(policy: &TeamPolicy, team: &Team) -> Vec<String> {
    match &policy.email {
        Some(list) => list.clone(),
        None => team
            .contacts
            .iter()
            .filter(|c| c.kind == ContactKind::Email)
            .map(|c| c.value.clone())
            .collect(),
    }
}

/// Everything planning needs besides the store.
pub struct Planner<'a> {
    pub cfg: &'a NotifyConfig,
    pub directory: &'a Directory,
    pub sender: &'a SenderKey,
    /// The telescope's one TLP and owner (`[web] darknet_tlp`, `darknet_owner`), which its
    /// alerts carry.
    pub telescope: &'a TelescopeAccess,
    /// Unix seconds.
    pub now: i64,
}

impl Planner<'_> {
    /// Plans every policy. A policy that cannot be served (team unknown, key missing) is
    /// deferred with its reason; the others go on.
    pub fn plan<S>(&self, store: &S) -> Result<Plan, NotifyError>
    where
        S: Store + EventStore + OutboxStore + ?Sized,
    {
        let mut plan = Plan::default();
        for policy in &self.cfg.teams {
            if let Err(e) = self.plan_policy(store, policy, &mut plan) {
                plan.deferred.push(format!("team {}: {e}", policy.team));
            }
        }
        Ok(plan)
    }

    fn plan_policy<S>(
        &self,
        store: &S,
        policy: &TeamPolicy,
        plan: &mut Plan,
    ) -> Result<(), NotifyError>
    where
        S: Store + EventStore + OutboxStore + ?Sized,
    {
        let team = self.directory.team(&policy.team).ok_or_else(|| {
            NotifyError::Config("no such team in the directory (firewatch teams import)".into())
        })?;
        let sender = self.directory.team(&self.cfg.sender_team);
        let mut allowed = Vec::new();
        // Records held back before were already mentioned in an earlier notice.
        let known: std::collections::HashSet<String> = store
            .withheld()?
            .into_iter()
            .filter(|w| w.team == policy.team)
            .map(|w| w.item)
            .collect();
        let mut withheld = 0;
        for (item, schedule) in candidates(store, self.cfg, self.telescope, policy, self.now)? {
            if team.may_receive(item.tlp_level) {
                allowed.push((item, schedule));
            } else {
                withheld += usize::from(!known.contains(&item.key));
                plan.withheld.push(WithheldRecord {
                    team: policy.team.clone(),
                    item: item.key.clone(),
                    tlp: item.tlp.clone(),
                    max_tlp: team.max_tlp.label().to_string(),
                    at: self.now,
                });
            }
        }
        let recipient_key = if policy.encrypt {
            let key = team.openpgp.as_ref().ok_or_else(|| {
                NotifyError::OpenPgp("encrypt = true but the directory has no key".into())
            })?;
            let armored = key.armored.as_deref().ok_or_else(|| {
                NotifyError::OpenPgp(
                    "encrypt = true but the directory has only the key's fingerprint".into(),
                )
            })?;
            Some(RecipientKey::from_armored(
                armored,
                &key.fingerprint,
                &policy.team,
            )?)
        } else {
            None
        };
        let templates = match (&policy.subject_template, &policy.body_template) {
            (None, None) => Templates::builtin(),
            (subject, body) => {
                let body_text = match body {
                    Some(path) => std::fs::read_to_string(path)
                        .map_err(|e| NotifyError::Template(format!("{}: {e}", path.display())))?,
                    None => crate::template::DEFAULT_BODY.to_string(),
                };
                let origin = body
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "built-in body".into());
                Templates::new(
                    subject
                        .as_deref()
                        .unwrap_or(crate::template::DEFAULT_SUBJECT),
                    &body_text,
                    &origin,
                )?
            }
        };
        let date = jiff::Timestamp::from_second(self.now)
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let mut channels = Vec::new();
        let emails = email_recipients(policy, team);
        if !emails.is_empty() {
            channels.push((EMAIL, emails));
        }
        if let Some(w) = &policy.webhook {
            channels.push((WEBHOOK, vec![w.url.clone()]));
        }
        if channels.is_empty() {
            return Err(NotifyError::Config(
                "no channel: no e-mail address (policy or directory) and no webhook".into(),
            ));
        }
        let view = |t: Option<&Team>, id: &str| TeamView {
            id: id.to_string(),
            name: t.map(|t| t.name.clone()).unwrap_or_else(|| id.to_string()),
            max_tlp: t.map(|t| t.max_tlp.label().to_string()).unwrap_or_default(),
        };
        for (channel, recipients) in channels {
            let told = store.notified_items(&policy.team, channel)?;
            let mut recent = store.notices_since(&policy.team, channel, self.now - 3600)?;
            for schedule in [Schedule::Immediate, Schedule::Daily] {
                let slot = match schedule {
                    Schedule::Immediate => None,
                    Schedule::Daily => Some(format!("digest:{date}")),
                };
                if let Some(slot) = &slot
                    && store.slot_taken(&policy.team, channel, slot)?
                {
                    continue;
                }
                let items: Vec<NoticeItem> = allowed
                    .iter()
                    .filter(|(item, s)| *s == schedule && !told.contains(&item.key))
                    .map(|(item, _)| item.clone())
                    .collect();
                if items.is_empty() {
                    continue;
                }
                if recent >= u64::from(policy.max_notices_per_hour) {
                    plan.deferred.push(format!(
                        "team {} {channel}: {} records wait: rate limit of {} notices per hour reached",
                        policy.team,
                        items.len(),
                        policy.max_notices_per_hour
                    ));
                    continue;
                }
                recent += 1;
                let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
                let id = notice_id(&policy.team, channel, slot.as_deref(), &keys);
                let tlp = items
                    .iter()
                    .map(|i| i.tlp_level)
                    .max()
                    .unwrap_or(TlpLevel::Clear);
                let kind = if schedule == Schedule::Immediate
                    && items.iter().all(|i| i.kind == crate::item::ItemKind::Alert)
                {
                    "alert"
                } else {
                    "digest"
                };
                let (attachment_name, attachment_type, attachment) = match policy.attachment {
                    AttachmentFormat::Csv => (
                        "affected-addresses.csv",
                        "text/csv; charset=utf-8",
                        attachment_csv(&items)
                            .map_err(|e| NotifyError::Mime(format!("CSV attachment: {e}")))?,
                    ),
                    AttachmentFormat::Json => (
                        "affected-addresses.json",
                        "application/json",
                        attachment_json(&items),
                    ),
                };
                let ctx = NoticeContext {
                    team: view(Some(team), &policy.team),
                    sender: view(sender, &self.cfg.sender_team),
                    kind,
                    tlp: tlp.label().to_string(),
                    date: date.clone(),
                    count: items.len(),
                    items: &items,
                    withheld,
                    attachment: attachment_name.to_string(),
                    notice_id: &id,
                };
                let subject = templates.subject(&ctx)?;
                let (payload, ext) = if channel == EMAIL {
                    let body = templates.body(&ctx)?;
                    let content = EmailContent {
                        notice_id: &id,
                        from: &self.cfg.from,
                        to: &recipients,
                        subject: &subject,
                        body: &body,
                        attachment_name,
                        attachment_type,
                        attachment,
                        date: self.now,
                        references: &[],
                    };
                    (
                        build_email(&content, self.sender, recipient_key.as_ref())?,
                        "eml",
                    )
                } else {
                    let body = serde_json::json!({
                        "id": id,
                        "team": policy.team,
                        "sender_team": self.cfg.sender_team,
                        "kind": kind,
                        "tlp": tlp.label(),
                        "created_at": crate::item::time_text(self.now),
                        "subject": subject,
                        "withheld": withheld,
                        "items": items,
                    });
                    (
                        serde_json::to_vec(&body)
                            .map_err(|e| NotifyError::Mime(format!("webhook JSON: {e}")))?,
                        "json",
                    )
                };
                plan.notices.push(PlannedNotice {
                    file_name: format!("{}-{channel}-{id}.{ext}", policy.team),
                    notice: NewNotice {
                        id,
                        team: policy.team.clone(),
                        channel: channel.to_string(),
                        slot,
                        recipients: recipients.clone(),
                        subject,
                        tlp: tlp.label().to_string(),
                        payload,
                        items: keys,
                        created_at: self.now,
                    },
                });
            }
        }
        Ok(())
    }
}

/// Records a plan: withheld records, then each notice (those already queued are skipped).
/// Returns the number of notices queued.
pub fn queue<S: OutboxStore + ?Sized>(store: &mut S, plan: &Plan) -> Result<usize, NotifyError> {
    for w in &plan.withheld {
        store.record_withheld(w)?;
    }
    let mut queued = 0;
    for p in &plan.notices {
        if store.enqueue(&p.notice)? {
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_ids_depend_on_content_not_order() {
        let a = notice_id("t", EMAIL, None, &["event:1".into(), "event:2".into()]);
        let b = notice_id("t", EMAIL, None, &["event:2".into(), "event:1".into()]);
        assert_eq!(a, b);
        assert_ne!(
            a,
            notice_id("t", WEBHOOK, None, &["event:1".into(), "event:2".into()])
        );
        assert_ne!(
            a,
            notice_id("u", EMAIL, None, &["event:1".into(), "event:2".into()])
        );
        assert_ne!(
            a,
            notice_id(
                "t",
                EMAIL,
                Some("digest:x"),
                &["event:1".into(), "event:2".into()]
            )
        );
        assert_eq!(a.len(), 32);
    }
}
