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

/// Reads every network of a MaxMind-format database (GeoLite2-Country/ASN, DB-IP lite shapes:
/// `country.iso_code`, `autonomous_system_number`, `autonomous_system_organization`).
/// In an IPv6 database the IPv4 subtree is read as IPv4; the IPv4-mapped (`::ffff:0:0/96`),
/// IPv4-compatible (`::/96`) and 6to4 (`2002::/16`) aliases of it are skipped.
///
/// The file is outside data: its search tree is walked here, not by the `maxminddb` crate,
/// whose walk trusts the tree (a flipped byte can make a record point back up the tree, and
/// the walk then never ends while its stack eats all memory; a truncated file makes it index
/// out of bounds). Every record is checked against the metadata's `node_count` and the size
/// of the data section, the walk goes no deeper than the address length and visits each node
/// at most twice, and data is decoded with bounds on every read and on nesting. A database
/// that breaks any of these is refused as a whole, naming the file and what is wrong; a
/// record that cannot be decoded is a bad line, as in the text formats.
pub fn parse_mmdb(file: &str, bytes: &[u8]) -> Result<Parsed<MmdbRow>, GeoError> {
    let mmdb_err = |message: String| GeoError::Mmdb {
        file: file.to_string(),
        message,
    };
    let db = mmdb_reader::Database::new(bytes).map_err(mmdb_err)?;
    let mut out = Parsed::new();
    let mut item_no = 0u64;
    let mut cache: std::collections::HashMap<usize, Result<mmdb_reader::Record, String>> =
        std::collections::HashMap::new();
    db.walk(&mut |range, pointer| {
        item_no += 1;
        if let Range::V6(s, _) = range {
            let top96 = s >> 32;
            if top96 == 0 || top96 == 0xffff || (s >> 112) == 0x2002 {
                return;
            }
        }
        let rec = cache
            .entry(pointer)
            .or_insert_with(|| db.record(pointer))
            .clone();
        match rec {
            Ok(rec) => out.rows.push(MmdbRow {
                range,
                country: rec.country.as_deref().and_then(CountryCode::new),
                asn: rec.asn,
                name: rec.name.filter(|n| !n.is_empty()),
            }),
            Err(e) => out.bad(file, item_no, format!("network #{item_no}: {e}")),
        }
    })
    .map_err(mmdb_err)?;
    Ok(out)
}

/// A bounded reader of the MaxMind DB format 2.0
/// (<https://maxmind.github.io/MaxMind-DB/>): the search tree and the few fields we use.
mod mmdb_reader {
    use super::Range;

    /// Marks the start of the metadata, near the end of the file.
    const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
    /// The metadata is in the last 128 KiB of the file.
    const METADATA_MAX: usize = 128 * 1024;
    /// Zero bytes between the search tree and the data section.
    const SEPARATOR: usize = 16;
    /// Maps and arrays nest at most this deep (real databases: 3 or 4).
    const MAX_DEPTH: usize = 32;

    /// What a record says that we use.
    #[derive(Debug, Clone, Default)]
    pub(super) struct Record {
        pub(super) country: Option<String>,
        pub(super) asn: Option<u32>,
        pub(super) name: Option<String>,
    }

