//! IP → country and IP → ASN / AS name, for IPv4 and IPv6, in one allocation-free lookup.
//!
//! [`GeoData`] holds one combined [`PrefixTable`] whose value is a packed 12-byte [`GeoValue`]
//! (country, ASN, interned AS name in a string arena), so a single lookup answers both questions:
//!
//! ```
//! use firewatch_enrich::geo::GeoData;
//!
//! let geo = GeoData::embedded().unwrap();
//! let a = geo.lookup("8.8.8.8".parse().unwrap());
//! assert_eq!(a.asn, Some(15169));
//! assert_eq!(a.as_name, Some("Google LLC"));
//! assert_eq!(a.country.unwrap().as_str(), "US");
//! ```
//!
//! # Data sources
//! - **ASN and AS name**: the ip-asn CSV (RouteViews, DB-IP, NRO; CC BY 4.0), embedded in the
//!   binary from `crates/firewatch-enrich/data/` ([`GeoData::embedded`]) or loaded from a path
//!   ([`GeoBuilder::add_ip_asn_csv`]).
//! - **Country of registration**: RIR delegated statistics files ([`GeoBuilder::add_rir_delegated`]);
//!   by default the copy embedded in the `iptocc` crate. `iptocc` offers only per-address lookup,
//!   so for IPv4 [`GeoBuilder::iptocc_countries`] probes it once per /24 (and per address in the
//!   rare /24s whose first and last address disagree) and stores the result in the combined
//!   table; for IPv6 it is asked per address at lookup time, only when the table has no country.
//! - **MMDB** (GeoLite2-Country/ASN, DB-IP lite): [`GeoBuilder::add_mmdb`].
//! - **ip→ASN TSV** (iptoasn-style: start, end, ASN, country, description): ASN, AS name and
//!   country at once, [`GeoBuilder::add_ip_asn_tsv`].
//! - Any of these by content or name: [`GeoBuilder::add_file`].
//!
//! # Reload
//! [`SharedGeo`] swaps a whole [`GeoData`] atomically while lookups continue; each record stores
//! [`GeoData::version`] to say which dataset enriched it.

mod load;
mod mmdb;
mod table;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

pub use load::{
    AsnRow, CountryRow, MAX_REPORTED_PROBLEMS, MmdbRow, Parsed, Range, TsvRow, parse_ip_asn_csv,
    parse_ip_asn_tsv, parse_mmdb, parse_rir_delegated,
};
pub use table::{Key, PrefixTable, flatten};

/// The version of the `iptocc` crate whose embedded RIR data is the default country source
/// (checked against `Cargo.lock` by a test).
pub const IPTOCC_VERSION: &str = "1.4.175";

static EMBEDDED_V4: &[u8] = include_bytes!("../data/asn-ipv4.csv.gz");
static EMBEDDED_V6: &[u8] = include_bytes!("../data/asn-ipv6.csv.gz");

/// An error loading geo data. Line-level problems name the file and the line.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read or decompressed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// One line of a text input is bad; the rest of the file is still used.
    #[error("{file}:{line}: {message}")]
    Line {
        /// The file.
        file: String,
        /// 1-based line number (for an MMDB: the network's ordinal).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The MMDB could not be opened or walked.
    #[error("{file}: not a usable MMDB: {message}")]
    Mmdb {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// An ISO 3166-1 alpha-2 country code (two ASCII uppercase letters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses two ASCII letters (any case) into an uppercase code.
    pub fn new(s: &str) -> Option<Self> {
        match s.as_bytes() {
            &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Some(CountryCode([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
            ])),
            _ => None,
        }
    }

    /// The two bytes.
    pub fn bytes(self) -> [u8; 2] {
        self.0
    }

    /// The code as a `&str`, e.g. `"JP"`.
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one lookup says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attribution<'a> {
    /// Country of registration.
    pub country: Option<CountryCode>,
    /// Origin autonomous system number.
    pub asn: Option<u32>,
    /// The AS organisation name.
    pub as_name: Option<&'a str>,
}

/// The table's value: country, ASN and AS name packed in 12 bytes, stored inline in the table
/// so a lookup needs no further indirection. The name is an `(offset, length)` into one string
/// arena owned by the [`GeoData`]; decode with [`GeoData::attribution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeoValue {
    /// Country code bytes; `[0, 0]` = none.
    cc: [u8; 2],
    /// Name length in bytes; `u16::MAX` = no name.
    name_len: u16,
    asn: u32,
    /// Name offset in the arena; bit 31 set = an ASN is present.
    name_off: u32,
}

