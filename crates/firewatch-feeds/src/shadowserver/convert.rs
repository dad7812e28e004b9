//! The schema's conversion functions, with the results IntelMQ's versions give.

use serde_json::Value as Json;

use firewatch_core::harmonization::{self, FieldSpec};
use firewatch_core::sanitize;

/// A converted value: what IntelMQ's conversion returns (`None` means "no value").
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Converted<'a> {
    Str(&'a str),
    Owned(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Converted<'_> {
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Converted::Str(s) => Some(s),
            Converted::Owned(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn to_json(&self) -> Json {
        match self {
            Converted::Str(s) => Json::String((*s).to_owned()),
            Converted::Owned(s) => Json::String(s.clone()),
            Converted::Int(i) => Json::from(*i),
            Converted::Float(x) => Json::from(*x),
            Converted::Bool(b) => Json::Bool(*b),
        }
    }
}

/// A conversion function of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conversion {
    None,
    AddUtc,
    ConvertBool,
    ValidateToNone,
    ConvertInt,
    ConvertFloat,
    HttpHostAndUrl,
    InvalidateZero,
    ValidateIp,
    ValidateNetwork,
    ValidateFqdn,
    ConvertDate,
    ConvertDateUtc,
    ForceBase64,
    ExchangeTaxonomy,
    ExchangeType,
    ExchangeIdentifier,
    CategoryOrDetail,
    ExtractCve,
}

impl Conversion {
    pub(crate) fn from_name(name: &str) -> Option<Conversion> {
        Some(match name {
            "add_UTC_to_timestamp" => Conversion::AddUtc,
            "convert_bool" => Conversion::ConvertBool,
            "validate_to_none" => Conversion::ValidateToNone,
            "convert_int" => Conversion::ConvertInt,
            "convert_float" => Conversion::ConvertFloat,
            "convert_http_host_and_url" => Conversion::HttpHostAndUrl,
            "invalidate_zero" => Conversion::InvalidateZero,
            "validate_ip" => Conversion::ValidateIp,
            "validate_network" => Conversion::ValidateNetwork,
            "validate_fqdn" => Conversion::ValidateFqdn,
            "convert_date" => Conversion::ConvertDate,
            "convert_date_utc" => Conversion::ConvertDateUtc,
            "force_base64" => Conversion::ForceBase64,
            "scan_exchange_taxonomy" => Conversion::ExchangeTaxonomy,
            "scan_exchange_type" => Conversion::ExchangeType,
            "scan_exchange_identifier" => Conversion::ExchangeIdentifier,
            "category_or_detail" => Conversion::CategoryOrDetail,
            "extract_cve_from_tag" => Conversion::ExtractCve,
            _ => return None,
        })
    }

    /// Whether the function takes the whole row as a second argument.
    pub(crate) fn wants_row(self) -> bool {
        matches!(
            self,
            Conversion::HttpHostAndUrl | Conversion::CategoryOrDetail
        )
    }
}

/// Access to the other columns of the current row, by name (for the two-argument conversions).
pub(crate) trait RowLookup {
    /// The value of column `name`, or `None` when the header has no such column.
    fn column(&self, name: &str) -> Option<&str>;
}

/// Python's `str.isspace` for one character.
pub(crate) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `int(text)` for base-10 text, within `i64`.
pub(crate) fn py_int(text: &str) -> Result<i64, String> {
    let t = text.trim_matches(py_space);
    let err = || format!("{text:?} is not an integer");
    if t.contains('_') {
        let digits = t.trim_start_matches(['+', '-']);
        let ok = !digits.starts_with('_')
            && !digits.ends_with('_')
            && !digits.contains("__")
            && t.len() - digits.len() <= 1;
        if !ok {
            return Err(err());
        }
        return t.replace('_', "").parse::<i64>().map_err(|_| err());
    }
    t.parse::<i64>().map_err(|_| err())
}

/// Python's `float(text)`.
pub(crate) fn py_float(text: &str) -> Result<f64, String> {
    let t = text.trim_matches(py_space);
    let err = || format!("{text:?} is not a number");
    let cleaned;
    let t = if t.contains('_') {
        let b = t.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'_'
                && !(i > 0
                    && b[i - 1].is_ascii_digit()
                    && b.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                return Err(err());
            }
        }
        cleaned = t.replace('_', "");
        cleaned.as_str()
    } else {
        t
    };
    t.parse::<f64>().map_err(|_| err())
}

