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
//! # Hardening
//! The service stands on a port anyone can reach, so every resource a stranger can make it
//! spend is bounded where the spending happens:
//! - **Connections** ([`serve`]): a client has [`WebConfig::header_read_timeout_secs`] to send
//!   a request's headers, which also closes idle keep-alive connections; at most
//!   [`WebConfig::max_connections`] are open at once (the rest wait in the kernel's backlog),
//!   kept below the process's file-descriptor limit; a request body must arrive within
//!   [`WebConfig::request_body_timeout_secs`].
//! - **Passwords** ([`password_gate`]): one gate for the login form and TAXII's HTTP Basic —
//!   a failure limit per name, the same cost for unknown names, and a bound on the Argon2 runs
//!   (and so on their memory) in progress and queued.
//! - **Logs**: values from requests (user names, error details) are logged with Debug
//!   formatting (`?value`), which escapes line breaks, so no value forges a log line.
//! - **`/metrics`**: request counters and latencies are public; the store's figures (events,
//!   inputs, alerts) only go to an administrator's token or session, as they count records
//!   regardless of TLP.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use firewatch_web::{AppState, WebConfig};
//! let state = AppState::new(std::path::PathBuf::from("firewatch.db"), &WebConfig::default())?;
//! let app = firewatch_web::router(state);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! firewatch_web::serve(listener, app, firewatch_web::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod assess;
pub mod auth;
pub mod cases;
pub mod error;
pub mod metrics;
pub mod pages;
pub mod password_gate;
pub mod session;
pub mod taxii;
pub mod taxii_statuses;
pub mod viewer;
pub mod wire;

pub use error::{ApiError, ErrorBody};

use firewatch_core::TlpLevel;
use firewatch_core::access::TelescopeAccess;
use firewatch_store::Backend;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Connections served at once; further ones wait in the kernel's accept backlog. Lowered
    /// at start to stay below the process's open-file limit (`ulimit -n`) less a reserve.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers, from the connection's start or the
    /// end of its previous response; a silent or idle connection is closed after it.
    pub header_read_timeout_secs: u64,
    /// Seconds a request's body has to arrive in full (a TAXII envelope of up to 8 MiB).
    pub request_body_timeout_secs: u64,
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
            max_connections: ServeOptions::default().max_connections,
            header_read_timeout_secs: ServeOptions::default().header_read_timeout.as_secs(),
            request_body_timeout_secs: DEFAULT_BODY_TIMEOUT.as_secs(),
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

    /// The connection limits of [`serve_with`].
    pub fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            max_connections: self.max_connections.max(1),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
        }
    }
}

/// How long a request body may take unless `[web] request_body_timeout_secs` says otherwise.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// A configuration value the service cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Idle store connections kept for reuse.
const POOL_IDLE: usize = 8;
/// Store tasks run at once (each on a blocking thread with a connection of its own); more
/// wait their turn without a thread or a connection, so that a burst of requests cannot open
/// hundreds of connections and threads.
const STORE_TASKS: usize = 2 * POOL_IDLE;

/// What every handler shares.
pub struct AppState {
    location: firewatch_store::StoreLocation,
    idle: Mutex<Vec<Box<dyn Backend>>>,
    /// Permits for store tasks ([`STORE_TASKS`]).
    store_tasks: tokio::sync::Semaphore,
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
    /// Cookie settings of the pages.
    pub pages: pages::PageState,
    /// The password checks of the login form and of TAXII's HTTP Basic.
    pub passwords: password_gate::PasswordGate,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// The producing identity of TAXII's objects (`[share]`; see [`AppState::with_producer`]).
    pub producer: firewatch_share::Producer,
}

impl AppState {
    /// Opens the store once (creating and migrating it) and checks the configuration; the
    /// pipeline (for what partners add over TAXII) runs with the default `[feeds]` settings.
    pub fn new(
        db: impl Into<firewatch_store::StoreLocation>,
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
        let producer = firewatch_share::ShareConfig::default().producer(None, None);
        AppState::with_producer(pipeline, config, producer)
    }

