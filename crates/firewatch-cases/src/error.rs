//! Why a case change was refused, or a stored case could not be read.

/// Why a change to a case was refused; each says why, and what would be accepted.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A name that is none of its kind's.
    #[error("`{value}` is not a {what} ({known})")]
    Unknown {
        /// What was expected (`party status`).
        what: &'static str,
        /// What was given.
        value: String,
        /// The names accepted.
        known: String,
    },
    /// A change that the case's state does not allow.
    #[error("case #{case}: {why}")]
    Refused {
        /// The case number (0 before it is stored).
        case: u64,
        /// Why, in words.
        why: String,
    },
    /// An observable whose value does not fit its kind.
    #[error("{kind} observable {value:?}: {why}")]
    BadObservable {
        /// The kind asked for.
        kind: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A stored case that does not replay: its timeline or rows are damaged.
    #[error("case #{case} as stored does not read back: {why}")]
    Corrupt {
        /// The case number.
        case: u64,
        /// What did not fit.
        why: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] firewatch_store::StoreError),
}
