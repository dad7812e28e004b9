//! Damaged MaxMind databases (issue 22, item 13): a flipped byte or a cut-short file is an
//! error naming the file, or a database read with bad records counted — never a panic, never
//! a walk that does not end or eats memory.

use firewatch_enrich::geo::{GeoBuilder, GeoData, MmdbRow, Range, parse_mmdb};
use std::time::{Duration, Instant};

const RIR: &str = "\
2|apnic|20261122|5|19830613|20261121|+1000
apnic|JP|ipv4|202.12.27.0|256|19970101|allocated|A1
apnic|AU|ipv4|1.0.0.0|256|20110811|assigned
apnic|JP|ipv6|2001:200::|32|19990813|allocated
apnic|CN|ipv4|1.0.1.0|256|20110414|allocated
";

fn geo() -> GeoData {
    let mut b = GeoBuilder::new();
    b.add_rir_delegated_bytes("rir", RIR.as_bytes()).unwrap();
    b.add_ip_asn_csv_bytes(
        "asn.csv",
        b"202.12.27.0,202.12.27.255,7500,WIDE Project\n\
          2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n\
          8.8.8.0,8.8.8.255,15169,Google LLC\n\
          1.0.1.0,1.0.1.127,4134,CHINANET\n",
    )
    .unwrap();
    b.build()
}

/// Our walk reads exactly the networks the `maxminddb` crate's walk reads from a sound file.
#[test]
fn the_bounded_reader_agrees_with_maxminddb_on_a_sound_database() {
    let bytes = geo().to_mmdb();
    let ours = parse_mmdb("sound.mmdb", &bytes).unwrap();
    assert_eq!(ours.bad_lines, 0);
    let reader = maxminddb::Reader::from_source(&bytes[..]).unwrap();
    let mut theirs: Vec<(Range, Option<u32>)> = Vec::new();
    for net in ["0.0.0.0/0", "::/0"] {
        for item in reader
            .within::<maxminddb::geoip2::Asn>(net.parse().unwrap())
            .unwrap()
        {
            let item = item.unwrap();
            let range = match (item.ip_net.network(), item.ip_net.prefix()) {
                // Its IPv6 walk reports the IPv4 subtree again, as IPv4: read once by ours.
                (std::net::IpAddr::V4(_), _) if net == "::/0" => continue,
                (std::net::IpAddr::V4(a), len) => {
                    let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                    Range::V4(u32::from(a) & !host, u32::from(a) | host)
                }
                (std::net::IpAddr::V6(a), len) => {
                    let host = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                    let s = u128::from(a);
                    if (s >> 32) == 0 || (s >> 32) == 0xffff || (s >> 112) == 0x2002 {
                        continue;
                    }
                    Range::V6(s & !host, s | host)
                }
            };
            theirs.push((range, item.info.autonomous_system_number));
        }
    }
    let ours: Vec<(Range, Option<u32>)> = ours
        .rows
        .iter()
        .map(|r: &MmdbRow| (r.range, r.asn))
        .collect();
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs);
}

/// Every single-byte change (three masks at every offset) and every truncation of a valid
/// database: the loader returns, quickly, with rows or with an error naming the file.
fn load_every_damaged_copy() {
    let bytes = geo().to_mmdb();
    let check = |what: &str, damaged: &[u8]| {
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| {
            GeoBuilder::new()
                .add_mmdb_bytes("damaged.mmdb", damaged)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let elapsed = started.elapsed();
        match result {
            Err(_) => panic!("{what}: the loader panicked"),
            Ok(Err(e)) => assert!(e.starts_with("damaged.mmdb: "), "{what}: {e}"),
            Ok(Ok(())) => {}
        }
        assert!(
            elapsed < Duration::from_secs(2),
            "{what}: took {elapsed:?} on a {}-byte file",
            damaged.len()
        );
    };
    for offset in 0..bytes.len() {
        for mask in [0xFF, 0x01, 0x80] {
            let mut damaged = bytes.clone();
            damaged[offset] ^= mask;
            check(&format!("byte {offset} ^ {mask:#04x}"), &damaged);
        }
    }
    for len in 0..bytes.len() {
        check(&format!("cut at {len}"), &bytes[..len]);
    }
}

/// Runs the damage sweep in a child process limited to 2 GiB of address space and two
/// minutes, so that a loader that runs away fails this test instead of taking the machine.
#[test]
fn issue_22_item_13_a_corrupt_mmdb_is_an_error_not_a_panic_or_a_runaway() {
    if std::env::var_os("FIREWATCH_MMDB_DAMAGE_CHILD").is_some() {
        load_every_damaged_copy();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152; exec timeout 120 \"$0\" --exact issue_22_item_13_a_corrupt_mmdb_is_an_error_not_a_panic_or_a_runaway --nocapture --test-threads 1")
        .arg(&exe)
        .env("FIREWATCH_MMDB_DAMAGE_CHILD", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the damage sweep failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tree record pointing back at the root: refused as a loop, naming the file.
#[test]
fn a_search_tree_loop_is_refused_by_name() {
    let mut bytes = geo().to_mmdb();
    // 32-bit records: node 0's left record is the first four bytes; node 1 pointing at 0 is
    // a loop (the writer gives node 0's left child a higher number).
    bytes[8..12].copy_from_slice(&0u32.to_be_bytes());
    bytes[12..16].copy_from_slice(&0u32.to_be_bytes());
    let err = parse_mmdb("loop.mmdb", &bytes).unwrap_err().to_string();
    assert!(err.starts_with("loop.mmdb: "), "{err}");
    assert!(
        err.contains("deeper than") || err.contains("not a tree"),
        "{err}"
    );
}
