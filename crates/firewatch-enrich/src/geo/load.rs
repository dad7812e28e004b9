//! Parsers for the input formats: the ip-asn CSV, RIR delegated-extended statistics, and
//! MaxMind-format `.mmdb` databases. Each returns the good rows and reports each bad line with its
//! file and line number; only file-level failures (unreadable, not gzip, not an MMDB) are errors.

use std::io::Read;
use std::net::IpAddr;

use super::{CountryCode, GeoError};

/// At most this many bad lines are kept per file (the count of all bad lines is still exact).
pub const MAX_REPORTED_PROBLEMS: usize = 100;

/// An inclusive address range in one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// IPv4 `start..=end`.
    V4(u32, u32),
    /// IPv6 `start..=end`.
    V6(u128, u128),
}

/// A row of the ip-asn CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnRow {
    /// The addresses.
    pub range: Range,
    /// The autonomous system number.
    pub asn: u32,
    /// The AS organisation name (`None` if empty).
    pub name: Option<String>,
}

/// A row of an RIR delegated statistics file (ipv4/ipv6, allocated or assigned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryRow {
    /// The addresses.
    pub range: Range,
    /// Country of registration.
    pub country: CountryCode,
}

/// What a loader returns: the good rows, and the bad lines (up to [`MAX_REPORTED_PROBLEMS`]).
#[derive(Debug)]
pub struct Parsed<T> {
    /// Rows that parsed.
    pub rows: Vec<T>,
    /// The first bad lines, each naming the file and line.
    pub problems: Vec<GeoError>,
    /// How many lines were bad in total.
    pub bad_lines: usize,
}

impl<T> Parsed<T> {
    fn new() -> Self {
        Parsed {
            rows: Vec::new(),
            problems: Vec::new(),
            bad_lines: 0,
        }
    }

    fn bad(&mut self, file: &str, line: u64, message: String) {
        self.bad_lines += 1;
        if self.problems.len() < MAX_REPORTED_PROBLEMS {
            self.problems.push(GeoError::Line {
                file: file.to_string(),
                line,
                message,
            });
        }
    }
}

/// Returns the bytes, gunzipped if they start with the gzip magic.
pub fn maybe_gunzip<'a>(
    file: &str,
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'a, [u8]>, GeoError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| GeoError::Io {
                file: file.to_string(),
                source: e,
            })?;
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

fn parse_range(start: &str, end: &str) -> Result<Range, String> {
    let s: IpAddr = start
        .trim()
        .parse()
        .map_err(|_| format!("bad start address {start:?}"))?;
    let e: IpAddr = end
        .trim()
        .parse()
        .map_err(|_| format!("bad end address {end:?}"))?;
    match (s, e) {
        (IpAddr::V4(s), IpAddr::V4(e)) if u32::from(s) <= u32::from(e) => {
            Ok(Range::V4(s.into(), e.into()))
        }
        (IpAddr::V6(s), IpAddr::V6(e)) if u128::from(s) <= u128::from(e) => {
            Ok(Range::V6(s.into(), e.into()))
        }
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Err(format!("start {start} is after end {end}"))
        }
        _ => Err(format!(
            "start {start} and end {end} are different families"
        )),
    }
}

/// Parses the ip-asn CSV (`range_start,range_end,asn,as_organization`, no header, names
/// CSV-quoted where they contain commas), gzip or plain. `file` names the input in errors.
pub fn parse_ip_asn_csv(file: &str, bytes: &[u8]) -> Result<Parsed<AsnRow>, GeoError> {
    let data = maybe_gunzip(file, bytes)?;
    let mut out = Parsed::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&data[..]);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                out.bad(file, line, format!("unreadable CSV: {e}"));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() < 3 || record.len() > 4 {
            out.bad(
                file,
                line,
                format!("expected 4 fields, found {}", record.len()),
            );
            continue;
        }
        let range = match parse_range(&record[0], &record[1]) {
            Ok(r) => r,
            Err(m) => {
                out.bad(file, line, m);
                continue;
            }
        };
        let asn = match record[2].trim().parse::<u32>() {
            Ok(a) => a,
            Err(_) => {
                out.bad(file, line, format!("bad ASN {:?}", &record[2]));
                continue;
            }
        };
        let name = record
            .get(3)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        out.rows.push(AsnRow { range, asn, name });
    }
    Ok(out)
}

