//! The Reference Security Incident Taxonomy (RSIT) as IntelMQ applies it: every
//! `classification.type` and the `classification.taxonomy` it belongs to.
//!
//! Five types (`dga-domain`, `blacklist`, `malware`, `proxy`, `tor`) are IntelMQ additions that
//! map to `other`. A test checks this table against the shared `classification-types.tsv`.

/// Every known `classification.type` with its `classification.taxonomy`, grouped by taxonomy.
pub const CLASSIFICATION_TYPES: &[(&str, &str)] = &[
    ("spam", "abusive-content"),
    ("harmful-speech", "abusive-content"),
    ("violence", "abusive-content"),
    ("ddos", "availability"),
    ("dos", "availability"),
    ("outage", "availability"),
    ("sabotage", "availability"),
    ("misconfiguration", "availability"),
    ("copyright", "fraud"),
    ("masquerade", "fraud"),
    ("phishing", "fraud"),
    ("unauthorized-use-of-resources", "fraud"),
    (
        "unauthorised-information-access",
        "information-content-security",
    ),
    (
        "unauthorised-information-modification",
        "information-content-security",
    ),
    ("data-loss", "information-content-security"),
    ("data-leak", "information-content-security"),
    ("scanner", "information-gathering"),
    ("sniffing", "information-gathering"),
    ("social-engineering", "information-gathering"),
    ("brute-force", "intrusion-attempts"),
    ("exploit", "intrusion-attempts"),
    ("ids-alert", "intrusion-attempts"),
    ("application-compromise", "intrusions"),
    ("burglary", "intrusions"),
    ("privileged-account-compromise", "intrusions"),
    ("system-compromise", "intrusions"),
    ("unprivileged-account-compromise", "intrusions"),
    ("c2-server", "malicious-code"),
    ("dga-domain", "other"),
    ("infected-system", "malicious-code"),
    ("malware-configuration", "malicious-code"),
    ("malware-distribution", "malicious-code"),
    ("blacklist", "other"),
    ("other", "other"),
    ("undetermined", "other"),
    ("malware", "other"),
    ("proxy", "other"),
    ("tor", "other"),
    ("test", "test"),
    ("ddos-amplifier", "vulnerable"),
    ("information-disclosure", "vulnerable"),
    ("potentially-unwanted-accessible", "vulnerable"),
    ("vulnerable-system", "vulnerable"),
    ("weak-crypto", "vulnerable"),
];

/// Every valid `classification.taxonomy` value, sorted.
pub const TAXONOMIES: &[&str] = &[
    "abusive-content",
    "availability",
    "fraud",
    "information-content-security",
    "information-gathering",
    "intrusion-attempts",
    "intrusions",
    "malicious-code",
    "other",
    "test",
    "vulnerable",
];

/// The taxonomy a classification type belongs to, or `None` for an unknown type.
/// The type must already be lowercase.
///
/// ```
/// use firewatch_core::taxonomy::taxonomy_of;
/// assert_eq!(taxonomy_of("scanner"), Some("information-gathering"));
/// assert_eq!(taxonomy_of("no-such-type"), None);
/// ```
pub fn taxonomy_of(classification_type: &str) -> Option<&'static str> {
    CLASSIFICATION_TYPES
        .iter()
        .find(|(ty, _)| *ty == classification_type)
        .map(|(_, taxonomy)| *taxonomy)
}

/// Whether `value` is a known (lowercase) `classification.type`.
///
/// ```
/// assert!(firewatch_core::taxonomy::is_classification_type("brute-force"));
/// ```
pub fn is_classification_type(value: &str) -> bool {
    taxonomy_of(value).is_some()
}

/// Whether `value` is a known (lowercase) `classification.taxonomy`.
///
/// ```
/// assert!(firewatch_core::taxonomy::is_taxonomy("vulnerable"));
/// assert!(!firewatch_core::taxonomy::is_taxonomy("Vulnerable"));
/// ```
pub fn is_taxonomy(value: &str) -> bool {
    TAXONOMIES.binary_search(&value).is_ok()
}
