//! Our own table of IntelMQ's harmonized event fields: each field's name, value type and the
//! length / regular-expression rules IntelMQ attaches to it.
//!
//! The table is written by hand for Firewatch; a test compares it with IntelMQ 3.5.0's
//! `harmonization.conf` (kept outside the product, in the shared data directory) so that field
//! names, types and rules stay identical to IntelMQ's.

/// The value type of a harmonized field, named as in IntelMQ's harmonization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Feed accuracy: a float between 0 and 100.
    Accuracy,
    /// Autonomous system number, 1..=4294967295.
    Asn,
    /// Base64-encoded text (the `raw` field).
    Base64,
    /// A boolean.
    Boolean,
    /// One of the RSIT classification taxonomies (see [`crate::taxonomy`]).
    ClassificationTaxonomy,
    /// One of the RSIT / IntelMQ classification types (see [`crate::taxonomy`]).
    ClassificationType,
    /// A point in time, written as ISO 8601 in UTC with `+00:00`.
    DateTime,
    /// A fully qualified domain name, lowercase, without a trailing dot.
    Fqdn,
    /// A floating-point number.
    Float,
    /// A signed integer.
    Integer,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An IPv4 or IPv6 network in CIDR notation.
    IpNetwork,
    /// A string holding a JSON document (the `output` field).
    Json,
    /// A JSON object whose members are stored flat as `extra.*` keys.
    JsonDict,
    /// A string stored in lower case.
    LowercaseString,
    /// A regional internet registry: AFRINIC, APNIC, ARIN, LACNIC or RIPE.
    Registry,
    /// A non-empty string.
    String,
    /// A Traffic Light Protocol 2.0 level: CLEAR, GREEN, AMBER, AMBER+STRICT or RED. A `TLP:`
    /// prefix is dropped and TLP 1.0's WHITE is stored as CLEAR (Firewatch's choice: the
    /// harmonization file names the type but not its values).
    Tlp,
    /// A string stored in upper case.
    UppercaseString,
    /// A URL with a network location.
    Url,
}

impl FieldType {
    /// The type's name as IntelMQ's harmonization spells it (`"IPAddress"`, `"ASN"`, …).
    ///
    /// ```
    /// use firewatch_core::harmonization::FieldType;
    /// assert_eq!(FieldType::IpAddress.intelmq_name(), "IPAddress");
    /// ```
    pub fn intelmq_name(self) -> &'static str {
        match self {
            FieldType::Accuracy => "Accuracy",
            FieldType::Asn => "ASN",
            FieldType::Base64 => "Base64",
            FieldType::Boolean => "Boolean",
            FieldType::ClassificationTaxonomy => "ClassificationTaxonomy",
            FieldType::ClassificationType => "ClassificationType",
            FieldType::DateTime => "DateTime",
            FieldType::Fqdn => "FQDN",
            FieldType::Float => "Float",
            FieldType::Integer => "Integer",
            FieldType::IpAddress => "IPAddress",
            FieldType::IpNetwork => "IPNetwork",
            FieldType::Json => "JSON",
            FieldType::JsonDict => "JSONDict",
            FieldType::LowercaseString => "LowercaseString",
            FieldType::Registry => "Registry",
            FieldType::String => "String",
            FieldType::Tlp => "TLP",
            FieldType::UppercaseString => "UppercaseString",
            FieldType::Url => "URL",
        }
    }
}

/// A pattern rule on a field's (sanitised) value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// The value must match this regular expression (case-sensitive, searched, not anchored
    /// unless the expression anchors itself).
    Regex(&'static str),
    /// The value must match this regular expression ignoring case.
    IRegex(&'static str),
}

/// The specification of one harmonized event field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The dotted field name, e.g. `source.ip`.
    pub name: &'static str,
    /// The field's value type.
    pub ty: FieldType,
    /// Maximum length in characters of the value's text form, if IntelMQ limits it.
    pub length: Option<usize>,
    /// A pattern the value's text form must match, if IntelMQ sets one.
    pub pattern: Option<Pattern>,
}

const fn f(name: &'static str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        length: None,
        pattern: None,
    }
}

const fn fl(name: &'static str, ty: FieldType, length: usize) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        length: Some(length),
        pattern: None,
    }
}

const fn fr(
    name: &'static str,
    ty: FieldType,
    length: Option<usize>,
    re: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        length,
        pattern: Some(Pattern::Regex(re)),
    }
}