impl GeoValue {
    /// No country, no ASN, no name.
    pub(crate) const EMPTY: GeoValue = GeoValue {
        cc: [0, 0],
        name_len: NO_NAME,
        asn: 0,
        name_off: 0,
    };
}

const HAS_ASN: u32 = 1 << 31;
const NO_NAME: u16 = u16::MAX;

/// The ASN side of a range before combining: ASN and interned name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AsnVal {
    asn: u32,
    name: Option<u32>,
}

/// Collects sources, then [`GeoBuilder::build`]s a [`GeoData`].
///
/// Within each of the two layers (ASN, country) overlapping ranges resolve narrower-wins, then
/// later-added-wins; an MMDB row feeds both layers.
#[derive(Debug, Default)]
pub struct GeoBuilder {
    asn_v4: Vec<(u32, u32, AsnVal)>,
    asn_v6: Vec<(u128, u128, AsnVal)>,
    cc_v4: Vec<(u32, u32, CountryCode)>,
    cc_v6: Vec<(u128, u128, CountryCode)>,
    names: Vec<Box<str>>,
    name_ids: HashMap<Box<str>, u32>,
    version: Vec<String>,
    problems: Vec<GeoError>,
    bad_lines: usize,
    iptocc_v6_fallback: bool,
}

/// FNV-1a 64-bit: a content fingerprint for the dataset version (not a security hash).
fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn file_label(file: &str) -> &str {
    Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(file)
}

fn read(path: &Path) -> Result<Vec<u8>, GeoError> {
    std::fs::read(path).map_err(|e| GeoError::Io {
        file: path.display().to_string(),
        source: e,
    })
}

