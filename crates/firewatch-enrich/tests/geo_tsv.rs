//! Tests for the ip→ASN TSV loader and `GeoBuilder::add_file` format detection, on small files
//! written by the tests.

use std::io::Write;
use std::net::IpAddr;

use firewatch_enrich::geo::{FileFormat, GeoBuilder, GeoData, GeoError, detect_format};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const TSV: &str = "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET - Cloudflare, Inc.\n\
1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n\
1.0.4.0\tnonsense\t38803\tAU\tbad end\n\
1.0.5.0\t1.0.5.255\tAS4608\tau\tAPNIC-SERVICES\n\
1.0.6.0\t1.0.6.255\t64496\tUnknown\t\n\
1.0.7.0\t1.0.7.255\tx64\tJP\tbad asn\n\
1.0.8.0\t1.0.8.255\t64497\tJPN\tbad country\n\
1.0.9.0\t1.0.9.255\t64498\n\
2001:db8::\t2001:db8::ffff\t64499\tKE\tDoc v6, Ltd.\n";

fn line_errors(problems: &[GeoError]) -> Vec<(String, u64, String)> {
    problems
        .iter()
        .map(|p| match p {
            GeoError::Line {
                file,
                line,
                message,
            } => (file.clone(), *line, message.clone()),
            other => panic!("unexpected {other}"),
        })
        .collect()
}

fn check_tsv(g: &GeoData) {
    let a = g.lookup(ip("1.0.0.9"));
    assert_eq!(a.asn, Some(13335));
    assert_eq!(a.as_name, Some("CLOUDFLARENET - Cloudflare, Inc."));
    assert_eq!(a.country.unwrap().as_str(), "US");
    // ASN 0 = not routed: skipped, nothing stored.
    let a = g.lookup(ip("1.0.2.1"));
    assert_eq!((a.asn, a.country), (None, None));
    let a = g.lookup(ip("1.0.5.5"));
    assert_eq!((a.asn, a.as_name), (Some(4608), Some("APNIC-SERVICES")));
    assert_eq!(a.country.unwrap().as_str(), "AU");
    // `Unknown` country and an empty description.
    let a = g.lookup(ip("1.0.6.1"));
    assert_eq!((a.asn, a.as_name, a.country), (Some(64496), None, None));
    let a = g.lookup(ip("2001:db8::42"));
    assert_eq!(a.asn, Some(64499));
    assert_eq!(a.as_name, Some("Doc v6, Ltd."));
    assert_eq!(a.country.unwrap().as_str(), "KE");
    assert_eq!(g.lookup(ip("2001:db8::1:0")).asn, None);
}

#[test]
fn tsv_bad_lines_reported_with_line_numbers_good_lines_kept_asn0_skipped() {
    let mut b = GeoBuilder::new();
    b.add_ip_asn_tsv_bytes("ip2asn.tsv", TSV.as_bytes())
        .unwrap();
    let errs = line_errors(b.problems());
    let lines: Vec<u64> = errs.iter().map(|e| e.1).collect();
    assert_eq!(lines, vec![3, 6, 7, 8], "{errs:?}");
    assert!(errs.iter().all(|e| e.0 == "ip2asn.tsv"));
    assert!(errs[0].2.contains("bad end address"), "{}", errs[0].2);
    assert!(errs[1].2.contains("bad AS number"), "{}", errs[1].2);
    assert!(errs[2].2.contains("bad country code"), "{}", errs[2].2);
    assert!(
        errs[3].2.contains("5 tab-separated fields"),
        "{}",
        errs[3].2
    );
    let shown = b.problems()[0].to_string();
    assert!(shown.starts_with("ip2asn.tsv:3: "), "{shown}");
    let g = b.build();
    assert_eq!(g.bad_lines(), 4);
    assert!(g.version().starts_with("ip2asn.tsv:"), "{}", g.version());
    check_tsv(&g);
}

#[test]
fn tsv_from_gzip_and_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("ip2asn-combined.tsv");
    let zipped = dir.path().join("ip2asn-combined.tsv.gz");
    std::fs::write(&plain, TSV).unwrap();
    std::fs::write(&zipped, gz(TSV.as_bytes())).unwrap();
    for path in [&plain, &zipped] {
        let mut b = GeoBuilder::new();
        b.add_ip_asn_tsv(path).unwrap();
        assert_eq!(b.problems().len(), 4);
        check_tsv(&b.build());
    }
    // Gzip is detected by its magic bytes, not the name.
    let odd = dir.path().join("data.bin");
    std::fs::write(&odd, gz(TSV.as_bytes())).unwrap();
    let mut b = GeoBuilder::new();
    b.add_ip_asn_tsv(&odd).unwrap();
    check_tsv(&b.build());
    let err = GeoBuilder::new()
        .add_ip_asn_tsv(dir.path().join("missing.tsv"))
        .unwrap_err();
    assert!(err.to_string().contains("missing.tsv"), "{err}");
}