fn valid_for(spec: &FieldSpec, value: &str) -> bool {
    if spec.ty == harmonization::FieldType::IpAddress
        && spec.length.is_none()
        && spec.pattern.is_none()
    {
        // The same check without writing out the canonical address.
        return sanitize::is_ip_address(value.trim());
    }
    sanitize::sanitize_str(spec, value).is_ok()
}

fn spec(name: &'static str) -> &'static FieldSpec {
    harmonization::event_field(name).expect("the harmonization table has this field")
}

/// The specs the conversions validate with, looked up once.
fn specs() -> &'static [&'static FieldSpec; 4] {
    static SPECS: std::sync::OnceLock<[&'static FieldSpec; 4]> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| {
        [
            spec("source.ip"),
            spec("source.network"),
            spec("source.fqdn"),
            spec("time.source"),
        ]
    })
}

/// IntelMQ's `DateTime.sanitize` for the forms we understand (ISO 8601, `YYYY-MM-DD HH:MM:SS`
/// with or without an offset or ` UTC`); `None` when the text is no date-time we read.
fn sanitize_date(text: &str) -> Option<String> {
    match sanitize::sanitize_str(specs()[3], text) {
        Ok(firewatch_core::Value::Text(s)) => Some(s),
        _ => None,
    }
}

/// Applies `conversion` to `value`; `Err` is a conversion that raises in IntelMQ (the row fails).
pub(crate) fn apply<'a>(
    conversion: Conversion,
    value: &'a str,
    row: &dyn RowLookup,
) -> Result<Option<Converted<'a>>, String> {
    use Converted::*;
    Ok(match conversion {
        Conversion::None => Some(Str(value)),
        Conversion::AddUtc => Some(Owned(format!("{value} UTC"))),
        Conversion::ConvertBool => {
            let lower = value.to_lowercase();
            match lower.as_str() {
                "y" | "yes" | "true" | "enabled" | "1" => Some(Bool(true)),
                "n" | "no" | "false" | "disabled" | "0" => Some(Bool(false)),
                _ => None,
            }
        }
        Conversion::ValidateToNone => match value {
            "" | "0" | "unknown" => None,
            _ => Some(Str(value)),
        },
        Conversion::ConvertInt => {
            if value.is_empty() {
                None
            } else {
                Some(Int(py_int(value)?))
            }
        }
        Conversion::ConvertFloat => {
            if value.is_empty() {
                None
            } else {
                Some(Float(py_float(value)?))
            }
        }
        Conversion::InvalidateZero => {
            if value.is_empty() {
                None
            } else {
                match py_int(value)? {
                    0 => None,
                    i => Some(Int(i)),
                }
            }
        }
        Conversion::ValidateIp => {
            if value == "0.0.0.0" || value.contains('/') || !valid_for(specs()[0], value) {
                None
            } else {
                Some(Str(value))
            }
        }
        Conversion::ValidateNetwork => {
            if value.contains('/') && valid_for(specs()[1], value) {
                Some(Str(value))
            } else {
                None
            }
        }
        Conversion::ValidateFqdn => {
            if !value.is_empty() && valid_for(specs()[2], value) {
                Some(Str(value))
            } else {
                None
            }
        }
        Conversion::ConvertDate => sanitize_date(value).map(Owned),
        Conversion::ConvertDateUtc => sanitize_date(&format!("{value}+00:00")).map(Owned),
        Conversion::ForceBase64 => {
            if value.is_empty() {
                None
            } else if !value.is_ascii() {
                return Err(format!("{value:?} is not ASCII (force_base64)"));
            } else if sanitize::base64_decode(value).is_some() {
                Some(Str(value))
            } else {
                Some(Owned(sanitize::base64_encode(value.as_bytes())))
            }
        }
        Conversion::ExchangeTaxonomy => Some(Str(if value.contains("webshell") {
            "intrusions"
        } else {
            "vulnerable"
        })),
        Conversion::ExchangeType => Some(Str(if value.contains("webshell") {
            "system-compromise"
        } else {
            "vulnerable-system"
        })),
        Conversion::ExchangeIdentifier => Some(Str(if value.contains("webshell") {
            "exchange-server-webshell"
        } else {
            "vulnerable-exchange-server"
        })),
        Conversion::CategoryOrDetail => {
            let category = row.column("category").unwrap_or("");
            if category.is_empty() {
                Some(Owned(row.column("detail").unwrap_or("").to_owned()))
            } else {
                Some(Owned(category.to_owned()))
            }
        }
        Conversion::ExtractCve => {
            let mut cves: Vec<&str> = value.split(';').filter(|t| is_cve(t)).collect();
            if cves.is_empty() {
                None
            } else {
                cves.sort_unstable();
                cves.dedup();
                Some(Owned(cves.join(";")))
            }
        }
        Conversion::HttpHostAndUrl => http_host_and_url(value, row)
            .map(Owned)
            .or(Some(Str(value))),
    })
}

