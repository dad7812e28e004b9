//! The PostgreSQL backend: the same traits as [`crate::SqliteStore`], for a community hub or a
//! national team whose data outgrows one file (issue 17).
//!
//! One synchronous connection (the `postgres` crate, over `tokio-postgres`) per store, as the
//! SQLite backend holds one. The schema is created and moved up by versioned migrations
//! ([`migrations`]), applied under an advisory lock so two processes starting at once do not
//! both run one. Each area of the store keeps its tables and its trait implementation in its
//! own module here; the contract, and the conformance suite that holds both backends to it,
//! are the traits'.
//!
//! ```no_run
//! use firewatch_store::PgStore;
//! let mut store = PgStore::connect("postgres://firewatch@127.0.0.1/firewatch").unwrap();
//! println!("schema version {}", store.schema_version().unwrap());
//! ```

mod assess;
mod cases;
mod events;
mod health;
mod identity;
mod migrations;
mod outbox;
mod sessions;
mod stats;
mod telescope;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, Config, NoTls, Transaction};

use crate::{Result, StoreError};

/// The environment variable naming the PostgreSQL server the tests use; without it they use
/// [`DEFAULT_TEST_URL`].
pub const TEST_URL_ENV: &str = "FIREWATCH_TEST_POSTGRES";

/// The server the tests use when [`TEST_URL_ENV`] is not set: the machine's own.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The URL of the PostgreSQL server for tests and benchmarks.
pub fn test_url() -> String {
    std::env::var(TEST_URL_ENV).unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned())
}

/// True when `spec` names a PostgreSQL store (`postgres://…` or `postgresql://…`) rather than
/// a SQLite file.
pub fn is_postgres_url(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// A store in a PostgreSQL database.
pub struct PgStore {
    pub(crate) client: Client,
    /// Connections for the reads through `&self` (a `postgres::Client` queries only through
    /// `&mut`): one is taken for a read and put back after; a read inside a read takes
    /// another.
    readers: std::cell::RefCell<Vec<Client>>,
    /// The URL as given, to open readers with: it may hold a password, so it is never
    /// printed.
    url: String,
    /// Where it is, without any password: named in errors.
    location: String,
    /// A scratch schema this store made and drops when it is dropped (tests, benchmarks).
    scratch: Option<String>,
    /// The URL that reaches the scratch schema, for other processes (a test's commands).
    scratch_url: Option<String>,
}

impl PgStore {
    /// Connects to the database at `url` (a libpq-style URL, `postgres://user@host/db`;
    /// `?options=-csearch_path%3Dname` picks a schema), creating and migrating the schema.
    pub fn connect(url: &str) -> Result<PgStore> {
        let (client, location) = open_client(url)?;
        let mut store = PgStore {
            client,
            readers: Default::default(),
            url: url.to_owned(),
            location,
            scratch: None,
            scratch_url: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// A store in a new, empty schema of the database at `url`, dropped with everything in it
    /// when the store is dropped: for tests and benchmarks, which may run side by side in one
    /// database.
    pub fn scratch(url: &str) -> Result<PgStore> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let schema = format!(
            "firewatch_scratch_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (mut client, location) = open_client(url)?;
        client.batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))?;
        let separator = if url.contains('?') { '&' } else { '?' };
        let reach = format!("{url}{separator}options=-csearch_path%3D{schema}");
        let mut store = PgStore {
            client,
            readers: Default::default(),
            url: reach.clone(),
            location,
            scratch_url: Some(reach),
            scratch: Some(schema),
        };
        store.migrate()?;
        Ok(store)
    }

    /// For a [`PgStore::scratch`] store: a URL that reaches its schema (the given URL with
    /// `options=-csearch_path=…`), so that another process can open the same store.
    pub fn scratch_url(&self) -> Option<&str> {
        self.scratch_url.as_deref()
    }

    /// Where the store is (`postgres://user@host:port/db`), without a password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The schema version in force.
    pub fn schema_version(&mut self) -> Result<i64> {
        migrations::version(&mut self.client)
    }

    /// Runs `f` with a connection of this store for a read through `&self`; it sees every
    /// committed write, which is all a trait call leaves behind.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&mut Client) -> Result<R>) -> Result<R> {
        let taken = self.readers.borrow_mut().pop();
        let mut client = match taken {
            Some(client) if !client.is_closed() => client,
            _ => open_client(&self.url)?.0,
        };
        let result = f(&mut client);
        if !client.is_closed() {
            self.readers.borrow_mut().push(client);
        }
        result
    }

    /// A write transaction. PostgreSQL's own locking orders concurrent writers; a conflict
    /// it cannot order surfaces as [`StoreError::Unavailable`], to try again.
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self.client.transaction()?)
    }

    fn migrate(&mut self) -> Result<()> {
        migrations::migrate(&mut self.client)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(schema) = self.scratch.take() {
            // Best effort: a scratch schema left behind by a crash is only clutter.
            let _ = self
                .client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Connects without TLS (the server is on loopback or a private network; see the deployment
/// guide) and names the connection so a DBA can see who holds it.
fn open_client(url: &str) -> Result<(Client, String)> {
    let mut config = Config::from_str(url).map_err(|e| {
        StoreError::InvalidQuery(format!(
            "{:?} is not a PostgreSQL URL: {e}",
            redact_url(url)
        ))
    })?;
    config.application_name("firewatch");
    let location = describe(&config);
    let client = config.connect(NoTls).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot connect to the PostgreSQL store {location}: {e}"
        ))
    })?;
    Ok((client, location))
}