    /// As [`AppState::with_pipeline`], with the producer TAXII's objects name (`[share]`).
    pub fn with_producer(
        pipeline: firewatch_pipeline::Context,
        config: &WebConfig,
        producer: firewatch_share::Producer,
    ) -> Result<Arc<AppState>, Box<dyn std::error::Error + Send + Sync>> {
        let location = pipeline.location.clone();
        let store = location.open()?;
        Ok(Arc::new(AppState {
            location,
            idle: Mutex::new(vec![store]),
            store_tasks: tokio::sync::Semaphore::new(STORE_TASKS),
            geo: Mutex::new(None),
            pipeline,
            taxii_feed: Mutex::new(None),
            telescope: config.telescope_access()?,
            metrics: metrics::Metrics::default(),
            pages: pages::PageState {
                secure_cookies: config.secure_cookies,
            },
            passwords: password_gate::PasswordGate::default(),
            body_timeout: Duration::from_secs(config.request_body_timeout_secs.max(1)),
            producer,
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
            firewatch_pipeline::dataset::load_geo(self.pipeline.dataset_anchor())
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
        let _permit = self
            .store_tasks
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("store closed".into()))?;
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let taken = state.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut store = match taken {
                Some(s) => s,
                None => state.location.open()?,
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(state, api::observe))
        .layer(axum::middleware::map_response(security_headers))
}

/// Gives a request's body [`AppState::body_timeout`] to arrive in full: a body trickled byte
/// by byte fails there (the handler answers 400 and the connection closes) instead of holding
/// a connection and a task forever. Requests without a body pass untouched.
async fn body_deadline(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::body::{Body, HttpBody};
    use futures_util::StreamExt;
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let deadline = tokio::time::Instant::now() + state.body_timeout;
    let (parts, body) = request.into_parts();
    let frames = body.into_data_stream();
    let timed = futures_util::stream::unfold(Some(frames), move |frames| async move {
        let mut frames = frames?;
        match tokio::time::timeout_at(deadline, frames.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(frames))),
            Ok(None) => None,
            Err(_) => Some((
                Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                ))),
                None,
            )),
        }
    });
    let request = axum::extract::Request::from_parts(parts, Body::from_stream(timed));
    next.run(request).await
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

/// The connection limits of [`serve_with`] (`[web]` sets them through
/// [`WebConfig::serve_options`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Connections served at once (lowered to the open-file limit less a reserve).
    pub max_connections: usize,
    /// Time to send a request's headers; also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` with the default [`ServeOptions`] until `shutdown` completes,
/// then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, ServeOptions::default()).await
}

/// File descriptors kept free of connections: the store, its journal, logs, the blocking pool.
const FD_RESERVE: usize = 128;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish and closes idle connections.
///
/// Hyper's HTTP/1 connection, driven directly rather than through `axum::serve`, which sets no
/// timer and so no header timeout: a connection that sends nothing stayed open for ever, and a
/// thousand of them used up the file descriptors (issue 22, item 9). Here every connection
/// must send its headers within `header_read_timeout` (hyper restarts that clock after each
/// response, so it is also the keep-alive idle limit), and at most `max_connections` are open:
/// the loop takes a permit before `accept`, so beyond the bound clients wait in the backlog
/// instead of the process running out of descriptors. An `accept` error (out of descriptors
/// after all) pauses the loop briefly rather than spinning.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let max = connection_bound(options.max_connections);
    let permits = Arc::new(tokio::sync::Semaphore::new(max));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .keep_alive(true);
    let service = hyper::service::service_fn(move |request| {
        use tower::ServiceExt;
        app.clone().oneshot(request)
    });
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, _peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a connection");
                drop(permit);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors are the client's doing (reset, timeout, bad request): nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// `wanted`, lowered to stay [`FD_RESERVE`] below the open-file limit where it can be read.
fn connection_bound(wanted: usize) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    match limit {
        Some(fds) if fds.saturating_sub(FD_RESERVE) < wanted => {
            let bound = fds.saturating_sub(FD_RESERVE).max(1);
            tracing::warn!(
                max_connections = wanted,
                open_file_limit = fds,
                bound,
                "max_connections lowered below the open-file limit"
            );
            bound
        }
        _ => wanted.max(1),
    }
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
/// with the bound address once the service accepts connections; `producer` names the producer
/// of TAXII's objects.
pub fn run_blocking(
    pipeline: firewatch_pipeline::Context,
    config: &WebConfig,
    producer: firewatch_share::Producer,
    listen: &str,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let state = AppState::with_producer(pipeline, config, producer)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        ready(listener.local_addr()?);
        serve_with(
            listener,
            router(state),
            shutdown_signal(),
            config.serve_options(),
        )
        .await?;
        Ok(())
    })
}
