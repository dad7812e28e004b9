//! A listing's scope: the `--team` a command is asked for, checked against the team directory,
//! and filter terms built from such options (shared by the commands).

use anyhow::{Result, anyhow, bail};
use firewatch_core::filter::{Expr, Filter};
use firewatch_pipeline::directory;
use firewatch_store::Store;

/// Team ids named in a refusal; the rest are counted.
const KNOWN_TEAMS_SHOWN: usize = 20;

/// Refuses a team the stored team directory does not know, naming those it does. With no
/// directory imported there is nothing to check against: accepted, with a warning.
pub fn check_team(store: &(impl Store + ?Sized), team: &str) -> Result<()> {
    let Some(stored) = store.team_directory()? else {
        eprintln!(
            "warning: no team directory is stored, so team {team:?} is not checked. hint: `firewatch teams import teams.toml`"
        );
        return Ok(());
    };
    let dir = directory::directory_of(&stored)?;
    if dir.team(team).is_some() {
        return Ok(());
    }
    let ids: Vec<String> = dir.teams.iter().map(|t| t.id.to_string()).collect();
    let mut known = ids
        .iter()
        .take(KNOWN_TEAMS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > KNOWN_TEAMS_SHOWN {
        known.push_str(&format!(", …{} more", ids.len() - KNOWN_TEAMS_SHOWN));
    }
    if known.is_empty() {
        known = "none".into();
    }
    bail!(
        "--team {team:?} is not in the team directory (from {}); known teams: {known}. hint: `firewatch teams list`",
        stored.origin
    )
}

/// `FIELD = VALUE`, the value typed for the field as the filter language types it.
pub fn equals(field: &str, value: &str) -> Result<Expr> {
    let filter = Filter::equals(field, value).map_err(|e| anyhow!("{field} {value:?}: {e}"))?;
    Ok(filter.expr().clone())
}
