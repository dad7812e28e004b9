//! The fuzz target's seed corpus is made of valid captures: every seed reads to the end and
//! every frame decodes.

mod common;

use firewatch_pcap::Fragment;

#[test]
fn fuzz_seeds_are_valid_captures() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/decode_capture"
    );
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("seed-") {
            continue;
        }
        seeds += 1;
        let (got, r) = common::read_all(&name, std::fs::read(&path).unwrap());
        let n = r.unwrap_or_else(|e| panic!("{e}"));
        assert!(n > 0, "{name}");
        for g in &got {
            assert!(g.facts.is_ok(), "{name}: {:?}", g.facts);
        }
        if name == "seed-eth-le-us.pcap" {
            let f: Vec<_> = got.iter().map(|g| g.facts.unwrap()).collect();
            assert_eq!(f[1].quoted.map(|q| q.dport), Some(161));
            assert_eq!(f[2].fragment, Fragment::First);
            assert_eq!(f[3].fragment, Fragment::Later);
            assert!(f[4].truncated);
        }
        if name == "seed-two-sections.pcapng" {
            assert_eq!(
                got.iter().map(|g| g.link).collect::<Vec<_>>(),
                vec![1, 276, 1, 0, 108]
            );
        }
    }
    assert!(seeds >= 5);
}
