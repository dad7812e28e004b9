//! Per-type sanitisation and validation of raw values, following IntelMQ's harmonization types.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use ipnet::IpNet;
use serde_json::Value as Json;

use crate::harmonization::{FieldSpec, FieldType, Pattern};
use crate::taxonomy;
use crate::value::Value;

/// Where a raw value comes from: a parser (`set`, sanitise everything) or an IntelMQ JSON line
/// (already harmonized: `raw` is already Base64).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Raw,
    Harmonized,
}

/// Values IntelMQ treats as "no value": the field is simply not set.
pub fn is_absent(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => matches!(s.trim(), "" | "-" | "N/A"),
        _ => false,
    }
}

/// Sanitises `value` for a field of spec `spec` and validates the result, including the field's
/// length and pattern rules. The error is the reason, phrased to follow the value.
pub fn sanitize(spec: &FieldSpec, value: &Json, origin: Origin) -> Result<Value, String> {
    if let Json::String(s) = value
        && !(spec.ty == FieldType::Base64 && origin == Origin::Harmonized)
    {
        return sanitize_str(spec, s);
    }
    let out = sanitize_type(spec.ty, value, origin)?;
    check_rules(spec, &out)?;
    Ok(out)
}

/// [`sanitize`] of a JSON string from a parser (`Origin::Raw`), without building the JSON value:
/// the same result as `sanitize(spec, &Json::String(value.into()), Origin::Raw)`.
pub fn sanitize_str(spec: &FieldSpec, value: &str) -> Result<Value, String> {
    let out = sanitize_text_type(spec.ty, value)?;
    check_rules(spec, &out)?;
    Ok(out)
}

/// The field's length and pattern rules, applied to the value's text form.
fn check_rules(spec: &FieldSpec, out: &Value) -> Result<(), String> {
    if spec.length.is_none() && spec.pattern.is_none() {
        return Ok(());
    }
    let text = match (out, spec.pattern) {
        (Value::Integer(i), None) => {
            // Only the length matters: count the digits without writing them out.
            let max = spec.length.unwrap_or(usize::MAX);
            return if decimal_len(*i) > max {
                Err(format!("is too long (at most {max} characters)"))
            } else {
                Ok(())
            };
        }
        _ => text_form(out),
    };
    if let Some(max) = spec.length
        && text.chars().count() > max
    {
        return Err(format!("is too long (at most {max} characters)"));
    }
    if let Some(pattern) = spec.pattern
        && !pattern_matches(pattern, &text)
    {
        let re = match pattern {
            Pattern::Regex(re) | Pattern::IRegex(re) => re,
        };
        return Err(if re.len() > 60 {
            "is not an allowed value".to_owned()
        } else {
            format!("does not match {re}")
        });
    }
    Ok(())
}

/// The number of characters of `i` written in decimal.
fn decimal_len(i: i64) -> usize {
    let mut n = usize::from(i < 0);
    let mut u = i.unsigned_abs();
    loop {
        n += 1;
        u /= 10;
        if u == 0 {
            return n;
        }
    }
}

/// The text form IntelMQ applies length and regex rules to (`str(value)`).
fn text_form(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Text(s) => Cow::Borrowed(s),
        Value::Integer(i) => Cow::Owned(i.to_string()),
        Value::Float(x) => Cow::Owned(x.to_string()),
        Value::Boolean(true) => Cow::Borrowed("True"),
        Value::Boolean(false) => Cow::Borrowed("False"),
        Value::Json(j) => Cow::Owned(j.to_string()),
    }
}

fn pattern_matches(pattern: Pattern, text: &str) -> bool {
    let (re, icase) = match pattern {
        Pattern::Regex(re) => (re, false),
        Pattern::IRegex(re) => (re, true),
    };
    if icase && std::ptr::eq(re, crate::harmonization::patterns::TRANSPORT) {
        return is_transport(text);
    }
    match fast_match(re, icase, text) {
        Some(matched) => matched,
        None => regex_matches(re, icase, text),
    }
}

