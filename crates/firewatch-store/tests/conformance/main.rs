//! One conformance suite, run against both backends (issue 17): every check is a generic
//! function over the store's traits, and `on_both!` makes it two tests, one on a fresh
//! in-memory SQLite store and one on a fresh PostgreSQL schema (the server of
//! `FIREWATCH_TEST_POSTGRES`, else the machine's own at 127.0.0.1:5432, database `test`).
//! PostgreSQL is never skipped: a test that cannot reach it fails.

/// `on_both!(name, check)` defines `name::sqlite` and `name::postgres`, each calling
/// `check(&mut store)` on a new store of that backend.
macro_rules! on_both {
    ($name:ident, $check:path) => {
        mod $name {
            #[test]
            fn sqlite() {
                $check(&mut crate::fresh_sqlite());
            }
            #[test]
            fn postgres() {
                $check(&mut crate::fresh_postgres());
            }
        }
    };
}

mod accounts;
mod events;
mod telescope;

pub fn fresh_sqlite() -> firewatch_store::SqliteStore {
    firewatch_store::SqliteStore::open_in_memory().expect("an in-memory SQLite store")
}

pub fn fresh_postgres() -> firewatch_store::PgStore {
    let url = firewatch_store::postgres::test_url();
    firewatch_store::PgStore::scratch(&url).unwrap_or_else(|e| {
        panic!(
            "the conformance suite needs PostgreSQL at {url} (set {} to another): {e}",
            firewatch_store::postgres::TEST_URL_ENV
        )
    })
}