impl GeoBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&mut self, name: Option<String>) -> Option<u32> {
        let name = name?;
        if let Some(&id) = self.name_ids.get(name.as_str()) {
            return Some(id);
        }
        let id = self.names.len() as u32;
        let b: Box<str> = name.into_boxed_str();
        self.names.push(b.clone());
        self.name_ids.insert(b, id);
        Some(id)
    }

    fn take_problems<T>(&mut self, p: &mut Parsed<T>) {
        self.bad_lines += p.bad_lines;
        self.problems.append(&mut p.problems);
    }

    fn add_range_asn(&mut self, range: Range, v: AsnVal) {
        match range {
            Range::V4(s, e) => self.asn_v4.push((s, e, v)),
            Range::V6(s, e) => self.asn_v6.push((s, e, v)),
        }
    }

    fn add_range_cc(&mut self, range: Range, c: CountryCode) {
        match range {
            Range::V4(s, e) => self.cc_v4.push((s, e, c)),
            Range::V6(s, e) => self.cc_v6.push((s, e, c)),
        }
    }

    /// Adds an ip-asn CSV file (gzip or plain) from `path`.
    pub fn add_ip_asn_csv(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, GeoError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        self.add_ip_asn_csv_bytes(&path.display().to_string(), &bytes)
    }

    /// Adds ip-asn CSV content; `file` names it in errors and in the version.
    pub fn add_ip_asn_csv_bytes(
        &mut self,
        file: &str,
        bytes: &[u8],
    ) -> Result<&mut Self, GeoError> {
        let mut p = parse_ip_asn_csv(file, bytes)?;
        self.take_problems(&mut p);
        for row in p.rows {
            let name = self.intern(row.name);
            self.add_range_asn(row.range, AsnVal { asn: row.asn, name });
        }
        self.version
            .push(format!("{}:{:016x}", file_label(file), fnv64(bytes)));
        Ok(self)
    }

    /// Adds an ip→ASN TSV file (iptoasn-style: start, end, ASN, country, description; gzip or
    /// plain) from `path`. It feeds both the ASN and the country layer.
    pub fn add_ip_asn_tsv(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, GeoError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        self.add_ip_asn_tsv_bytes(&path.display().to_string(), &bytes)
    }

    /// Adds ip→ASN TSV content; `file` names it in errors and in the version. Bad lines are
    /// kept as [`GeoBuilder::problems`] (`file:line: message`), good lines are used; AS number 0
    /// ("not routed") rows are skipped silently.
    pub fn add_ip_asn_tsv_bytes(
        &mut self,
        file: &str,
        bytes: &[u8],
    ) -> Result<&mut Self, GeoError> {
        let mut p = parse_ip_asn_tsv(file, bytes)?;
        self.take_problems(&mut p);
        for row in p.rows {
            let name = self.intern(row.name);
            self.add_range_asn(row.range, AsnVal { asn: row.asn, name });
            if let Some(c) = row.country {
                self.add_range_cc(row.range, c);
            }
        }
        self.version
            .push(format!("{}:{:016x}", file_label(file), fnv64(bytes)));
        Ok(self)
    }

    /// Adds a file of any supported format, chosen by content, then by name (for
    /// `firewatch data update FILE…`):
    /// - an MMDB (name ends `.mmdb`, or the MaxMind metadata marker is present);
    /// - otherwise (after gunzip if the content starts with the gzip magic) the first line that
    ///   is not empty and not a `#` comment decides: `|`-separated
    ///   (`registry|cc|type|…` or the `2|apnic|…` version line) → RIR delegated statistics,
    ///   tab-separated → ip→ASN TSV, comma-separated → ip-asn CSV;
    /// - if the content does not decide, the name: `.tsv[.gz]` → TSV, `.csv[.gz]` → CSV.
    ///
    /// An unrecognised file is an [`GeoError::Io`] error of kind `InvalidData`.
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, GeoError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        self.add_file_bytes(&path.display().to_string(), &bytes)
    }

    /// [`GeoBuilder::add_file`] on content already read; `file` is the name used for the
    /// extension test, in errors and in the version.
    pub fn add_file_bytes(&mut self, file: &str, bytes: &[u8]) -> Result<&mut Self, GeoError> {
        match detect_format(file, bytes)? {
            FileFormat::Mmdb => self.add_mmdb_bytes(file, bytes),
            FileFormat::RirDelegated => self.add_rir_delegated_bytes(file, bytes),
            FileFormat::IpAsnTsv => self.add_ip_asn_tsv_bytes(file, bytes),
            FileFormat::IpAsnCsv => self.add_ip_asn_csv_bytes(file, bytes),
        }
    }

    /// Adds an RIR delegated(-extended) statistics file (gzip or plain) from `path`.
    pub fn add_rir_delegated(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, GeoError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        self.add_rir_delegated_bytes(&path.display().to_string(), &bytes)
    }

    /// Adds RIR delegated statistics content; `file` names it in errors and in the version.
    pub fn add_rir_delegated_bytes(
        &mut self,
        file: &str,
        bytes: &[u8],
    ) -> Result<&mut Self, GeoError> {
        let mut p = parse_rir_delegated(file, bytes)?;
        self.take_problems(&mut p);
        for row in p.rows {
            self.add_range_cc(row.range, row.country);
        }
        self.version
            .push(format!("{}:{:016x}", file_label(file), fnv64(bytes)));
        Ok(self)
    }

    /// Adds a MaxMind-format database (country and/or ASN fields) from `path`.
    pub fn add_mmdb(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, GeoError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        self.add_mmdb_bytes(&path.display().to_string(), &bytes)
    }

    /// Adds MMDB content; `file` names it in errors and in the version.
    pub fn add_mmdb_bytes(&mut self, file: &str, bytes: &[u8]) -> Result<&mut Self, GeoError> {
        let mut p = parse_mmdb(file, bytes)?;
        self.take_problems(&mut p);
        for row in p.rows {
            if let Some(asn) = row.asn {
                let name = self.intern(row.name);
                self.add_range_asn(row.range, AsnVal { asn, name });
            }
            if let Some(c) = row.country {
                self.add_range_cc(row.range, c);
            }
        }
        self.version
            .push(format!("{}:{:016x}", file_label(file), fnv64(bytes)));
        Ok(self)
    }

    /// Adds the country data embedded in the `iptocc` crate (RIR delegated statistics) as the
    /// widest, lowest-priority country layer: IPv4 is materialised into the table by probing
    /// `iptocc` once per /24 (per address where a /24's first and last address disagree), IPv6 is
    /// answered by `iptocc` per address at lookup time where the table has no country.
    ///
    /// Caveat: an IPv4 /24 whose first and last address have the same country but whose middle
    /// differs would be missed; RIR IPv4 delegations are /24-aligned in practice.
    pub fn iptocc_countries(&mut self) -> &mut Self {
        let mut out: Vec<(u32, u32, CountryCode)> = Vec::new();
        let mut push = |s: u32, e: u32, c: Option<&'static str>| {
            let Some(c) = c.and_then(CountryCode::new) else {
                return;
            };
            if let Some(last) = out.last_mut()
                && last.2 == c
                && last.1.checked_add(1) == Some(s)
            {
                last.1 = e;
                return;
            }
            out.push((s, e, c));
        };
        for block in 0u32..(1 << 24) {
            let s = block << 8;
            let e = s | 0xff;
            let a = iptocc::country_code(std::net::Ipv4Addr::from(s));
            let b = iptocc::country_code(std::net::Ipv4Addr::from(e));
            if a == b {
                push(s, e, a);
            } else {
                for x in s..=e {
                    push(x, x, iptocc::country_code(std::net::Ipv4Addr::from(x)));
                }
            }
        }
        // Lowest priority: put them first so later sources win equal-width ties, and they are
        // wider than or equal to RIR rows anyway.
        let mut rest = std::mem::take(&mut self.cc_v4);
        self.cc_v4 = out;
        self.cc_v4.append(&mut rest);
        self.iptocc_v6_fallback = true;
        self.version.push(format!("iptocc-{IPTOCC_VERSION}"));
        self
    }

    /// Bad lines seen so far (up to [`MAX_REPORTED_PROBLEMS`] per file).
    pub fn problems(&self) -> &[GeoError] {
        &self.problems
    }

    /// Builds the combined table.
    pub fn build(self) -> GeoData {
        // One arena for all names; names longer than 65 534 bytes are cut at a char boundary.
        let mut arena = String::with_capacity(self.names.iter().map(|n| n.len()).sum());
        let mut spans: Vec<(u32, u16)> = Vec::with_capacity(self.names.len());
        for n in &self.names {
            let mut len = n.len().min(usize::from(NO_NAME) - 1);
            while !n.is_char_boundary(len) {
                len -= 1;
            }
            spans.push((arena.len() as u32, len as u16));
            arena.push_str(&n[..len]);
        }
        assert!(arena.len() < HAS_ASN as usize, "AS name arena over 2 GiB");
        let pack = |c: Option<CountryCode>, a: Option<AsnVal>| {
            let (name_off, name_len) = match a.and_then(|a| a.name) {
                Some(id) => spans[id as usize],
                None => (0, NO_NAME),
            };
            GeoValue {
                cc: c.map_or([0, 0], CountryCode::bytes),
                name_len,
                asn: a.map_or(0, |a| a.asn),
                name_off: name_off | if a.is_some() { HAS_ASN } else { 0 },
            }
        };
        let v4 = combine(&flatten(&self.asn_v4), &flatten(&self.cc_v4), &pack);
        let v6 = combine(&flatten(&self.asn_v6), &flatten(&self.cc_v6), &pack);
        let table = PrefixTable::from_disjoint(&v4, &v6);
        let mut version = self.version.join("+");
        if version.is_empty() {
            version.push_str("empty");
        }
        GeoData {
            table,
            arena,
            name_count: self.names.len(),
            version,
            iptocc_v6_fallback: self.iptocc_v6_fallback,
            problems: self.problems,
            bad_lines: self.bad_lines,
        }
    }
}

