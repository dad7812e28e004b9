//! Per-type sanitisation and validation of raw values, following IntelMQ's harmonization types.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use ipnet::IpNet;
use serde_json::Value as Json;

use crate::event::Value;
use crate::harmonization::{FieldSpec, FieldType, Pattern};
use crate::taxonomy;

/// Where a raw value comes from: a parser (`set`, sanitise everything) or an IntelMQ JSON line
/// (already harmonized: `raw` is already Base64).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Raw,
    Harmonized,
}

/// Values IntelMQ treats as "no value": the field is simply not set.
pub(crate) fn is_absent(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => matches!(s.trim(), "" | "-" | "N/A"),
        _ => false,
    }
}

/// Sanitises `value` for a field of spec `spec` and validates the result, including the field's
/// length and pattern rules. The error is the reason, phrased to follow the value.
pub(crate) fn sanitize(spec: &FieldSpec, value: &Json, origin: Origin) -> Result<Value, String> {
    let out = sanitize_type(spec.ty, value, origin)?;
    if spec.length.is_some() || spec.pattern.is_some() {
        let text = text_form(&out);
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
    }
    Ok(out)
}

/// The text form IntelMQ applies length and regex rules to (`str(value)`).
fn text_form(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Boolean(true) => "True".to_owned(),
        Value::Boolean(false) => "False".to_owned(),
        Value::Json(j) => j.to_string(),
    }
}

fn pattern_matches(pattern: Pattern, text: &str) -> bool {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<(&'static str, bool), regex_lite::Regex>>> =
        OnceLock::new();
    let (re, icase) = match pattern {
        Pattern::Regex(re) => (re, false),
        Pattern::IRegex(re) => (re, true),
    };
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
        FieldType::LowercaseString => Ok(Value::Text(non_empty(text(value)?.to_lowercase())?)),
        FieldType::UppercaseString => Ok(Value::Text(non_empty(text(value)?.to_uppercase())?)),
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
    let name = s.trim_end_matches('.').to_lowercase();
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
    const NOT: &str = "is not a valid date-time";
    let Json::String(s) = value else {
        return Err(NOT.to_owned());
    };
    let s = s.trim();
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
pub(crate) fn format_date_time(ts: jiff::Timestamp) -> Option<String> {
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
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard Base64 (padding required, as Python's `b64decode` wants it).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
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
