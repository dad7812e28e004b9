//! `firewatch teams`: import, export and read the team directory kept in the store.

use crate::output::{json, table};
use anyhow::{Result, anyhow};
use clap::Subcommand;
use firewatch_enrich::directory::{Directory, ValidationPolicy};
use firewatch_pipeline::Context;
use firewatch_pipeline::directory;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TeamsCommand {
    /// Validate a directory and make it the store's: TOML (see examples/teams.toml), JSON, or a
    /// Trusted-Introducer-style CSV listing. A directory with problems is refused whole, with
    /// every problem and its line, and the stored one stays.
    Import {
        /// teams.toml, teams.json or a .csv listing.
        file: PathBuf,
        /// Accept a team's prefix nested inside another team's (the longest prefix then wins).
        #[arg(long)]
        allow_nested_prefixes: bool,
        /// Put a directory without any team in force (otherwise refused: it routes nothing).
        #[arg(long)]
        force: bool,
    },
    /// Print the stored directory as TOML (or JSON).
    Export {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The teams, one line each.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One team in full.
    Show {
        /// The team id (slug).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The directory in the store, or an empty one if none was imported.
fn stored_directory(ctx: &Context) -> Result<Directory> {
    directory::stored_directory(ctx.store()?.as_ref())
}

pub fn run(ctx: &Context, cmd: &TeamsCommand) -> Result<ExitCode> {
    match cmd {
        TeamsCommand::Import {
            file,
            allow_nested_prefixes,
            force,
        } => {
            let policy = ValidationPolicy {
                allow_nested_prefixes: *allow_nested_prefixes,
            };
            let (dir, rejected) = directory::read_directory_file(file, &policy)?;
            let origin = file.display().to_string();
            for row in &rejected {
                eprintln!("{origin}:{}: row left out: {}", row.line, row.message);
            }
            directory::replace_directory(
                ctx.store()?.as_mut(),
                &dir,
                &origin,
                *allow_nested_prefixes,
                *force,
            )?;
            outln!("imported {} teams from {}", dir.teams.len(), file.display());
            // What is stored was routed with the old directory: route it again.
            let rederived = firewatch_pipeline::rederive::rederive(ctx, None)?;
            outln!("{}", firewatch_pipeline::rederive::summary(&rederived));
            Ok(if !rejected.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        TeamsCommand::Export { json: as_json } => {
            let dir = stored_directory(ctx)?;
            out!(
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
            let dir = stored_directory(ctx)?;
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
            let dir = stored_directory(ctx)?;
            let team = dir
                .team(id)
                .ok_or_else(|| anyhow!("no team {id:?} in the directory"))?;
            if *as_json {
                json(team)?;
            } else {
                let one = Directory {
                    teams: vec![team.clone()],
                };
                out!("{}", one.to_toml()?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