/// The input formats [`GeoBuilder::add_file`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// MaxMind-format database.
    Mmdb,
    /// RIR delegated(-extended) statistics.
    RirDelegated,
    /// iptoasn-style ip→ASN TSV.
    IpAsnTsv,
    /// ip-asn CSV.
    IpAsnCsv,
}

/// The MaxMind DB metadata marker, found near the end of every MMDB.
const MMDB_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";

/// Decides the format of `bytes` (named `file`) as [`GeoBuilder::add_file`] documents.
pub fn detect_format(file: &str, bytes: &[u8]) -> Result<FileFormat, GeoError> {
    let lower = file.to_ascii_lowercase();
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    if lower.ends_with(".mmdb") || tail.windows(MMDB_MARKER.len()).any(|w| w == MMDB_MARKER) {
        return Ok(FileFormat::Mmdb);
    }
    let data = load::maybe_gunzip(file, bytes)?;
    let first = data
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty() && !l.starts_with(b"#"));
    if let Some(l) = first {
        // Tabs never occur in the other formats; an AS name may contain `|` or `,`, so the
        // separator that comes first on the line decides between RIR and CSV.
        let pipe = l.iter().position(|&b| b == b'|');
        let comma = l.iter().position(|&b| b == b',');
        if l.contains(&b'\t') {
            return Ok(FileFormat::IpAsnTsv);
        }
        match (pipe, comma) {
            (Some(p), Some(c)) if p < c => return Ok(FileFormat::RirDelegated),
            (Some(_), None) => return Ok(FileFormat::RirDelegated),
            (_, Some(_)) => return Ok(FileFormat::IpAsnCsv),
            (None, None) => {}
        }
    }
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    if base.ends_with(".tsv") {
        Ok(FileFormat::IpAsnTsv)
    } else if base.ends_with(".csv") {
        Ok(FileFormat::IpAsnCsv)
    } else {
        Err(GeoError::Io {
            file: file.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "unrecognised format (expected .mmdb, RIR delegated statistics, \
                 ip-asn TSV or ip-asn CSV)",
            ),
        })
    }
}