fn regex_matches(re: &'static str, icase: bool, text: &str) -> bool {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<(&'static str, bool), regex_lite::Regex>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let regex = cache.entry((re, icase)).or_insert_with(|| {
        regex_lite::RegexBuilder::new(re)
            .case_insensitive(icase)
            .build()
            .expect("harmonization table patterns are valid regular expressions")
    });
    regex.is_match(text)
}

/// Hand-written matchers for the harmonization table's patterns, with regex-lite's semantics
/// (`$` is the end of the text, `.` is any character but `\n`, case folding is ASCII only).
/// `None` for a pattern without one (then the regular expression decides).
fn fast_match(re: &str, icase: bool, text: &str) -> Option<bool> {
    use crate::harmonization::patterns::*;
    let b = text.as_bytes();
    Some(match (re, icase) {
        (PRINTABLE, false) => !b.is_empty() && b.iter().all(|&c| (b' '..=b'~').contains(&c)),
        (NO_TRAILING_DOT, false) => match text.chars().next_back() {
            None => false,
            Some(last) => last != '.' && !b[..b.len() - last.len_utf8()].contains(&b'\n'),
        },
        (CC, false) => b.len() == 2 && b.iter().all(u8::is_ascii_alphanumeric),
        (UUID | UUID_EVENT, false) => {
            b.len() == 36
                && b.iter().enumerate().all(|(i, &c)| {
                    if matches!(i, 8 | 13 | 18 | 23) {
                        c == b'-'
                    } else {
                        c.is_ascii_lowercase() || c.is_ascii_digit()
                    }
                })
        }
        (EVENT_HASH, false) => {
            !b.is_empty()
                && b.iter()
                    .all(|&c| matches!(c, b'A'..=b'F' | b'0'..=b'9' | b'.' | b'/'))
        }
        (SEVERITY, false) => matches!(
            text,
            "critical" | "high" | "medium" | "low" | "info" | "undefined"
        ),
        (TRANSPORT, true) => is_transport(text),
        _ => return None,
    })
}

/// [`crate::harmonization::patterns::TRANSPORT`], case-insensitively (ASCII).
fn is_transport(text: &str) -> bool {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        let inner = crate::harmonization::patterns::TRANSPORT
            .strip_prefix("^(")
            .and_then(|s| s.strip_suffix(")$"))
            .expect("TRANSPORT is ^(...)$");
        let mut words: Vec<&'static str> = inner
            .split('|')
            .flat_map(|w| match w {
                "nvp(-ii)?" => vec!["nvp", "nvp-ii"],
                "tp\\+\\+" => vec!["tp++"],
                "ax.25" => vec![], // `.` is any character: checked below
                w => {
                    debug_assert!(
                        w.bytes().all(|c| c.is_ascii_lowercase()
                            || c.is_ascii_digit()
                            || c == b'-'
                            || c == b'/'),
                        "TRANSPORT word {w} needs a special case"
                    );
                    vec![w]
                }
            })
            .collect();
        words.sort_unstable();
        words
    });
    if text.len() <= 12 {
        let mut buf = [0u8; 12];
        let lower = &mut buf[..text.len()];
        lower.copy_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        if words.binary_search_by(|w| w.as_bytes().cmp(lower)).is_ok() {
            return true;
        }
    }
    // `ax.25`: the dot matches any one character except a newline.
    let b = text.as_bytes();
    b.len() >= 5
        && b[..2].eq_ignore_ascii_case(b"ax")
        && &b[b.len() - 2..] == b"25"
        && text.get(2..text.len() - 2).is_some_and(|mid| {
            let mut chars = mid.chars();
            matches!((chars.next(), chars.next()), (Some(c), None) if c != '\n')
        })
}

/// A string, or a number written as text (IntelMQ's `str(value)`), trimmed.
fn text(value: &Json) -> Result<String, String> {
    match value {
        Json::String(s) => Ok(s.trim().to_owned()),
        Json::Number(n) => Ok(n.to_string()),
        _ => Err("is not a string".to_owned()),
    }
}

