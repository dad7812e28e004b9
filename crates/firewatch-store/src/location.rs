//! Where a store lives — a SQLite file or a PostgreSQL database — as `--db`, `FIREWATCH_DB`
//! or `[store] url` name it, and opening it as one [`Backend`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Backend, Result};

/// `[store]` of firewatch.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The store: a SQLite file's path (or `sqlite:PATH`), or a PostgreSQL URL
    /// (`postgres://user@host/db`). `--db` and `FIREWATCH_DB` take precedence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where the registry datasets (`data update`) of a PostgreSQL store are kept on this
    /// machine; a SQLite store keeps them beside its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// A store's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// One SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (which may hold a password: never printed).
    Postgres(String),
}

impl StoreLocation {
    /// Reads `postgres://…` or `postgresql://…` as PostgreSQL, `sqlite:PATH` or any other text
    /// as a SQLite file's path.
    pub fn parse(spec: &str) -> StoreLocation {
        if crate::postgres::is_postgres_url(spec) {
            StoreLocation::Postgres(spec.to_owned())
        } else {
            let path = spec
                .strip_prefix("sqlite://")
                .or_else(|| spec.strip_prefix("sqlite:"))
                .unwrap_or(spec);
            StoreLocation::Sqlite(PathBuf::from(path))
        }
    }

    /// Opens (creating and migrating) the store.
    pub fn open(&self) -> Result<Box<dyn Backend>> {
        match self {
            StoreLocation::Sqlite(path) => Ok(Box::new(crate::SqliteStore::open(path)?)),
            StoreLocation::Postgres(url) => Ok(Box::new(crate::PgStore::connect(url)?)),
        }
    }

    /// The SQLite file, for what only a file has (integrity check, datasets beside it).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            StoreLocation::Sqlite(path) => Some(path),
            StoreLocation::Postgres(_) => None,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            StoreLocation::Sqlite(_) => "sqlite",
            StoreLocation::Postgres(_) => "postgres",
        }
    }

    /// The place as a file name: letters and digits, the rest `-` (no password).
    pub fn slug(&self) -> String {
        self.to_string()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    }

    /// True when no store exists here yet that could be read: a SQLite file that is not
    /// there. (A PostgreSQL database is created by its administrator, and its schema on
    /// first open.)
    pub fn is_missing(&self) -> bool {
        matches!(self, StoreLocation::Sqlite(path) if !path.exists())
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> StoreLocation {
        StoreLocation::Sqlite(path)
    }
}

impl fmt::Display for StoreLocation {
    /// The file's path, or the URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(&crate::postgres::redact_url(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urls_and_paths() {
        assert_eq!(
            StoreLocation::parse("postgres://fw:secret@db/x"),
            StoreLocation::Postgres("postgres://fw:secret@db/x".into())
        );
        assert_eq!(
            StoreLocation::parse("postgresql://db/x").backend(),
            "postgres"
        );
        assert_eq!(
            StoreLocation::parse("sqlite:/var/lib/fw.db"),
            StoreLocation::Sqlite("/var/lib/fw.db".into())
        );
        assert_eq!(
            StoreLocation::parse("fw.db"),
            StoreLocation::Sqlite("fw.db".into())
        );
        assert_eq!(
            StoreLocation::parse("postgres://fw:secret@db/x").to_string(),
            "postgres://fw@db/x"
        );
    }
}