/// A row of an ip→ASN TSV (iptoasn-style): range, ASN, country and AS description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsvRow {
    /// The addresses.
    pub range: Range,
    /// The autonomous system number (never 0: "not routed" rows are skipped).
    pub asn: u32,
    /// Country of the AS (`None`/`Unknown`/empty in the file = no country).
    pub country: Option<CountryCode>,
    /// The AS description (`None` if empty).
    pub name: Option<String>,
}

/// Parses an ip→ASN TSV as published by iptoasn-style services:
/// `range_start<TAB>range_end<TAB>AS_number<TAB>country_code<TAB>AS_description`, IPv4 or IPv6
/// addresses in text form, gzip or plain. Rows with AS number 0 ("not routed") are skipped, not
/// errors; a country of `None`, `Unknown` or empty means no country. Empty lines and lines
/// starting with `#` are skipped. `file` names the input in errors.
pub fn parse_ip_asn_tsv(file: &str, bytes: &[u8]) -> Result<Parsed<TsvRow>, GeoError> {
    let data = maybe_gunzip(file, bytes)?;
    let text = String::from_utf8_lossy(&data);
    let mut out = Parsed::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n as u64 + 1;
        let l = raw.trim_end_matches('\r');
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() < 4 || f.len() > 5 {
            out.bad(
                file,
                line,
                format!("expected 5 tab-separated fields, found {}", f.len()),
            );
            continue;
        }
        let range = match parse_range(f[0], f[1]) {
            Ok(r) => r,
            Err(m) => {
                out.bad(file, line, m);
                continue;
            }
        };
        let asn_text = f[2].trim();
        let asn_text = asn_text
            .strip_prefix("AS")
            .or_else(|| asn_text.strip_prefix("as"))
            .unwrap_or(asn_text);
        let asn = match asn_text.parse::<u32>() {
            Ok(a) => a,
            Err(_) => {
                out.bad(file, line, format!("bad AS number {:?}", f[2]));
                continue;
            }
        };
        if asn == 0 {
            continue;
        }
        let cc = f[3].trim();
        let country = if cc.is_empty()
            || cc.eq_ignore_ascii_case("None")
            || cc.eq_ignore_ascii_case("Unknown")
            || cc.eq_ignore_ascii_case("ZZ")
        {
            None
        } else {
            match CountryCode::new(cc) {
                Some(c) => Some(c),
                None => {
                    out.bad(file, line, format!("bad country code {cc:?}"));
                    continue;
                }
            }
        };
        let name = f
            .get(4)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        out.rows.push(TsvRow {
            range,
            asn,
            country,
            name,
        });
    }
    Ok(out)
}

/// Parses an RIR delegated(-extended) statistics file
/// (`registry|cc|type|start|value|date|status[|opaque-id]`), gzip or plain. Keeps `ipv4`/`ipv6`
/// rows with status `allocated` or `assigned` and a two-letter country; skips comments, the
/// version header, summary lines, `asn` rows and `available`/`reserved` rows. IPv4 `value` is an
/// address count, IPv6 `value` a prefix length.
pub fn parse_rir_delegated(file: &str, bytes: &[u8]) -> Result<Parsed<CountryRow>, GeoError> {
    let data = maybe_gunzip(file, bytes)?;
    let text = String::from_utf8_lossy(&data);
    let mut out = Parsed::new();
    let mut seen_header = false;
    for (n, raw) in text.lines().enumerate() {
        let line = n as u64 + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split('|').collect();
        // Version line: `2|apnic|20240101|...` (first field is the format version).
        if !seen_header && f[0].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            seen_header = true;
            continue;
        }
        if f.len() >= 6 && f[5] == "summary" {
            continue;
        }
        if f.len() < 7 {
            out.bad(
                file,
                line,
                format!("expected at least 7 |-separated fields, found {}", f.len()),
            );
            continue;
        }
        let kind = f[2];
        if kind == "asn" {
            continue;
        }
        if kind != "ipv4" && kind != "ipv6" {
            out.bad(file, line, format!("unknown type {kind:?}"));
            continue;
        }
        let status = f[6];
        if status != "allocated" && status != "assigned" {
            continue;
        }
        let cc = f[1];
        if cc.is_empty() || cc.eq_ignore_ascii_case("ZZ") {
            continue;
        }
        let Some(country) = CountryCode::new(cc) else {
            out.bad(file, line, format!("bad country code {cc:?}"));
            continue;
        };
        let start: IpAddr = match f[3].parse() {
            Ok(a) => a,
            Err(_) => {
                out.bad(file, line, format!("bad start address {:?}", f[3]));
                continue;
            }
        };
        let Ok(value) = f[4].parse::<u128>() else {
            out.bad(file, line, format!("bad value {:?}", f[4]));
            continue;
        };
        let range = match (kind, start) {
            ("ipv4", IpAddr::V4(s)) => {
                let s = u128::from(u32::from(s));
                if value == 0 || s + value - 1 > u128::from(u32::MAX) {
                    out.bad(file, line, format!("bad address count {value}"));
                    continue;
                }
                Range::V4(s as u32, (s + value - 1) as u32)
            }
            ("ipv6", IpAddr::V6(s)) => {
                if value > 128 {
                    out.bad(file, line, format!("bad prefix length {value}"));
                    continue;
                }
                let s = u128::from(s);
                let host = if value == 0 {
                    u128::MAX
                } else {
                    (1u128 << (128 - value)) - 1
                };
                if s & host != 0 {
                    out.bad(
                        file,
                        line,
                        format!("{} is not the start of a /{value}", f[3]),
                    );
                    continue;
                }
                Range::V6(s, s | host)
            }
            _ => {
                out.bad(
                    file,
                    line,
                    format!("address {:?} does not match type {kind}", f[3]),
                );
                continue;
            }
        };
        out.rows.push(CountryRow { range, country });
    }
    Ok(out)
}