fn non_empty(s: String) -> Result<String, String> {
    if s.is_empty() {
        Err("is empty".to_owned())
    } else {
        Ok(s)
    }
}

fn sanitize_type(ty: FieldType, value: &Json, origin: Origin) -> Result<Value, String> {
    match ty {
        FieldType::String => Ok(Value::Text(non_empty(text(value)?)?)),
        FieldType::LowercaseString => Ok(Value::Text(non_empty(lowercase(&text(value)?))?)),
        FieldType::UppercaseString => Ok(Value::Text(non_empty(uppercase(&text(value)?))?)),
        FieldType::Integer => integer(value).map(Value::Integer),
        FieldType::Float => float(value).map(Value::Float),
        FieldType::Boolean => boolean(value).map(Value::Boolean),
        FieldType::Accuracy => accuracy(value).map(Value::Float),
        FieldType::Asn => asn(value).map(Value::Integer),
        FieldType::IpAddress => ip_address(&text(value)?).map(Value::Text),
        FieldType::IpNetwork => ip_network(&text(value)?).map(Value::Text),
        FieldType::Fqdn => fqdn(&text(value)?).map(Value::Text),
        FieldType::Url => url(&text(value)?).map(Value::Text),
        FieldType::DateTime => date_time(value).map(Value::Text),
        FieldType::Registry => registry(&text(value)?).map(Value::Text),
        FieldType::Tlp => tlp(&text(value)?).map(Value::Text),
        FieldType::ClassificationType => {
            let s = text(value)?.to_lowercase();
            if taxonomy::is_classification_type(&s) {
                Ok(Value::Text(s))
            } else {
                Err("is not a known classification type (RSIT)".to_owned())
            }
        }
        FieldType::ClassificationTaxonomy => {
            let s = text(value)?.to_lowercase();
            if taxonomy::is_taxonomy(&s) {
                Ok(Value::Text(s))
            } else {
                Err("is not a known classification taxonomy (RSIT)".to_owned())
            }
        }
        FieldType::Base64 => base64_field(value, origin).map(Value::Text),
        FieldType::Json => match value {
            Json::String(s) => match serde_json::from_str::<Json>(s) {
                Ok(_) => Ok(Value::Text(s.clone())),
                Err(_) => Err("is not a JSON document".to_owned()),
            },
            other => Ok(Value::Text(other.to_string())),
        },
        // `extra` itself is expanded into `extra.*` keys by the event before we get here.
        FieldType::JsonDict => Ok(Value::Json(value.clone())),
    }
}

/// [`sanitize_type`] for a JSON string from a parser (`Origin::Raw`).
fn sanitize_text_type(ty: FieldType, s: &str) -> Result<Value, String> {
    match ty {
        FieldType::String => Ok(Value::Text(non_empty(s.trim().to_owned())?)),
        FieldType::LowercaseString => Ok(Value::Text(non_empty(lowercase(s.trim()))?)),
        FieldType::UppercaseString => Ok(Value::Text(non_empty(uppercase(s.trim()))?)),
        FieldType::Integer => s
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| "is not an integer".to_owned()),
        FieldType::Float => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::Float)
            .ok_or_else(|| "is not a finite number".to_owned()),
        FieldType::IpAddress => ip_address(s.trim()).map(Value::Text),
        FieldType::IpNetwork => ip_network(s.trim()).map(Value::Text),
        FieldType::Fqdn => fqdn(s.trim()).map(Value::Text),
        FieldType::Url => url(s.trim()).map(Value::Text),
        FieldType::DateTime => date_time_str(s).map(Value::Text),
        FieldType::Registry => registry(s.trim()).map(Value::Text),
        FieldType::Tlp => tlp(s.trim()).map(Value::Text),
        FieldType::Base64 => Ok(Value::Text(base64_encode(s.as_bytes()))),
        FieldType::Json => match serde_json::from_str::<Json>(s) {
            Ok(_) => Ok(Value::Text(s.to_owned())),
            Err(_) => Err("is not a JSON document".to_owned()),
        },
        FieldType::Boolean
        | FieldType::Accuracy
        | FieldType::Asn
        | FieldType::ClassificationType
        | FieldType::ClassificationTaxonomy
        | FieldType::JsonDict => sanitize_type(ty, &Json::String(s.to_owned()), Origin::Raw),
    }
}

