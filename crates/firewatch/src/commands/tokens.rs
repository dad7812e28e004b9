//! `firewatch tokens create|list|revoke`: API tokens. The secret is shown once; the store
//! keeps only its hash.

use crate::output::json as print_json;
use anyhow::{Result, bail};
use clap::Subcommand;
use firewatch_pipeline::Context;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token for a user and print it (once: it cannot be shown again).
    #[command(after_help = "Example:\n  firewatch tokens create --user ana")]
    Create {
        #[arg(long)]
        user: String,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
}

pub fn run(ctx: &Context, cmd: &TokensCommand) -> Result<ExitCode> {
    let mut store = ctx.store()?;
    match cmd {
        TokensCommand::Create { user } => {
            let Some(u) = store.user(user)? else {
                bail!("no user named {user:?} (firewatch users add)");
            };
            let t = firewatch_web::auth::new_token();
            store.add_token(&t.id, u.id, &t.hash)?;
            eprintln!(
                "token {} for {} ({}); it is shown once:",
                t.id, u.name, u.team
            );
            outln!("{}", t.token);
        }
        TokensCommand::List { json } => {
            let tokens = store.tokens()?;
            if *json {
                print_json(&crate::output::json_times(
                    serde_json::to_value(&tokens)?,
                    &["created_at", "revoked_at"],
                    &[],
                ))?;
            } else {
                for t in &tokens {
                    let state = match t.revoked_at {
                        Some(at) => format!("revoked {}", fmt_time(at)),
                        None => "active".into(),
                    };
                    outln!(
                        "{:<14} {:<20} {} {state}",
                        t.id,
                        t.user,
                        fmt_time(t.created_at)
                    );
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if !store.revoke_token(id)? {
                bail!("no active token {id:?}");
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}