/// `^cve-[0-9]+-[0-9]+$` (Python's `$` also matches before a final newline).
fn is_cve(tag: &str) -> bool {
    let t = tag.strip_suffix('\n').unwrap_or(tag);
    let Some(rest) = t.strip_prefix("cve-") else {
        return false;
    };
    let Some((a, b)) = rest.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    digits(a) && digits(b)
}

/// Builds `application://host/path` from the host and URL columns; `None` keeps the value.
fn http_host_and_url(_value: &str, row: &dyn RowLookup) -> Option<String> {
    // A column counts when the header has it, even when this row leaves it empty.
    let mut host = row.column("cc_dns").unwrap_or("");
    for name in ["http_host", "hostname", "ip"] {
        if host.is_empty()
            && let Some(h) = row.column(name)
        {
            host = h;
        }
    }
    let path = match row.column("url") {
        Some(url) => url,
        None => row.column("http_url").unwrap_or(""),
    };
    if host.is_empty() || path.is_empty() {
        return None;
    }
    // Drop a leading request method and a trailing protocol version.
    let path = &path[path.find('/').unwrap_or(path.len())..];
    let path = cut_at_whitespace_tail(path);
    let application = if row.column("application") == Some("https") {
        "https"
    } else {
        "http"
    };
    Some(format!("{application}://{host}{path}"))
}

/// Python's `re.sub(r'\s.*$', '', s)`: cut at the first whitespace after which only one line
/// (optionally ended by a final newline) remains.
fn cut_at_whitespace_tail(s: &str) -> &str {
    for (i, c) in s.char_indices() {
        if py_space(c) {
            let rest = &s[i + c.len_utf8()..];
            let rest = rest.strip_suffix('\n').unwrap_or(rest);
            if !rest.contains('\n') {
                return &s[..i];
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(Vec<(&'static str, &'static str)>);
    impl RowLookup for Row {
        fn column(&self, name: &str) -> Option<&str> {
            self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        }
    }

    #[test]
    fn conversions() {
        let row = Row(vec![
            ("http_host", "example.com"),
            ("url", "GET /a/b?c HTTP/1.1"),
            ("detail", "d"),
            ("category", ""),
        ]);
        let c = |conv, v| apply(conv, v, &row).unwrap();
        assert_eq!(c(Conversion::InvalidateZero, "0"), None);
        assert_eq!(
            c(Conversion::InvalidateZero, " 7 "),
            Some(Converted::Int(7))
        );
        assert!(apply(Conversion::ConvertInt, "x", &row).is_err());
        assert_eq!(c(Conversion::ConvertBool, "Y"), Some(Converted::Bool(true)));
        assert_eq!(c(Conversion::ConvertBool, "maybe"), None);
        assert_eq!(c(Conversion::ValidateIp, "0.0.0.0"), None);
        assert_eq!(
            c(Conversion::ValidateIp, "192.0.2.1"),
            Some(Converted::Str("192.0.2.1"))
        );
        assert_eq!(
            c(
                Conversion::ExtractCve,
                "b;cve-2021-2;cve-2020-1;cve-2020-1;cve-x"
            ),
            Some(Converted::Owned("cve-2020-1;cve-2021-2".into()))
        );
        assert_eq!(
            c(Conversion::HttpHostAndUrl, "x"),
            Some(Converted::Owned("http://example.com/a/b?c".into()))
        );
        assert_eq!(
            c(Conversion::CategoryOrDetail, "x"),
            Some(Converted::Owned("d".into()))
        );
        assert_eq!(
            c(Conversion::ForceBase64, "abc"),
            Some(Converted::Owned("YWJj".into()))
        );
        assert_eq!(
            c(Conversion::ForceBase64, "YWJj"),
            Some(Converted::Str("YWJj"))
        );
        assert_eq!(py_float("1_0.5").unwrap(), 10.5);
        assert!(py_int("1__0").is_err());
    }
}