    /// A database whose layout was checked against its metadata.
    pub(super) struct Database<'a> {
        tree: &'a [u8],
        data: Data<'a>,
        node_count: usize,
        record_size: usize,
        ip_version: u16,
    }

    impl<'a> Database<'a> {
        pub(super) fn new(bytes: &'a [u8]) -> Result<Self, String> {
            let from = bytes.len().saturating_sub(METADATA_MAX);
            let marker = bytes[from..]
                .windows(METADATA_MARKER.len())
                .rposition(|w| w == METADATA_MARKER)
                .map(|p| from + p)
                .ok_or("no metadata marker (not a MaxMind DB, or the file is cut short)")?;
            let meta = Data {
                buf: &bytes[marker + METADATA_MARKER.len()..],
            };
            let (mut node_count, mut record_size, mut ip_version, mut major) =
                (None, None, None, None);
            meta.map_entries(0, 0, &mut |key, value| {
                let slot = match key {
                    "node_count" => &mut node_count,
                    "record_size" => &mut record_size,
                    "ip_version" => &mut ip_version,
                    "binary_format_major_version" => &mut major,
                    _ => return Ok(()),
                };
                *slot = Some(
                    meta.uint(value)
                        .map_err(|e| format!("metadata {key}: {e}"))?,
                );
                Ok(())
            })
            .map_err(|e| format!("unreadable metadata: {e}"))?;
            let need =
                |v: Option<u128>, what: &str| v.ok_or_else(|| format!("metadata has no {what}"));
            let node_count = need(node_count, "node_count")?;
            let record_size = need(record_size, "record_size")?;
            let ip_version = need(ip_version, "ip_version")?;
            if need(major, "binary_format_major_version")? != 2 {
                return Err(format!(
                    "binary format version {} is not 2",
                    major.unwrap_or(0)
                ));
            }
            if !matches!(record_size, 24 | 28 | 32) {
                return Err(format!("record size {record_size} is not 24, 28 or 32"));
            }
            if !matches!(ip_version, 4 | 6) {
                return Err(format!("IP version {ip_version} is not 4 or 6"));
            }
            let tree_size = node_count
                .checked_mul(record_size / 4)
                .filter(|&t| t + SEPARATOR as u128 <= marker as u128)
                .ok_or_else(|| {
                    format!(
                        "the search tree of {node_count} nodes ({record_size}-bit records) does not fit \
                         in the {marker} bytes before the metadata (cut short, or a damaged node count)"
                    )
                })? as usize;
            if node_count == 0 {
                return Err("the search tree has no nodes".into());
            }
            Ok(Database {
                tree: &bytes[..tree_size],
                data: Data {
                    buf: &bytes[tree_size + SEPARATOR..marker],
                },
                node_count: node_count as usize,
                record_size: record_size as usize,
                ip_version: ip_version as u16,
            })
        }

        /// The `side` (0 left, 1 right) record of node `n` (`n < node_count`).
        fn read(&self, n: usize, side: usize) -> Result<usize, String> {
            let bytes = self.record_size / 4;
            let node = self
                .tree
                .get(n * bytes..(n + 1) * bytes)
                .ok_or_else(|| format!("node {n} lies outside the search tree"))?;
            let be = |b: &[u8]| b.iter().fold(0usize, |v, &x| (v << 8) | usize::from(x));
            Ok(match (self.record_size, side) {
                (24, 0) => be(&node[0..3]),
                (24, _) => be(&node[3..6]),
                (28, 0) => (usize::from(node[3] & 0xF0) << 20) | be(&node[0..3]),
                (28, _) => (usize::from(node[3] & 0x0F) << 24) | be(&node[4..7]),
                (_, 0) => be(&node[0..4]),
                (_, _) => be(&node[4..8]),
            })
        }

        /// Calls `visit(range, data offset)` for every network with data: the IPv4 networks
        /// first (in an IPv6 database, those under `::/96`), then, in an IPv6 database, the
        /// others. Errs on a tree that is not one: a record past the data section, a path
        /// longer than the address, a node reached more than twice.
        pub(super) fn walk(&self, visit: &mut dyn FnMut(Range, usize)) -> Result<(), String> {
            // Each node is expanded once per walk in a sound tree (aliases of the IPv4 subtree
            // are not followed); this bounds the work on a damaged one.
            let mut budget = self.node_count.saturating_mul(2).saturating_add(2);
            let mut ipv4_start = 0usize;
            if self.ip_version == 6 {
                for _ in 0..96 {
                    if ipv4_start >= self.node_count {
                        break;
                    }
                    ipv4_start = self.read(ipv4_start, 0)?;
                }
            }
            self.walk_from(ipv4_start, 32, None, &mut budget, visit)?;
            if self.ip_version == 6 {
                self.walk_from(0, 128, Some(ipv4_start), &mut budget, visit)?;
            }
            Ok(())
        }

        fn walk_from(
            &self,
            root: usize,
            bits: u32,
            skip: Option<usize>,
            budget: &mut usize,
            visit: &mut dyn FnMut(Range, usize),
        ) -> Result<(), String> {
            // (record value, prefix bits so far, depth), right pushed before left: in order.
            let mut stack: Vec<(usize, u128, u32)> = vec![(root, 0, 0)];
            while let Some((value, prefix, depth)) = stack.pop() {
                if value < self.node_count {
                    if skip == Some(value) {
                        continue; // the IPv4 subtree (or an alias of it), read as IPv4
                    }
                    if depth >= bits {
                        return Err(format!(
                            "the search tree goes deeper than {bits} bits at node {value} (a loop: \
                             a damaged record points back up the tree)"
                        ));
                    }
                    *budget = budget.checked_sub(1).ok_or_else(|| {
                        format!(
                            "the search tree is not a tree: its {} nodes are reached more often \
                             than a sound tree allows (damaged records share subtrees)",
                            self.node_count
                        )
                    })?;
                    let bit = 1u128 << (bits - 1 - depth);
                    stack.push((self.read(value, 1)?, prefix | bit, depth + 1));
                    stack.push((self.read(value, 0)?, prefix, depth + 1));
                } else if value > self.node_count {
                    let offset = (value - self.node_count)
                        .checked_sub(SEPARATOR)
                        .filter(|&o| o < self.data.buf.len())
                        .ok_or_else(|| {
                            format!(
                                "a record points at {value}, outside the data section of {} bytes",
                                self.data.buf.len()
                            )
                        })?;
                    let host = if depth == 0 {
                        u128::MAX
                    } else {
                        (1u128 << (bits - depth)).wrapping_sub(1)
                    };
                    let range = if bits == 32 {
                        let host = if depth == 0 { u32::MAX as u128 } else { host };
                        Range::V4(prefix as u32, (prefix | host) as u32)
                    } else {
                        Range::V6(prefix, prefix | host)
                    };
                    visit(range, offset);
                }
                // value == node_count: no data for these addresses.
            }
            Ok(())
        }

        /// The record at data offset `at`.
        pub(super) fn record(&self, at: usize) -> Result<Record, String> {
            let d = &self.data;
            let mut rec = Record::default();
            d.map_entries(at, 0, &mut |key, value| {
                match key {
                    "country" | "registered_country"
                        if rec.country.is_none() || key == "country" =>
                    {
                        d.map_entries(value, 1, &mut |k, v| {
                            if k == "iso_code" {
                                let code = d.string(v)?.to_owned();
                                if key == "country" || rec.country.is_none() {
                                    rec.country = Some(code);
                                }
                            }
                            Ok(())
                        })?;
                    }
                    "autonomous_system_number" => {
                        rec.asn = Some(
                            u32::try_from(d.uint(value)?)
                                .map_err(|_| "autonomous_system_number above 2^32".to_string())?,
                        );
                    }
                    "autonomous_system_organization" => {
                        rec.name = Some(d.string(value)?.to_owned());
                    }
                    _ => {}
                }
                Ok(())
            })?;
            Ok(rec)
        }
    }

    /// A data section: typed values, each read within its bounds.
    struct Data<'a> {
        buf: &'a [u8],
    }

    /// A value's type, its size field, and where its payload starts.
    struct Head {
        kind: u8,
        size: usize,
        payload: usize,
    }

    impl<'a> Data<'a> {
        fn byte(&self, at: usize) -> Result<u8, String> {
            self.buf
                .get(at)
                .copied()
                .ok_or_else(|| format!("offset {at} is past the end ({} bytes)", self.buf.len()))
        }

        fn slice(&self, at: usize, len: usize) -> Result<&'a [u8], String> {
            at.checked_add(len)
                .and_then(|end| self.buf.get(at..end))
                .ok_or_else(|| {
                    format!(
                        "{len} bytes at offset {at} run past the end ({} bytes)",
                        self.buf.len()
                    )
                })
        }

        fn head(&self, at: usize) -> Result<Head, String> {
            let ctrl = self.byte(at)?;
            let mut p = at + 1;
            let mut kind = ctrl >> 5;
            if kind == 0 {
                kind = self
                    .byte(p)?
                    .checked_add(7)
                    .ok_or("extended type out of range")?;
                p += 1;
            }
            let mut size = usize::from(ctrl & 0x1f);
            if kind != 1 && size >= 29 {
                let extra = size - 28;
                let b = self.slice(p, extra)?;
                let v = b.iter().fold(0usize, |v, &x| (v << 8) | usize::from(x));
                size = match extra {
                    1 => 29 + v,
                    2 => 285 + v,
                    _ => 65_821 + v,
                };
                p += extra;
            }
            Ok(Head {
                kind,
                size,
                payload: p,
            })
        }

        /// Follows a pointer at `at` (once: a pointer to a pointer is invalid), else `at`.
        fn resolve(&self, at: usize) -> Result<usize, String> {
            let h = self.head(at)?;
            if h.kind != 1 {
                return Ok(at);
            }
            let (target, _) = self.pointer(at, &h)?;
            if self.head(target)?.kind == 1 {
                return Err(format!("pointer at {at} points at another pointer"));
            }
            Ok(target)
        }

        /// A pointer's target and the offset after it.
        fn pointer(&self, at: usize, h: &Head) -> Result<(usize, usize), String> {
            let ctrl = self.byte(at)?;
            let n = usize::from((ctrl >> 3) & 0x3);
            let low = usize::from(ctrl & 0x7);
            let b = self.slice(h.payload, n + 1)?;
            let v = b.iter().fold(0usize, |v, &x| (v << 8) | usize::from(x));
            let target = match n {
                0 => (low << 8) | v,
                1 => ((low << 16) | v) + 2048,
                2 => ((low << 24) | v) + 526_336,
                _ => v,
            };
            if target >= self.buf.len() {
                return Err(format!(
                    "pointer at {at} points at {target}, past the end ({} bytes)",
                    self.buf.len()
                ));
            }
            Ok((target, h.payload + n + 1))
        }

        /// The offset just after the value at `at` (a pointer is passed over, not followed).
        fn skip(&self, at: usize, depth: usize) -> Result<usize, String> {
            if depth > MAX_DEPTH {
                return Err(format!("values nest deeper than {MAX_DEPTH}"));
            }
            let h = self.head(at)?;
            match h.kind {
                1 => Ok(self.pointer(at, &h)?.1),
                7 | 11 => {
                    let per = if h.kind == 7 { 2 } else { 1 };
                    let mut p = h.payload;
                    for _ in 0..h.size.saturating_mul(per) {
                        p = self.skip(p, depth + 1)?;
                    }
                    Ok(p)
                }
                14 => Ok(h.payload),
                2..=6 | 8..=10 | 15 => {
                    self.slice(h.payload, h.size)?;
                    Ok(h.payload + h.size)
                }
                k => Err(format!("unknown data type {k} at offset {at}")),
            }
        }

        /// Calls `entry(key, value offset)` for each entry of the map at `at` (through a
        /// pointer).
        fn map_entries(
            &self,
            at: usize,
            depth: usize,
            entry: &mut dyn FnMut(&str, usize) -> Result<(), String>,
        ) -> Result<(), String> {
            if depth > MAX_DEPTH {
                return Err(format!("values nest deeper than {MAX_DEPTH}"));
            }
            let at = self.resolve(at)?;
            let h = self.head(at)?;
            if h.kind != 7 {
                return Err(format!(
                    "expected a map at offset {at}, found type {}",
                    h.kind
                ));
            }
            let mut p = h.payload;
            for _ in 0..h.size {
                let key = self.string(p)?;
                let value = self.skip(p, depth + 1)?;
                entry(key, value)?;
                p = self.skip(value, depth + 1)?;
            }
            Ok(())
        }

        /// The string at `at` (through a pointer).
        fn string(&self, at: usize) -> Result<&'a str, String> {
            let at = self.resolve(at)?;
            let h = self.head(at)?;
            if h.kind != 2 {
                return Err(format!(
                    "expected a string at offset {at}, found type {}",
                    h.kind
                ));
            }
            std::str::from_utf8(self.slice(h.payload, h.size)?)
                .map_err(|_| format!("the string at offset {at} is not UTF-8"))
        }

        /// The unsigned integer at `at` (uint16/32/64/128, through a pointer).
        fn uint(&self, at: usize) -> Result<u128, String> {
            let at = self.resolve(at)?;
            let h = self.head(at)?;
            let max = match h.kind {
                5 => 2,
                6 => 4,
                9 => 8,
                10 => 16,
                k => {
                    return Err(format!(
                        "expected an unsigned integer at offset {at}, found type {k}"
                    ));
                }
            };
            if h.size > max {
                return Err(format!("an integer of {} bytes at offset {at}", h.size));
            }
            Ok(self
                .slice(h.payload, h.size)?
                .iter()
                .fold(0u128, |v, &x| (v << 8) | u128::from(x)))
        }
    }
}
