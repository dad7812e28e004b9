//! `firewatch serve`: the JSON API (see `firewatch-web`).

use super::Env;
use anyhow::{Result, anyhow};
use clap::Args;
use std::process::ExitCode;

/// `firewatch serve` arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  firewatch serve\n  firewatch serve --listen 0.0.0.0:8080\n  curl -H 'Authorization: Bearer fw_...' localhost:8080/api/v1/events?where=source.geolocation.cc%3DJP\n\nThe OpenAPI document is at /api/v1/openapi.json; metrics at /metrics."
)]
pub struct ServeArgs {
    /// Address to listen on (default: [web] listen in firewatch.toml, 127.0.0.1:8080).
    #[arg(long, env = "FIREWATCH_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn run(env: &Env, args: &ServeArgs) -> Result<ExitCode> {
    let listen = args.listen.as_deref().unwrap_or(&env.config.web.listen);
    firewatch_web::run_blocking(env.db.clone(), &env.config.web, listen, |addr| {
        eprintln!("firewatch: serving http://{addr}/ (Ctrl-C to stop)");
    })
    .map_err(|e| anyhow!("serve: {e}"))?;
    eprintln!("firewatch: stopped");
    Ok(ExitCode::SUCCESS)
}