/// `str::to_lowercase`, without the character-by-character walk for ASCII text.
fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// `str::to_uppercase`, without the character-by-character walk for ASCII text.
fn uppercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        s.to_uppercase()
    }
}

fn integer(value: &Json) -> Result<i64, String> {
    const NOT: &str = "is not an integer";
    match value {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if let Some(x) = n.as_f64()
                && x.fract() == 0.0
                && x.abs() < 9.2e18
            {
                Ok(x as i64)
            } else {
                Err(NOT.to_owned())
            }
        }
        Json::String(s) => s.trim().parse::<i64>().map_err(|_| NOT.to_owned()),
        _ => Err(NOT.to_owned()),
    }
}

fn float(value: &Json) -> Result<f64, String> {
    const NOT: &str = "is not a finite number";
    let x = match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    x.filter(|x| x.is_finite()).ok_or_else(|| NOT.to_owned())
}

fn boolean(value: &Json) -> Result<bool, String> {
    match value {
        Json::Bool(b) => Ok(*b),
        Json::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Json::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("is not a boolean (true or false)".to_owned()),
    }
}

fn accuracy(value: &Json) -> Result<f64, String> {
    let x = match value {
        Json::Bool(b) => {
            if *b {
                100.0
            } else {
                0.0
            }
        }
        other => float(other)?,
    };
    if (0.0..=100.0).contains(&x) {
        Ok(x)
    } else {
        Err("is not a valid accuracy (must be 0..100)".to_owned())
    }
}

fn asn(value: &Json) -> Result<i64, String> {
    const NOT: &str = "is not a valid ASN (must be 1..4294967295)";
    let n = match value {
        Json::String(s) => {
            let s = s.trim();
            let digits = match s.get(..2) {
                Some(p) if p.eq_ignore_ascii_case("as") => &s[2..],
                _ => s,
            };
            digits.trim().parse::<i64>().map_err(|_| NOT.to_owned())?
        }
        other => integer(other).map_err(|_| NOT.to_owned())?,
    };
    if (1..=4_294_967_295).contains(&n) {
        Ok(n)
    } else {
        Err(NOT.to_owned())
    }
}

fn ip_address(s: &str) -> Result<String, String> {
    // Dotted-quad IPv4 is already canonical when it parses (leading zeros, signs and other
    // spellings are rejected by the parser).
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.parse::<Ipv4Addr>().is_ok() {
        return Ok(s.to_owned());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    // A single-address network ("192.0.2.1/32") is an address.
    if let Ok(net) = s.parse::<IpNet>()
        && net.prefix_len() == net.max_prefix_len()
    {
        return Ok(net.addr().to_string());
    }
    Err("is not a valid IP address".to_owned())
}

/// Whether [`ip_address`] accepts `s`, without writing out the address.
pub fn is_ip_address(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
        || s.parse::<IpNet>()
            .is_ok_and(|net| net.prefix_len() == net.max_prefix_len())
}

fn ip_network(s: &str) -> Result<String, String> {
    let net = match s.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => match s.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => return Err("is not a valid IP network".to_owned()),
        },
    };
    if net.trunc() != net {
        return Err("is not a valid IP network (host bits set)".to_owned());
    }
    Ok(net.to_string())
}

fn fqdn(s: &str) -> Result<String, String> {
    const NOT: &str = "is not a valid domain name";
    let trimmed = s.trim_end_matches('.');
    if trimmed.is_ascii() {
        // ASCII: the same rules on bytes (letters, digits, `-` and `_` are never whitespace or
        // control characters); only an all-digits-and-dots name can be an IP address.
        let b = trimmed.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 253
            && b.split(|&c| c == b'.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .iter()
                        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            })
            && !(b.iter().all(|&c| c.is_ascii_digit() || c == b'.')
                && trimmed.parse::<IpAddr>().is_ok());
        return if ok {
            Ok(trimmed.to_ascii_lowercase())
        } else {
            Err(NOT.to_owned())
        };
    }
    let name = trimmed.to_lowercase();
    if name.is_empty() || name.parse::<IpAddr>().is_ok() || name.chars().count() > 253 {
        return Err(NOT.to_owned());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || !c.is_ascii())
            && !label.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if name.split('.').all(label_ok) {
        Ok(name)
    } else {
        Err(NOT.to_owned())
    }
}

