//! `firewatch teams`: import, export and read the team directory kept in the store.

use super::Env;
use crate::cli::TeamsCommand;
use crate::output::{json, table};
use anyhow::{Context, Result, anyhow};
use firewatch_enrich::directory::{
    Directory, DirectoryError, ValidationPolicy, import_trusted_introducer_csv,
};
use firewatch_store::{Store, StoredDirectory};
use std::path::Path;
use std::process::ExitCode;

/// The directory in the store, or an empty one if none was imported.
pub fn stored_directory(env: &Env) -> Result<Directory> {
    let Some(stored) = env.store()?.team_directory()? else {
        return Ok(Directory::default());
    };
    let policy = ValidationPolicy {
        allow_nested_prefixes: stored.allow_nested_prefixes,
    };
    Directory::from_toml_str_with(&stored.toml, &stored.origin, &policy)
        .map_err(|e| anyhow!("the stored team directory no longer validates: {e}"))
}

/// Reads and validates a directory file; `rejected` counts CSV rows that were left out.
fn read_directory(path: &Path, policy: &ValidationPolicy) -> Result<(Directory, usize)> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {origin}"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (dir, rejected) = match ext.as_deref() {
        Some("csv") => {
            let import = import_trusted_introducer_csv(text.as_bytes(), &origin)?;
            for row in &import.rejected {
                eprintln!("{origin}:{}: row left out: {}", row.line, row.message);
            }
            let rejected = import.rejected.len();
            (import.into_directory(), rejected)
        }
        Some("json") => {
            let dir: Directory =
                serde_json::from_str(&text).map_err(|e| anyhow!("{origin}: {e}"))?;
            (dir, 0)
        }
        _ => return Ok((Directory::from_toml_str_with(&text, &origin, policy)?, 0)),
    };
    if let Err(problems) = dir.validate(policy) {
        return Err(DirectoryError::Invalid { origin, problems }.into());
    }
    Ok((dir, rejected))
}

pub fn run(env: &Env, cmd: &TeamsCommand) -> Result<ExitCode> {
    match cmd {
        TeamsCommand::Import {
            file,
            allow_nested_prefixes,
        } => {
            let policy = ValidationPolicy {
                allow_nested_prefixes: *allow_nested_prefixes,
            };
            let (dir, rejected) = read_directory(file, &policy)?;
            let stored = StoredDirectory {
                toml: dir.to_toml()?,
                origin: file.display().to_string(),
                allow_nested_prefixes: *allow_nested_prefixes,
                imported_at: jiff::Timestamp::now().as_second(),
            };
            env.store()?.replace_team_directory(&stored)?;
            println!("imported {} teams from {}", dir.teams.len(), file.display());
            Ok(if rejected > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        TeamsCommand::Export { json: as_json } => {
            let dir = stored_directory(env)?;
            print!(
                "{}",
                if *as_json {
                    dir.to_json()?
                } else {
                    dir.to_toml()?
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        TeamsCommand::List { json: as_json } => {
            let dir = stored_directory(env)?;
            if *as_json {
                json(&dir.teams)?;
            } else {
                table(
                    &[
                        "ID",
                        "NAME",
                        "KIND",
                        "COUNTRY",
                        "MAX TLP",
                        "PREFIXES",
                        "ASNS",
                        "COUNTRIES",
                        "MEMBERSHIPS",
                    ],
                    dir.teams
                        .iter()
                        .map(|t| {
                            let c = &t.constituency;
                            vec![
                                t.id.to_string(),
                                t.name.clone(),
                                t.kind.as_str().to_string(),
                                t.country.map(|c| c.to_string()).unwrap_or_default(),
                                t.max_tlp.label().to_string(),
                                c.prefixes.len().to_string(),
                                c.asns.len().to_string(),
                                c.countries
                                    .iter()
                                    .map(|c| c.to_string())
                                    .collect::<Vec<_>>()
                                    .join(","),
                                t.memberships.join(","),
                            ]
                        })
                        .collect(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TeamsCommand::Show { id, json: as_json } => {
            let dir = stored_directory(env)?;
            let team = dir
                .team(id)
                .ok_or_else(|| anyhow!("no team {id:?} in the directory"))?;
            if *as_json {
                json(team)?;
            } else {
                let one = Directory {
                    teams: vec![team.clone()],
                };
                print!("{}", one.to_toml()?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
