//! Shadowserver CSV → validated IntelMQ events, in memory: a generated `scan_dns` report (the
//! column layout and value kinds of `../shared/bench/make_shadowserver_csv.py`) parsed with the
//! report's mapping from Shadowserver's schema. Reports rows (= events) per second.
//!
//! `cargo bench -p firewatch-feeds --bench shadowserver`

use divan::Bencher;
use divan::counter::ItemsCount;
use firewatch_core::{Event, EventSink, InputError, Location};
use firewatch_feeds::shadowserver::{ParseOptions, Schema, parse};

fn main() {
    divan::main();
}

/// The `scan_dns` entry of Shadowserver's `intelmq.json`, as published.
const SCHEMA: &str = r#"{"scan_dns": {"constant_fields": {"classification.identifier": "dns-open-resolver", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "protocol.application": "dns"}, "feed_name": "DNS-Open-Resolvers", "file_name": "scan_dns", "optional_fields": [["extra.", "min_amplification", "convert_float"], ["severity", "severity", "validate_to_none"], ["protocol.transport", "protocol"], ["source.reverse_dns", "hostname"], ["extra.", "tag", "validate_to_none"], ["source.asn", "asn", "invalidate_zero"], ["source.geolocation.cc", "geo"], ["source.geolocation.region", "region"], ["source.geolocation.city", "city"], ["extra.", "naics", "invalidate_zero"], ["extra.", "hostname_source", "validate_to_none"], ["extra.", "sector", "validate_to_none"], ["extra.", "dns_version", "validate_to_none"], ["product.vulnerabilities", "tag", "extract_cve_from_tag"]], "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "ip", "validate_ip"], ["source.port", "port", "convert_int"]], "url": "https://www.shadowserver.org/what-we-do/network-reporting/dns-open-resolvers-report/"}}"#;

const FILE: &str = "2026-01-01-scan_dns-test-geo.csv";

/// Xorshift: deterministic values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[(self.next() % items.len() as u64) as usize]
    }
    /// Empty or `vN`, as the generator writes unmapped text columns.
    fn maybe(&mut self) -> String {
        let v = self.next();
        if v.is_multiple_of(2) {
            String::new()
        } else {
            format!("v{}", v % 100)
        }
    }
}

/// A deterministic report of `rows` rows (no I/O).
fn report_csv(rows: usize) -> Vec<u8> {
    const CCS: [&str; 8] = ["JP", "CN", "US", "KR", "IN", "BR", "DE", "KE"];
    const PLACES: [&str; 4] = ["TOKYO", "OSAKA", "SEOUL", "NAIROBI"];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = String::from(
        "timestamp,ip,port,min_amplification,severity,protocol,hostname,tag,asn,geo,region,city,\
         naics,hostname_source,sector,dns_version\n",
    );
    for i in 0..rows {
        let s = i * 86_400 / rows.max(1);
        let r = rng.next();
        let ip = format!(
            "{}.{}.{}.{}",
            (r >> 24) as u8 % 200 + 20,
            (r >> 16) as u8,
            (r >> 8) as u8,
            r as u8 | 1
        );
        let port = rng.pick(&["53", "123", "1900", "80", "443", "8080"]);
        let amplification = (rng.next() % 100_000) as f64 / 1000.0;
        let severity = rng.pick(&["high", "medium", "low", "info"]);
        let protocol = rng.pick(&["udp", "tcp"]);
        let host = rng.next() % 1_000_000;
        let tag = rng.pick(&["openresolver", "ssdp", "snmp", "telnet"]);
        let asn = rng.pick(&["4713", "2914", "4134", "7018"]);
        let geo = rng.pick(&CCS);
        let region = rng.pick(&PLACES);
        let city = rng.pick(&PLACES);
        let naics = rng.pick(&["0", "517311", "518210"]);
        let (a, b, c) = (rng.maybe(), rng.maybe(), rng.maybe());
        out.push_str(&format!(
            "2026-01-01 {:02}:{:02}:{:02},{ip},{port},{amplification:.3},{severity},{protocol},\
             host{host}.example.net,{tag},{asn},{geo},{region},{city},{naics},{a},{b},{c}\n",
            s / 3600,
            s % 3600 / 60,
            s % 60,
        ));
    }
    out.into_bytes()
}

/// Counts events, as the next pipeline stage would take them.
struct Count(u64);

impl EventSink for Count {
    fn event(&mut self, event: Event, _at: &Location) {
        self.0 += 1;
        divan::black_box(event);
    }
    fn reject(&mut self, error: InputError) {
        panic!("generated rows are valid: {error}");
    }
}

#[divan::bench(args = [1_000, 20_000])]
fn scan_dns(bencher: Bencher, rows: usize) {
    let schema = Schema::from_json_str(SCHEMA).unwrap();
    let report = schema.detect(FILE).unwrap();
    let csv = report_csv(rows);
    let options = ParseOptions {
        time_observation: Some("2026-01-01T00:00:00+00:00".into()),
        feed_name: Some("Shadowserver".into()),
        keep_raw: true,
    };
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let mut sink = Count(0);
        let summary = parse(csv.as_slice(), FILE, report, &options, &mut sink).unwrap();
        assert_eq!(sink.0, rows as u64);
        summary
    });
}