/// Merges two sorted disjoint segment lists (ASN, country) into one list of record ids.
fn combine<K: Key>(
    asn: &[(K, K, AsnVal)],
    cc: &[(K, K, CountryCode)],
    pack: &impl Fn(Option<CountryCode>, Option<AsnVal>) -> GeoValue,
) -> Vec<(K, K, GeoValue)> {
    // Boundaries: every start and every end+1 of either list.
    let mut cuts: Vec<K> = Vec::with_capacity((asn.len() + cc.len()) * 2);
    for &(s, e, _) in asn {
        cuts.push(s);
        if let Some(n) = e.succ() {
            cuts.push(n);
        }
    }
    for &(s, e, _) in cc {
        cuts.push(s);
        if let Some(n) = e.succ() {
            cuts.push(n);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let (mut ia, mut ic) = (0usize, 0usize);
    let mut out: Vec<(K, K, GeoValue)> = Vec::with_capacity(cuts.len());
    for (k, &pos) in cuts.iter().enumerate() {
        let end = match cuts.get(k + 1) {
            Some(n) => n.pred().unwrap_or(K::ZERO),
            None => K::MAX,
        };
        while ia < asn.len() && asn[ia].1 < pos {
            ia += 1;
        }
        while ic < cc.len() && cc[ic].1 < pos {
            ic += 1;
        }
        let a = asn.get(ia).filter(|x| x.0 <= pos).map(|x| x.2);
        let c = cc.get(ic).filter(|x| x.0 <= pos).map(|x| x.2);
        if a.is_none() && c.is_none() {
            continue;
        }
        let id = pack(c, a);
        if let Some(last) = out.last_mut()
            && last.2 == id
            && last.1.succ() == Some(pos)
        {
            last.1 = end;
            continue;
        }
        out.push((pos, end, id));
    }
    out
}

/// A built dataset: one combined table answering country, ASN and AS name in one lookup.
#[derive(Debug)]
pub struct GeoData {
    table: PrefixTable<GeoValue>,
    arena: String,
    name_count: usize,
    version: String,
    iptocc_v6_fallback: bool,
    problems: Vec<GeoError>,
    bad_lines: usize,
}

impl GeoData {
    /// The default dataset: the ip-asn CSVs embedded in the binary (see `docs/attribution.md`
    /// for the CC BY 4.0 credits) plus the `iptocc` country data. Takes about a second to build.
    pub fn embedded() -> Result<GeoData, GeoError> {
        let mut b = GeoBuilder::new();
        b.iptocc_countries();
        b.add_ip_asn_csv_bytes("asn-ipv4.csv.gz", EMBEDDED_V4)?;
        b.add_ip_asn_csv_bytes("asn-ipv6.csv.gz", EMBEDDED_V6)?;
        Ok(b.build())
    }

    /// The embedded ip-asn data only (no country), for tests and benchmarks of the ASN layer.
    pub fn embedded_asn_only() -> Result<GeoData, GeoError> {
        let mut b = GeoBuilder::new();
        b.add_ip_asn_csv_bytes("asn-ipv4.csv.gz", EMBEDDED_V4)?;
        b.add_ip_asn_csv_bytes("asn-ipv6.csv.gz", EMBEDDED_V6)?;
        Ok(b.build())
    }

    /// The raw embedded ip-asn files: `(asn-ipv4.csv.gz, asn-ipv6.csv.gz)`.
    pub fn embedded_files() -> (&'static [u8], &'static [u8]) {
        (EMBEDDED_V4, EMBEDDED_V6)
    }

    /// Country, ASN and AS name for `addr`. No allocation.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Attribution<'_> {
        let mut out = match self.table.get(addr) {
            Some(v) => self.attribution(v),
            None => Attribution::default(),
        };
        if out.country.is_none()
            && self.iptocc_v6_fallback
            && let IpAddr::V6(a) = addr
        {
            out.country = iptocc::country_code(a).and_then(CountryCode::new);
        }
        out
    }

    /// Decodes a table value (from [`GeoData::table`]) into country, ASN and AS name.
    #[inline]
    pub fn attribution(&self, v: GeoValue) -> Attribution<'_> {
        decode(&self.arena, v)
    }

    /// The AS-name arena (for [`crate::attribute`], which copies it).
    pub(crate) fn arena(&self) -> &str {
        &self.arena
    }

    /// Whether IPv6 addresses without a table country ask `iptocc` at lookup time.
    pub(crate) fn iptocc_v6_fallback(&self) -> bool {
        self.iptocc_v6_fallback
    }

    /// Which dataset this is: each source's file name and FNV-1a 64 content hash, joined by `+`
    /// (e.g. `iptocc-1.4.175+asn-ipv4.csv.gz:…+asn-ipv6.csv.gz:…`). Store it with each record.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The underlying table; decode its values with [`GeoData::attribution`].
    pub fn table(&self) -> &PrefixTable<GeoValue> {
        &self.table
    }

    /// Bad input lines seen while loading (up to [`MAX_REPORTED_PROBLEMS`] per file).
    pub fn problems(&self) -> &[GeoError] {
        &self.problems
    }

    /// Total bad input lines seen while loading.
    pub fn bad_lines(&self) -> usize {
        self.bad_lines
    }

    /// Number of distinct AS names.
    pub fn name_count(&self) -> usize {
        self.name_count
    }

    /// Heap bytes: the table (values inline) and the AS-name arena.
    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes() + self.arena.capacity()
    }

    /// Writes the ASN and country layers as a MaxMind DB (IPv6 tree, IPv4 under `::/96`,
    /// 32-bit records; fields `autonomous_system_number`, `autonomous_system_organization`,
    /// `country.iso_code`), readable by the `maxminddb` crate and other MMDB readers.
    pub fn to_mmdb(&self) -> Vec<u8> {
        mmdb::write(self)
    }
}

