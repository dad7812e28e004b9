//! Whether the store's file is sound, and what happens when it is not.
//!
//! SQLite's own check (`PRAGMA integrity_check`, or the quicker `quick_check` that skips the
//! index-content comparison) is run by [`SqliteStore::check_integrity`] (`firewatch store
//! check`). A store that fails it, or in which SQLite reports a malformed page while writing
//! or opening it, gets a mark beside its file: `<store>.corrupt`, a small text file naming
//! what was found. Every write refuses a marked store ([`StoreError::KnownCorrupt`]): building
//! on damaged pages spreads the damage (a merge reads a broken profile and writes the result
//! back), and a backup taken later would carry it. Reads still work, so what is readable can
//! be exported. A check that passes (on a restored or recovered file) removes the mark.
//!
//! The mark lives outside the database on purpose: a corrupt file is the one place a
//! program should not write to record that it is corrupt.

use crate::{Result, SqliteStore, StoreError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the corruption mark of the store at `store` lives: `<store>.corrupt`.
pub fn mark_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".corrupt");
    PathBuf::from(name)
}

/// What the mark of the store at `store` says, if the store is marked corrupt.
pub fn corruption_mark(store: &Path) -> Option<String> {
    let path = mark_path(store);
    if !path.exists() {
        return None;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Some(if first.is_empty() {
        format!("marked corrupt by {}", path.display())
    } else {
        format!("{first}; see {}", path.display())
    })
}

/// Marks the store at `store` corrupt, with what was found (one problem a line). A mark that
/// cannot be written (a read-only directory) is not an error: the store cannot be written
/// there either.
pub fn mark_corrupt(store: &Path, problems: &[String]) {
    let mut text = String::new();
    for p in problems {
        text.push_str(p);
        text.push('\n');
    }
    text.push_str(&format!(
        "# marked by firewatch at {}; `firewatch store check` removes this mark once the store passes\n",
        jiff::Timestamp::now()
    ));
    let _ = std::fs::write(mark_path(store), text);
}

/// Checks the store at `path` (see [`SqliteStore::check_integrity`]); a file SQLite cannot
/// even open as a database fails the check (and is marked) rather than make it an error.
pub fn check(path: &Path, quick: bool) -> Result<IntegrityReport> {
    let was_marked = corruption_mark(path).is_some();
    match SqliteStore::open(path) {
        Ok(store) => store.check_integrity(quick),
        Err(e) if e.is_corruption() => {
            let problems = vec![e.to_string()];
            mark_corrupt(path, &problems);
            Ok(IntegrityReport {
                path: path.display().to_string(),
                check: if quick {
                    "quick_check"
                } else {
                    "integrity_check"
                },
                ok: false,
                problems,
                was_marked,
            })
        }
        Err(e) => Err(e),
    }
}

/// What [`SqliteStore::check_integrity`] found.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrityReport {
    /// The store's file.
    pub path: String,
    /// `integrity_check` or `quick_check`.
    pub check: &'static str,
    /// True when SQLite found nothing wrong.
    pub ok: bool,
    /// What SQLite found (at most [`MAX_PROBLEMS`]), empty when ok.
    pub problems: Vec<String>,
    /// True when the store was marked corrupt before this check.
    pub was_marked: bool,
}

/// At most this many problems are asked of SQLite and reported.
pub const MAX_PROBLEMS: usize = 100;

impl SqliteStore {
    /// Runs SQLite's integrity check (`quick_check` when `quick`), then marks the store
    /// corrupt if it failed, or removes an earlier mark if it passed. A file SQLite cannot
    /// read at all fails the check rather than make it an error.
    pub fn check_integrity(&self, quick: bool) -> Result<IntegrityReport> {
        let check = if quick {
            "quick_check"
        } else {
            "integrity_check"
        };
        let path = self.path().map(Path::to_path_buf);
        let was_marked = path.as_deref().and_then(corruption_mark).is_some();
        let problems = match self.run_check(check) {
            Ok(rows) => rows,
            Err(StoreError::Sqlite(e)) => vec![e.to_string()],
            Err(e) => return Err(e),
        };
        let ok = problems.len() == 1 && problems[0] == "ok";
        let problems = if ok { Vec::new() } else { problems };
        if let Some(path) = &path {
            if ok {
                if was_marked && self.read_only().is_none() {
                    std::fs::remove_file(mark_path(path)).map_err(|e| {
                        StoreError::Corrupt(format!(
                            "the store passed its check but its mark {} cannot be removed: {e}",
                            mark_path(path).display()
                        ))
                    })?;
                }
            } else {
                mark_corrupt(path, &problems);
            }
        }
        Ok(IntegrityReport {
            path: path.map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string()),
            check,
            ok,
            problems,
            was_marked,
        })
    }

    fn run_check(&self, check: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA {check}({MAX_PROBLEMS})"))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Passes `result` on; when it is SQLite finding the file malformed, marks the store
    /// corrupt first, so that the next write is refused before it touches anything.
    pub(crate) fn noting_corruption<T>(&self, result: Result<T>) -> Result<T> {
        if let (Err(e), Some(path)) = (&result, self.path())
            && e.is_corruption()
        {
            mark_corrupt(path, &[e.to_string()]);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_sits_beside_the_store() {
        assert_eq!(
            mark_path(Path::new("/var/lib/firewatch/fw.db")),
            Path::new("/var/lib/firewatch/fw.db.corrupt")
        );
    }

    #[test]
    fn a_sound_store_passes_and_loses_an_old_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        mark_corrupt(&path, &["*** in database main ***".into()]);
        assert!(corruption_mark(&path).is_some());
        let report = store.check_integrity(true).unwrap();
        assert!(report.ok && report.was_marked, "{report:?}");
        assert!(corruption_mark(&path).is_none());
    }
}