/// `postgres://user@host:port/db`, from a parsed configuration: never the password.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map_or_else(String::new, |h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        });
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// A URL as given, with any `user:password@` cut to `user@`: to print a URL as the user
/// wrote it, or one that did not parse.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // Class 08 (connection), 40001 (serialization), 40P01 (deadlock), 55P03 (lock not
        // available), 57P01-03 (the server is shutting down or starting): try again.
        let transient = e.is_closed()
            || e.code().is_some_and(|c| {
                let code = c.code();
                code.starts_with("08")
                    || matches!(
                        code,
                        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
                    )
            });
        if transient {
            StoreError::Unavailable(postgres_message(&e))
        } else {
            StoreError::Postgres(e)
        }
    }
}

/// What an error says, with the server's own message and detail when it sent one (the
/// client's display of a server error is only "db error").
pub(crate) fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_of_a_url_that_did_not_parse() {
        assert_eq!(
            redact_url("postgres://fw:s3cret@db.example/x"),
            "postgres://fw@db.example/x"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn a_scratch_store_is_migrated_and_dropped_with_its_schema() {
        let mut store = PgStore::scratch(&test_url()).expect("the test PostgreSQL server");
        let schema = store.scratch.clone().unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            migrations::MIGRATIONS.len() as i64
        );
        assert!(!store.location().contains("s3cret"));
        drop(store);
        let (mut client, _) = open_client(&test_url()).unwrap();
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1",
                &[&schema],
            )
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "the scratch schema is dropped");
    }

    #[test]
    fn a_server_that_is_not_there_is_unavailable_and_transient() {
        // Port 1 on loopback: nothing listens there.
        let err = match PgStore::connect("postgres://fw:pw@127.0.0.1:1/none") {
            Err(e) => e,
            Ok(_) => panic!("connected to nothing"),
        };
        assert!(err.is_transient(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("127.0.0.1:1") && !text.contains("pw"),
            "{text}"
        );
        assert!(crate::is_transient_message(&text));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut store = PgStore::scratch(&test_url()).unwrap();
        store
            .client
            .execute(
                "INSERT INTO firewatch_schema_version (version, name, applied_at) VALUES (9999, 'future', 0)",
                &[],
            )
            .unwrap();
        let err = store.migrate().unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found: 9999, .. }),
            "{err}"
        );
    }
}