fn url(s: &str) -> Result<String, String> {
    const NOT: &str = "is not a valid URL";
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(NOT.to_owned());
    }
    let defanged = if let Some(rest) = s.strip_prefix("hxxp://") {
        format!("http://{rest}")
    } else if let Some(rest) = s.strip_prefix("hxxps://") {
        format!("https://{rest}")
    } else {
        s.to_owned()
    };
    let full = if defanged.contains("://") {
        defanged
    } else {
        format!("http://{defanged}")
    };
    let (scheme, rest) = full.split_once("://").ok_or_else(|| NOT.to_owned())?;
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
    if scheme_ok && !netloc.is_empty() {
        Ok(full)
    } else {
        Err(NOT.to_owned())
    }
}

fn date_time(value: &Json) -> Result<String, String> {
    match value {
        Json::String(s) => date_time_str(s),
        _ => Err("is not a valid date-time".to_owned()),
    }
}

fn date_time_str(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Some(out) = fast_date_time(s) {
        return Ok(out);
    }
    slow_date_time(s)
}

/// The common spellings `YYYY-MM-DD[ T]HH:MM:SS` followed by nothing, `Z`, ` UTC`, ` GMT` or
/// `+00:00`, written out directly. `None` leaves anything else (and anything doubtful, such as
/// year 9999 near the end of the representable range) to [`slow_date_time`].
fn fast_date_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(&b[19..], b"" | b"Z" | b" UTC" | b" GMT" | b"+00:00") {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=9998).contains(&year)
        || day == 0
        || day > days
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut out = String::with_capacity(25);
    out.push_str(&s[..10]);
    out.push('T');
    out.push_str(&s[11..19]);
    out.push_str("+00:00");
    Some(out)
}

fn slow_date_time(s: &str) -> Result<String, String> {
    const NOT: &str = "is not a valid date-time";
    let s = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix(" GMT"))
        .map(|base| format!("{base}Z"))
        .unwrap_or_else(|| s.to_owned());
    let ts = if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        ts
    } else if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        // No offset given: IntelMQ assumes UTC.
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| NOT.to_owned())?
            .timestamp()
    } else {
        return Err(NOT.to_owned());
    };
    format_date_time(ts).ok_or_else(|| NOT.to_owned())
}

/// ISO 8601 in UTC as Python's `datetime.isoformat()` writes it: `+00:00`, microseconds only
/// when not zero. Years before 1 are not representable in Python and are rejected.
pub fn format_date_time(ts: jiff::Timestamp) -> Option<String> {
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    if dt.year() < 1 {
        return None;
    }
    let micros = dt.subsec_nanosecond() / 1000;
    let base = dt.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    Some(if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    })
}

fn registry(s: &str) -> Result<String, String> {
    let upper = s.to_uppercase();
    let canonical = match upper.as_str() {
        "RIPENCC" | "RIPE-NCC" => "RIPE",
        other => other,
    };
    match canonical {
        "AFRINIC" | "APNIC" | "ARIN" | "LACNIC" | "RIPE" => Ok(canonical.to_owned()),
        _ => Err("is not a known registry (AFRINIC, APNIC, ARIN, LACNIC, RIPE)".to_owned()),
    }
}

fn tlp(s: &str) -> Result<String, String> {
    let upper = s.to_uppercase();
    let level = upper
        .strip_prefix("TLP:")
        .or_else(|| upper.strip_prefix("TLP "))
        .unwrap_or(&upper)
        .trim();
    match level {
        "WHITE" | "CLEAR" => Ok("CLEAR".to_owned()),
        "GREEN" | "AMBER" | "AMBER+STRICT" | "RED" => Ok(level.to_owned()),
        _ => Err("is not a TLP level (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)".to_owned()),
    }
}