/// The pattern rules of the table (shared with the hand-written matchers in `sanitize`).
pub mod patterns {
    /// Printable ASCII only.
    pub const PRINTABLE: &str = "^[ -~]+$";
    /// Not ending in a dot.
    pub const NO_TRAILING_DOT: &str = r"^.*[^\.]$";
    /// Two letters or digits (country codes).
    pub const CC: &str = "^[a-zA-Z0-9]{2}$";
    /// Lowercase UUID as MISP writes it.
    pub const UUID: &str = "^[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}$";
    /// Same as [`UUID`], spelled as IntelMQ spells it for `misp.event_uuid`.
    pub const UUID_EVENT: &str = "^[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[0-9a-z]{12}$";
    /// IP protocol keywords (as in /etc/protocols) accepted for `protocol.transport`.
    pub const TRANSPORT: &str = concat!(
        "^(ip|icmp|igmp|ggp|ipencap|st2|tcp|cbt|egp|igp|bbn-rcc|nvp(-ii)?|pup|argus|emcon|xnet|",
        "chaos|udp|mux|dcn|hmp|prm|xns-idp|trunk-1|trunk-2|leaf-1|leaf-2|rdp|irtp|iso-tp4|netblt|",
        "mfe-nsp|merit-inp|sep|3pc|idpr|xtp|ddp|idpr-cmtp|tp\\+\\+|il|ipv6|sdrp|ipv6-route|",
        "ipv6-frag|idrp|rsvp|gre|mhrp|bna|esp|ah|i-nlsp|swipe|narp|mobile|tlsp|skip|ipv6-icmp|",
        "ipv6-nonxt|ipv6-opts|cftp|sat-expak|kryptolan|rvd|ippc|sat-mon|visa|ipcv|cpnx|cphb|wsn|",
        "pvp|br-sat-mon|sun-nd|wb-mon|wb-expak|iso-ip|vmtp|secure-vmtp|vines|ttp|nsfnet-igp|dgp|",
        "tcf|eigrp|ospf|sprite-rpc|larp|mtp|ax.25|ipip|micp|scc-sp|etherip|encap|gmtp|ifmp|pnni|",
        "pim|aris|scps|qnx|a/n|ipcomp|snp|compaq-peer|ipx-in-ip|vrrp|pgm|l2tp|ddx|iatp|st|srp|",
        "uti|smp|sm|ptp|isis|fire|crtp|crdup|sscopmce|iplt|sps|pipe|sctp|fc|divert)$"
    );
    /// `event_hash`: upper-case hex digits, dots and slashes.
    pub const EVENT_HASH: &str = "^[A-F0-9./]+$";
    /// `severity` levels.
    pub const SEVERITY: &str = "^(critical|high|medium|low|info|undefined)$";
}

use patterns::*;

use FieldType as T;

