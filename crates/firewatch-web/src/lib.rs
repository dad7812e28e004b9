//! The Firewatch web service: a JSON API over the store with an OpenAPI 3 document, team
//! identities and API tokens, TLP 2.0 enforced on every read path, `/healthz` and `/metrics`.
//!
//! Reading applies `firewatch_core::access` (one rule for every path); writing (TAXII
//! add-objects) and routing answers go through `firewatch-pipeline`, so a partner's objects meet
//! the same experts, routing and deduplication as a file, and the API routes as the CLI does.
//!
//! The shape follows axum's examples: shared state in an `Arc` passed with `State`, one error
//! type ([`ApiError`]) that implements `IntoResponse`, a router built by small functions, and
//! tests that call the router with `tower::ServiceExt::oneshot`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use firewatch_web::{AppState, WebConfig};
//! let state = AppState::new("firewatch.db".into(), &WebConfig::default())?;
//! let app = firewatch_web::router(state);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! firewatch_web::serve(listener, app, firewatch_web::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod pages;
pub mod session;
pub mod taxii;
pub mod viewer;

pub use error::{ApiError, ErrorBody};

use firewatch_core::TlpLevel;
use firewatch_core::access::TelescopeAccess;
use firewatch_store::Backend;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `[web]` in firewatch.toml: the service and the release of telescope data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address to listen on (`firewatch serve --listen` overrides it).
    pub listen: String,
    /// The TLP of all telescope data (ports, alerts, sources, attacks).
    pub darknet_tlp: String,
    /// The team that owns the telescope (for AMBER and AMBER+STRICT telescope data).
    pub darknet_owner: Option<String>,
    /// An explicit release of telescope aggregates (top ports, alerts) to anonymous users.
    pub public_darknet_aggregates: bool,
    /// Mark the browser's cookies `Secure` (sent over HTTPS only). Keep it on behind TLS;
    /// turn it off only for plain HTTP on loopback (tests, a local demo).
    pub secure_cookies: bool,
    /// Log lines on standard error: `text` for a person, `json` (one object per line) for a
    /// log collector. The level comes from `FIREWATCH_LOG` (`info` unless set; e.g. `debug`).
    pub log_format: LogFormat,
}

/// How `firewatch serve` writes its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: "127.0.0.1:8080".into(),
            darknet_tlp: "GREEN".into(),
            darknet_owner: None,
            public_darknet_aggregates: false,
            secure_cookies: true,
            log_format: LogFormat::Text,
        }
    }
}

impl WebConfig {
    /// The telescope's access rule; fails on an unknown TLP level.
    pub fn telescope_access(&self) -> Result<TelescopeAccess, ConfigError> {
        let tlp: TlpLevel = self
            .darknet_tlp
            .parse()
            .map_err(|e| ConfigError(format!("[web] darknet_tlp: {e}")))?;
        Ok(TelescopeAccess {
            tlp,
            owner: self.darknet_owner.clone(),
            public_aggregates: self.public_darknet_aggregates,
        })
    }
}

/// A configuration value the service cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Idle store connections kept for reuse.
const POOL_IDLE: usize = 8;

/// What every handler shares.
pub struct AppState {
    db: PathBuf,
    idle: Mutex<Vec<Box<dyn Backend>>>,
    /// The registry data in force, loaded on first use (routing answers need it).
    geo: Mutex<Option<Arc<firewatch_enrich::geo::GeoData>>>,
    /// The pipeline's configuration and store: what TAXII add-objects ingests through.
    pipeline: firewatch_pipeline::Context,
    /// The feed pipeline of TAXII add-objects, built on first use (it loads the attribution
    /// data); one add at a time, as one writer is all SQLite has.
    taxii_feed: Mutex<Option<firewatch_pipeline::feeds::FeedPipeline>>,
    /// Who may read telescope data.
    pub telescope: TelescopeAccess,
    pub metrics: metrics::Metrics,
    /// Cookie settings and the login rate limit of the pages.
    pub pages: pages::PageState,
}

impl AppState {
    /// Opens the store once (creating and migrating it) and checks the configuration; the
    /// pipeline (for what partners add over TAXII) runs with the default `[feeds]` settings.
    pub fn new(
        db: PathBuf,
        config: &WebConfig,
    ) -> Result<Arc<AppState>, Box<dyn std::error::Error + Send + Sync>> {
        let pipeline = firewatch_pipeline::Context::new(Default::default(), db);
        AppState::with_pipeline(pipeline, config)
    }