/// One network read from an MMDB: its range and what the database says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmdbRow {
    /// The addresses.
    pub range: Range,
    /// `country.iso_code` (or `registered_country.iso_code`).
    pub country: Option<CountryCode>,
    /// `autonomous_system_number`.
    pub asn: Option<u32>,
    /// `autonomous_system_organization`.
    pub name: Option<String>,
}

#[derive(serde::Deserialize)]
struct MmdbCountry<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(serde::Deserialize)]
struct MmdbRecord<'a> {
    #[serde(borrow)]
    country: Option<MmdbCountry<'a>>,
    #[serde(borrow)]
    registered_country: Option<MmdbCountry<'a>>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<&'a str>,
}

fn prefix_range(addr: IpAddr, len: u8) -> Range {
    match addr {
        IpAddr::V4(a) => {
            let s = u32::from(a);
            let host = if len == 0 {
                u32::MAX
            } else {
                u32::MAX >> len.min(32)
            };
            Range::V4(s & !host, s | host)
        }
        IpAddr::V6(a) => {
            let s = u128::from(a);
            let host = if len == 0 {
                u128::MAX
            } else {
                u128::MAX >> len.min(128)
            };
            Range::V6(s & !host, s | host)
        }
    }
}

/// Reads every network of a MaxMind-format database (GeoLite2-Country/ASN, DB-IP lite shapes:
/// `country.iso_code`, `autonomous_system_number`, `autonomous_system_organization`).
/// In an IPv6 database the IPv4 subtree is read as IPv4; the IPv4-mapped (`::ffff:0:0/96`),
/// IPv4-compatible (`::/96`) and 6to4 (`2002::/16`) aliases of it are skipped.
pub fn parse_mmdb(file: &str, bytes: &[u8]) -> Result<Parsed<MmdbRow>, GeoError> {
    let mmdb_err = |e: &dyn std::fmt::Display| GeoError::Mmdb {
        file: file.to_string(),
        message: e.to_string(),
    };
    let reader = maxminddb::Reader::from_source(bytes).map_err(|e| mmdb_err(&e))?;
    let mut out = Parsed::new();
    let mut nets: Vec<&str> = vec!["0.0.0.0/0"];
    if reader.metadata.ip_version == 6 {
        nets.push("::/0");
    }
    let mut item_no = 0u64;
    for net in nets {
        let cidr = net.parse().map_err(|e| mmdb_err(&e))?;
        let iter = reader
            .within::<MmdbRecord>(cidr)
            .map_err(|e| mmdb_err(&e))?;
        for item in iter {
            item_no += 1;
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    out.bad(file, item_no, format!("network #{item_no}: {e}"));
                    continue;
                }
            };
            let range = prefix_range(item.ip_net.network(), item.ip_net.prefix());
            if let Range::V6(s, _) = range {
                let top96 = s >> 32;
                if top96 == 0 || top96 == 0xffff || (s >> 112) == 0x2002 {
                    continue;
                }
            }
            let rec = item.info;
            let iso = rec
                .country
                .and_then(|c| c.iso_code)
                .or(rec.registered_country.and_then(|c| c.iso_code));
            let country = iso.and_then(CountryCode::new);
            out.rows.push(MmdbRow {
                range,
                country,
                asn: rec.autonomous_system_number,
                name: rec
                    .autonomous_system_organization
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            });
        }
    }
    Ok(out)
}