/// Every harmonized event field, sorted by name.
pub const EVENT_FIELDS: &[FieldSpec] = &[
    f("classification.identifier", T::String),
    fl("classification.taxonomy", T::ClassificationTaxonomy, 100),
    f("classification.type", T::ClassificationType),
    f("comment", T::String),
    f("constituency", T::String),
    f("destination.abuse_contact", T::LowercaseString),
    f("destination.account", T::String),
    f("destination.allocated", T::DateTime),
    f("destination.as_name", T::String),
    f("destination.asn", T::Asn),
    f("destination.domain_suffix", T::Fqdn),
    fr("destination.fqdn", T::Fqdn, None, NO_TRAILING_DOT),
    fr(
        "destination.geolocation.cc",
        T::UppercaseString,
        Some(2),
        CC,
    ),
    f("destination.geolocation.city", T::String),
    f("destination.geolocation.country", T::String),
    f("destination.geolocation.latitude", T::Float),
    f("destination.geolocation.longitude", T::Float),
    f("destination.geolocation.region", T::String),
    f("destination.geolocation.state", T::String),
    f("destination.ip", T::IpAddress),
    f("destination.local_hostname", T::String),
    f("destination.local_ip", T::IpAddress),
    f("destination.network", T::IpNetwork),
    f("destination.port", T::Integer),
    fl("destination.registry", T::Registry, 7),
    fr("destination.reverse_dns", T::Fqdn, None, NO_TRAILING_DOT),
    f("destination.tor_node", T::Boolean),
    f("destination.url", T::Url),
    f("destination.urlpath", T::String),
    f("event_description.target", T::String),
    f("event_description.text", T::String),
    f("event_description.url", T::Url),
    fr("event_hash", T::UppercaseString, Some(40), EVENT_HASH),
    f("extra", T::JsonDict),
    f("feed.accuracy", T::Accuracy),
    fl("feed.code", T::String, 100),
    f("feed.documentation", T::String),
    f("feed.name", T::String),
    f("feed.provider", T::String),
    f("feed.url", T::Url),
    fr("malware.hash.md5", T::String, Some(200), PRINTABLE),
    fr("malware.hash.sha1", T::String, Some(200), PRINTABLE),
    fr("malware.hash.sha256", T::String, Some(200), PRINTABLE),
    fr("malware.name", T::LowercaseString, None, PRINTABLE),
    fr("malware.version", T::String, None, PRINTABLE),
    fr("misp.attribute_uuid", T::LowercaseString, Some(36), UUID),
    fr("misp.event_uuid", T::LowercaseString, Some(36), UUID_EVENT),
    f("output", T::Json),
    f("product.full_name", T::String),
    f("product.name", T::LowercaseString),
    f("product.vendor", T::LowercaseString),
    f("product.version", T::LowercaseString),
    f("product.vulnerabilities", T::LowercaseString),
    fr(
        "protocol.application",
        T::LowercaseString,
        Some(100),
        PRINTABLE,
    ),
    FieldSpec {
        name: "protocol.transport",
        ty: T::LowercaseString,
        length: Some(11),
        pattern: Some(Pattern::IRegex(TRANSPORT)),
    },
    f("raw", T::Base64),
    f("rtir_id", T::Integer),
    f("screenshot_url", T::Url),
    fr("severity", T::LowercaseString, Some(10), SEVERITY),
    f("source.abuse_contact", T::LowercaseString),
    f("source.account", T::String),
    f("source.allocated", T::DateTime),
    f("source.as_name", T::String),
    f("source.asn", T::Asn),
    f("source.domain_suffix", T::Fqdn),
    fr("source.fqdn", T::Fqdn, None, NO_TRAILING_DOT),
    fr("source.geolocation.cc", T::UppercaseString, Some(2), CC),
    f("source.geolocation.city", T::String),
    f("source.geolocation.country", T::String),
    fr(
        "source.geolocation.cymru_cc",
        T::UppercaseString,
        Some(2),
        CC,
    ),
    fr(
        "source.geolocation.geoip_cc",
        T::UppercaseString,
        Some(2),
        CC,
    ),
    f("source.geolocation.latitude", T::Float),
    f("source.geolocation.longitude", T::Float),
    f("source.geolocation.region", T::String),
    f("source.geolocation.state", T::String),
    f("source.ip", T::IpAddress),
    f("source.local_hostname", T::String),
    f("source.local_ip", T::IpAddress),
    f("source.network", T::IpNetwork),
    fl("source.port", T::Integer, 5),
    fl("source.registry", T::Registry, 7),
    fr("source.reverse_dns", T::Fqdn, None, NO_TRAILING_DOT),
    f("source.tor_node", T::Boolean),
    f("source.url", T::Url),
    f("source.urlpath", T::String),
    f("status", T::String),
    f("time.observation", T::DateTime),
    f("time.source", T::DateTime),
    f("tlp", T::Tlp),
];

/// Looks up the specification of an event field by its exact name.
///
/// `extra.*` sub-keys are not listed individually; use [`is_extra_key`] for them.
///
/// ```
/// use firewatch_core::harmonization::{event_field, FieldType};
/// assert_eq!(event_field("source.asn").unwrap().ty, FieldType::Asn);
/// assert!(event_field("source.nonsense").is_none());
/// ```
pub fn event_field(name: &str) -> Option<&'static FieldSpec> {
    EVENT_FIELDS
        .binary_search_by(|spec| spec.name.cmp(name))
        .ok()
        .map(|i| &EVENT_FIELDS[i])
}

/// Whether `name` is a well-formed `extra.*` key: `extra.` followed by one or more dot-separated
/// parts of lowercase ASCII letters, digits and underscores.
///
/// ```
/// use firewatch_core::harmonization::is_extra_key;
/// assert!(is_extra_key("extra.os.name"));
/// assert!(!is_extra_key("extra."));
/// assert!(!is_extra_key("extra.Bad Key"));
/// ```
pub fn is_extra_key(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("extra.") else {
        return false;
    };
    rest.split('.').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}