    /// As [`AppState::new`], with the pipeline's configuration (experts, deduplication) that
    /// every other way into the store uses.
    pub fn with_pipeline(
        pipeline: firewatch_pipeline::Context,
        config: &WebConfig,
    ) -> Result<Arc<AppState>, Box<dyn std::error::Error + Send + Sync>> {
        let db = pipeline.db.clone();
        let store = firewatch_store::open(&db)?;
        Ok(Arc::new(AppState {
            db,
            idle: Mutex::new(vec![store]),
            geo: Mutex::new(None),
            pipeline,
            taxii_feed: Mutex::new(None),
            telescope: config.telescope_access()?,
            metrics: metrics::Metrics::default(),
            pages: pages::PageState {
                secure_cookies: config.secure_cookies,
                ..Default::default()
            },
        }))
    }

    /// The registry data in force (as `firewatch data update` installed it), loaded once; blocking.
    pub fn geo(&self) -> Result<Arc<firewatch_enrich::geo::GeoData>, ApiError> {
        let mut slot = self
            .geo
            .lock()
            .map_err(|_| ApiError::Internal("registry data lock poisoned".into()))?;
        if let Some(geo) = slot.as_ref() {
            return Ok(Arc::clone(geo));
        }
        let geo = Arc::new(
            firewatch_pipeline::dataset::load_geo(&self.db)
                .map_err(|e| ApiError::Internal(format!("registry data: {e:#}")))?,
        );
        *slot = Some(Arc::clone(&geo));
        Ok(geo)
    }

    /// Runs `work` with the feed pipeline of TAXII add-objects (built on first use); blocking.
    pub fn with_feed_pipeline<T>(
        &self,
        work: impl FnOnce(&mut firewatch_pipeline::feeds::FeedPipeline) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut slot = self
            .taxii_feed
            .lock()
            .map_err(|_| ApiError::Internal("feed pipeline lock poisoned".into()))?;
        if slot.is_none() {
            let options = firewatch_pipeline::feeds::FeedOptions {
                format: firewatch_pipeline::feeds::FeedFormat::Stix,
                schema: None,
                mapping: None,
                dry_run: false,
            };
            let built = firewatch_pipeline::feeds::FeedPipeline::new(&self.pipeline, &options)
                .map_err(|e| ApiError::Internal(format!("feed pipeline: {e:#}")))?;
            *slot = Some(built);
        }
        match slot.as_mut() {
            Some(pipeline) => work(pipeline),
            None => Err(ApiError::Internal("feed pipeline missing".into())),
        }
    }

    /// Runs blocking store work on the blocking pool with a connection of its own (taken from
    /// the idle ones, or opened), so that SQLite never blocks the async runtime.
    pub async fn with_store<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Backend) -> Result<T, ApiError> + Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let taken = state.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut store = match taken {
                Some(s) => s,
                None => firewatch_store::open(&state.db)?,
            };
            let result = work(store.as_mut());
            if let Ok(mut idle) = state.idle.lock()
                && idle.len() < POOL_IDLE
            {
                idle.push(store);
            }
            result
        })
        .await
        .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?
    }
}

/// The router of the whole service: the JSON API, `/healthz`, `/metrics` and the pages.
pub fn router(state: Arc<AppState>) -> axum::Router {
    api::router(state.clone())
        .merge(pages::router(state.clone()))
        .merge(taxii::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state, api::observe))
        .layer(axum::middleware::map_response(security_headers))
}

/// Every response: no MIME sniffing, and nothing kept by browsers or proxies unless a route
/// says otherwise, since answers carry TLP-marked data.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Serves the API on `listen` from the pipeline's store until Ctrl-C or SIGTERM, on a runtime of
/// its own (for callers that are not async, like the `firewatch` binary). `ready` is called
/// with the bound address once the service accepts connections.
pub fn run_blocking(
    pipeline: firewatch_pipeline::Context,
    config: &WebConfig,
    listen: &str,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let state = AppState::with_pipeline(pipeline, config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        ready(listener.local_addr()?);
        serve(listener, router(state), shutdown_signal()).await?;
        Ok(())
    })
}
