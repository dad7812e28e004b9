//! `firewatch users add|list|remove`: the people who use the web service.

use crate::output::{json as print_json, json_times};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use firewatch_core::access::Role;
use firewatch_pipeline::Context;
use std::io::Read;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user of a team.
    #[command(
        after_help = "Examples:\n  firewatch users add ana --team cert-a --role member\n  printf '%s' \"$PW\" | firewatch users add bo --team cert-b --role coordinator --password-stdin"
    )]
    Add(AddArgs),
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a user and their tokens.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// The user's team id (as in the team directory).
    #[arg(long)]
    pub team: String,
    /// administrator, coordinator, member or read-only.
    #[arg(long)]
    pub role: String,
    /// Read a password for the browser login from standard input (stored as an Argon2id hash).
    #[arg(long)]
    pub password_stdin: bool,
}

pub fn run(ctx: &Context, cmd: &UsersCommand) -> Result<ExitCode> {
    let mut store = ctx.store()?;
    match cmd {
        UsersCommand::Add(a) => {
            let role: Role = a.role.parse().map_err(|e| anyhow!("--role: {e}"))?;
            if a.name.trim().is_empty() || a.team.trim().is_empty() {
                bail!("a user needs a name and a team");
            }
            crate::scope::check_team(store.as_ref(), &a.team)?;
            let hash = if a.password_stdin {
                let mut pw = String::new();
                std::io::stdin()
                    .read_to_string(&mut pw)
                    .context("cannot read the password from standard input")?;
                let pw = pw.trim_end_matches(['\r', '\n']);
                if pw.len() < 8 {
                    bail!("the password is shorter than 8 characters");
                }
                Some(firewatch_web::auth::hash_password(pw).map_err(|e| anyhow!("{e}"))?)
            } else {
                None
            };
            let user = store.add_user(&a.name, &a.team, role.as_str(), hash.as_deref())?;
            eprintln!("added {} ({} of {})", user.name, user.role, user.team);
        }
        UsersCommand::List { json } => {
            let users = store.users()?;
            if *json {
                print_json(&json_times(
                    serde_json::to_value(&users)?,
                    &["created_at"],
                    &[],
                ))?;
            } else {
                for u in &users {
                    let login = if u.password_hash.is_some() {
                        "password"
                    } else {
                        "tokens only"
                    };
                    outln!("{:<20} {:<16} {:<14} {login}", u.name, u.team, u.role);
                }
            }
        }
        UsersCommand::Remove { name } => {
            if !store.remove_user(name)? {
                bail!("no user named {name:?}");
            }
            eprintln!("removed {name} and their tokens");
        }
    }
    Ok(ExitCode::SUCCESS)
}