/// Decodes a [`GeoValue`] against the AS-name arena it was built with.
#[inline]
pub(crate) fn decode(arena: &str, v: GeoValue) -> Attribution<'_> {
    Attribution {
        country: if v.cc == [0, 0] {
            None
        } else {
            Some(CountryCode(v.cc))
        },
        asn: (v.name_off & HAS_ASN != 0).then_some(v.asn),
        as_name: if v.name_len == NO_NAME {
            None
        } else {
            let off = (v.name_off & !HAS_ASN) as usize;
            arena.get(off..off + usize::from(v.name_len))
        },
    }
}

/// A [`GeoData`] that can be replaced atomically while other threads look up.
///
/// ```
/// use firewatch_enrich::geo::{GeoBuilder, SharedGeo};
///
/// let shared = SharedGeo::new(GeoBuilder::new().build());
/// let v = shared.load().version().to_string();
/// shared.replace(GeoBuilder::new().build());
/// assert_eq!(shared.load().version(), v);
/// ```
#[derive(Debug)]
pub struct SharedGeo(arc_swap::ArcSwap<GeoData>);

impl SharedGeo {
    /// Wraps a dataset.
    pub fn new(data: GeoData) -> Self {
        SharedGeo(arc_swap::ArcSwap::from_pointee(data))
    }

    /// The current dataset, cheaply; hold the guard only for a batch of lookups.
    pub fn load(&self) -> arc_swap::Guard<Arc<GeoData>> {
        self.0.load()
    }

    /// The current dataset as an owned `Arc`.
    pub fn load_full(&self) -> Arc<GeoData> {
        self.0.load_full()
    }

    /// Replaces the dataset; lookups in progress finish on the old one. Returns the old one.
    pub fn replace(&self, data: GeoData) -> Arc<GeoData> {
        self.0.swap(Arc::new(data))
    }
}
