//! `firewatch serve`: the JSON API and the pages (see `firewatch-web`).

use anyhow::{Result, anyhow};
use clap::Args;
use firewatch_pipeline::Context;
use firewatch_web::LogFormat;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// `firewatch serve` arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  firewatch serve\n  firewatch serve --listen 0.0.0.0:8080\n  FIREWATCH__WEB__LOG_FORMAT=json FIREWATCH_LOG=debug firewatch serve\n  curl -H 'Authorization: Bearer fw_...' localhost:8080/api/v1/events?where=source.geolocation.cc%3DJP\n\nThe OpenAPI document is at /api/v1/openapi.json; metrics at /metrics; health at /healthz.\nEvery key of firewatch.toml can be set in the environment: FIREWATCH__<SECTION>__<KEY>.\nSIGTERM or Ctrl-C stops accepting connections and finishes the requests in flight."
)]
pub struct ServeArgs {
    /// Address to listen on (default: [web] listen in firewatch.toml, 127.0.0.1:8080).
    #[arg(long, env = "FIREWATCH_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn run(ctx: &Context, config: &crate::config::Config, args: &ServeArgs) -> Result<ExitCode> {
    let web = &config.web;
    init_logs(web.log_format)?;
    let listen = args.listen.as_deref().unwrap_or(&web.listen);
    // TAXII's objects name the producer the exports name ([share], else the notify sender).
    let sender_team = config.notify.as_ref().map(|n| n.sender_team.as_str());
    let producer = config.share.producer(None, sender_team);
    firewatch_web::run_blocking(ctx.clone(), web, producer, listen, |addr| {
        tracing::info!(addr = %addr, "serving http://{addr}/ (Ctrl-C to stop)");
    })
    .map_err(|e| anyhow!("serve: {e}"))?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Structured logs on standard error, filtered by `FIREWATCH_LOG` (default `info`).
fn init_logs(format: LogFormat) -> Result<()> {
    let filter = match std::env::var("FIREWATCH_LOG") {
        Ok(spec) => EnvFilter::try_new(&spec).map_err(|e| anyhow!("FIREWATCH_LOG={spec}: {e}"))?,
        Err(_) => EnvFilter::new("info"),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    installed.map_err(|e| anyhow!("cannot install the log subscriber: {e}"))
}