#[test]
fn tsv_feeds_country_layer_alongside_other_sources() {
    // A later, narrower RIR row overrides the TSV's country for its addresses only.
    let mut b = GeoBuilder::new();
    b.add_ip_asn_tsv_bytes("a.tsv", b"10.0.0.0\t10.0.255.255\t64500\tDE\tExample\n")
        .unwrap();
    b.add_rir_delegated_bytes(
        "r.txt",
        b"ripencc|FR|ipv4|10.0.1.0|256|20200101|allocated\n",
    )
    .unwrap();
    let g = b.build();
    assert_eq!(g.lookup(ip("10.0.0.1")).country.unwrap().as_str(), "DE");
    let a = g.lookup(ip("10.0.1.1"));
    assert_eq!((a.asn, a.country.unwrap().as_str()), (Some(64500), "FR"));
}

const RIR: &str = "# comment\n\
2|ripencc|20261122|2|19830613|20261121|+0100\n\
ripencc|*|ipv4|*|1|summary\n\
ripencc|EE|ipv4|193.40.0.0|65536|19930101|allocated\n";

const CSV: &str = "8.8.8.0,8.8.8.255,15169,\"Google | LLC\"\n";

#[test]
fn detect_format_by_content_then_name() {
    let tsv = TSV.as_bytes();
    assert_eq!(detect_format("x", tsv).unwrap(), FileFormat::IpAsnTsv);
    assert_eq!(detect_format("x.csv", tsv).unwrap(), FileFormat::IpAsnTsv);
    assert_eq!(detect_format("x", &gz(tsv)).unwrap(), FileFormat::IpAsnTsv);
    assert_eq!(
        detect_format("delegated-ripencc-extended-latest", RIR.as_bytes()).unwrap(),
        FileFormat::RirDelegated
    );
    assert_eq!(
        detect_format("x.gz", &gz(RIR.as_bytes())).unwrap(),
        FileFormat::RirDelegated
    );
    assert_eq!(
        detect_format("y", CSV.as_bytes()).unwrap(),
        FileFormat::IpAsnCsv
    );
    assert_eq!(
        detect_format("y.csv.gz", &gz(CSV.as_bytes())).unwrap(),
        FileFormat::IpAsnCsv
    );
    // Content does not decide (empty): the name does.
    assert_eq!(
        detect_format("e.tsv.gz", b"").unwrap(),
        FileFormat::IpAsnTsv
    );
    assert_eq!(detect_format("e.CSV", b"").unwrap(), FileFormat::IpAsnCsv);
    assert_eq!(detect_format("e.mmdb", b"").unwrap(), FileFormat::Mmdb);
    let err = detect_format("e.txt", b"hello\n").unwrap_err();
    assert!(err.to_string().contains("unrecognised format"), "{err}");
}

#[test]
fn add_file_picks_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("ip2asn-v4.tsv.gz");
    let rir = dir.path().join("delegated-ripencc-latest");
    let csv = dir.path().join("asn.csv");
    let mmdb = dir.path().join("small.mmdb");
    std::fs::write(&tsv, gz(TSV.as_bytes())).unwrap();
    std::fs::write(&rir, RIR).unwrap();
    std::fs::write(&csv, CSV).unwrap();
    let mut src = GeoBuilder::new();
    src.add_ip_asn_csv_bytes("m.csv", b"9.9.9.0,9.9.9.255,19281,Quad9\n")
        .unwrap();
    std::fs::write(&mmdb, src.build().to_mmdb()).unwrap();
    // An MMDB is recognised by its metadata marker even under another name.
    let hidden = dir.path().join("db.bin");
    std::fs::copy(&mmdb, &hidden).unwrap();
    assert_eq!(
        detect_format("db.bin", &std::fs::read(&hidden).unwrap()).unwrap(),
        FileFormat::Mmdb
    );

    let mut b = GeoBuilder::new();
    for p in [&tsv, &rir, &csv, &mmdb] {
        b.add_file(p).unwrap();
    }
    let shown: Vec<String> = b.problems().iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 4, "{shown:?}"); // the TSV bad lines, with its name
    assert!(shown[0].contains("ip2asn-v4.tsv.gz:3: "), "{shown:?}");
    let g = b.build();
    check_tsv(&g);
    assert_eq!(g.lookup(ip("193.40.5.5")).country.unwrap().as_str(), "EE");
    assert_eq!(g.lookup(ip("8.8.8.8")).as_name, Some("Google | LLC"));
    assert_eq!(g.lookup(ip("9.9.9.9")).asn, Some(19281));
    let err = GeoBuilder::new()
        .add_file(dir.path().join("nope.tsv"))
        .unwrap_err();
    assert!(err.to_string().contains("nope.tsv"), "{err}");
}