fn base64_field(value: &Json, origin: Origin) -> Result<String, String> {
    let Json::String(s) = value else {
        return Err("is not a string".to_owned());
    };
    match origin {
        Origin::Raw => Ok(base64_encode(s.as_bytes())),
        Origin::Harmonized => {
            let trimmed = s.trim();
            if base64_decode(trimmed).is_some() {
                Ok(trimmed.to_owned())
            } else {
                Err("is not valid Base64".to_owned())
            }
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    base64_encode_into(&mut out, bytes);
    String::from_utf8(out).expect("Base64 is ASCII")
}

/// Appends the standard Base64 (with padding) of `bytes` to `out`.
pub fn base64_encode_into(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            B64[(n >> 18) as usize & 63],
            B64[(n >> 12) as usize & 63],
            B64[(n >> 6) as usize & 63],
            B64[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                B64[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
}

/// Decodes standard Base64 (padding required, as Python's `b64decode` wants it).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index + 1 == chunks;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            let v = B64.iter().position(|&x| x == c)? as u32;
            n = (n << 6) | v;
        }
        n <<= 6 * pad as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harmonization::EVENT_FIELDS;

    /// Strings around each pattern's edge: the hand-written matchers must agree with the
    /// regular expressions on all of them.
    fn samples() -> Vec<String> {
        let mut out: Vec<String> = [
            "",
            "a",
            ".",
            "a.",
            ".a",
            "a\n",
            "\na",
            "a\nb",
            "a\n.",
            "ab",
            "AB",
            "a1",
            "a-",
            "abc",
            "é",
            "éa",
            "aé.",
            "tcp",
            "TCP",
            "Tcp",
            "udp ",
            " udp",
            "nvp",
            "nvp-ii",
            "NVP-II",
            "nvp-i",
            "tp++",
            "TP++",
            "tp+",
            "ax.25",
            "AX.25",
            "axx25",
            "ax\n25",
            "axé25",
            "ax25",
            "ax..25",
            "a/n",
            "A/N",
            "ipv6-icmp",
            "st",
            "st2",
            "st3",
            "divert",
            "fc",
            "critical",
            "high",
            "High",
            "info",
            "undefined",
            "low\n",
            "0123456789ABCDEF./",
            "abc/DEF",
            "A.B/C",
            "~",
            " ",
            "\t",
            "\x7f",
            "a b ~",
            "0123abcd-0123-4567-89ab-0123456789ab",
            "0123ABCD-0123-4567-89ab-0123456789ab",
            "0123abcd-0123-4567-89ab-0123456789a",
            "0123abcd_0123-4567-89ab-0123456789ab",
            "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
            "example.com",
            "example.com.",
            "x.y\n",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let transport = crate::harmonization::patterns::TRANSPORT;
        for word in transport[2..transport.len() - 2].split('|') {
            out.push(word.to_owned());
            out.push(word.to_uppercase());
            out.push(format!("{word}x"));
            out.push(format!("x{word}"));
        }
        out
    }

    #[test]
    fn hand_written_matchers_agree_with_the_regexes() {
        let mut checked = 0;
        for spec in EVENT_FIELDS {
            let Some(pattern) = spec.pattern else {
                continue;
            };
            let (re, icase) = match pattern {
                Pattern::Regex(re) => (re, false),
                Pattern::IRegex(re) => (re, true),
            };
            assert!(
                fast_match(re, icase, "").is_some(),
                "{}: no hand-written matcher",
                spec.name
            );
            for text in samples() {
                assert_eq!(
                    fast_match(re, icase, &text),
                    Some(regex_matches(re, icase, &text)),
                    "{} on {text:?}",
                    spec.name
                );
                checked += 1;
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn fast_date_time_agrees_with_the_general_parser() {
        let mut forms = Vec::new();
        for date in [
            "2026-01-01",
            "2024-02-29",
            "2023-02-29",
            "2100-02-29",
            "2000-02-29",
            "0001-01-01",
            "0000-01-01",
            "9998-12-31",
            "9999-12-30",
            "9999-12-31",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-04-30",
            "2026-12-00",
            "2026-1-01",
            "20a6-01-01",
        ] {
            for time in [
                "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1:00:00",
            ] {
                for sep in [" ", "T", "t", "_"] {
                    for suffix in ["", "Z", " UTC", " GMT", "+00:00", "+01:00", " utc", ".5"] {
                        forms.push(format!("{date}{sep}{time}{suffix}"));
                    }
                }
            }
        }
        let mut fast = 0;
        for s in &forms {
            if let Some(out) = fast_date_time(s) {
                fast += 1;
                assert_eq!(Ok(out), slow_date_time(s), "{s:?}");
            }
            assert_eq!(date_time_str(s), slow_date_time(s), "{s:?}");
        }
        assert!(fast > 100);
    }

    #[test]
    fn ipv4_fast_path_is_canonical() {
        for s in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.04",
            "1..2.3",
            "1.2.3.4/32",
            "::ffff:1.2.3.4",
        ] {
            let general = s
                .parse::<IpAddr>()
                .map(|ip| ip.to_string())
                .ok()
                .or_else(|| {
                    s.parse::<IpNet>()
                        .ok()
                        .filter(|n| n.prefix_len() == n.max_prefix_len())
                        .map(|n| n.addr().to_string())
                });
            assert_eq!(ip_address(s).ok(), general, "{s:?}");
        }
    }

    #[test]
    fn base64_round_trips() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for n in 0..40 {
            let encoded = base64_encode(&data[..n]);
            assert_eq!(encoded.len(), n.div_ceil(3) * 4);
            assert_eq!(base64_decode(&encoded).unwrap(), &data[..n]);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn text_path_matches_json_path() {
        let values = [
            " Example.COM. ",
            "AS64496",
            "0",
            "-5",
            "1e3",
            "12.5",
            "true",
            " FALSE ",
            "RIPE-NCC",
            "tlp:amber",
            "scanner",
            "{\"a\": 1}",
            "192.0.2.1/24",
            "2001:DB8::1",
            "http://x/y",
            "2026-01-01 00:00:00 UTC",
            "ÄÖÜ",
            "",
            "  ",
            "77777",
        ];
        for spec in EVENT_FIELDS {
            if spec.ty == FieldType::JsonDict {
                continue;
            }
            for v in values {
                assert_eq!(
                    sanitize_str(spec, v),
                    sanitize_type(spec.ty, &Json::String(v.to_owned()), Origin::Raw).and_then(
                        |out| {
                            check_rules(spec, &out)?;
                            Ok(out)
                        }
                    ),
                    "{} {v:?}",
                    spec.name
                );
            }
        }
    }
}

#[cfg(test)]
mod fqdn_tests {
    /// The general rule, as written before the ASCII fast path.
    fn reference(s: &str) -> Option<String> {
        let name = s.trim_end_matches('.').to_lowercase();
        if name.is_empty() || name.parse::<std::net::IpAddr>().is_ok() || name.chars().count() > 253
        {
            return None;
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || !c.is_ascii())
                && !label.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        name.split('.').all(label_ok).then_some(name)
    }

    #[test]
    fn ascii_fast_path_agrees() {
        let long_label = "a".repeat(64);
        let long_name = format!("{}.com", ["abcdefghi"; 26].join("."));
        for s in [
            "Example.COM.",
            "example.com",
            "a..b",
            ".a",
            "a.",
            "..",
            "",
            "1.2.3.4",
            "1.2.3.4.",
            "1.2.3",
            "01.2.3.4",
            "1.2.3.256",
            "a_b-c.d",
            "a b.c",
            "a\tb",
            "a:b",
            "::1",
            "x.y.",
            &long_label,
            &long_name,
            "münchen.de",
            "MÜNCHEN.DE",
            "a\u{a0}b.de",
        ] {
            assert_eq!(super::fqdn(s).ok(), reference(s), "{s:?}");
        }
    }
}
