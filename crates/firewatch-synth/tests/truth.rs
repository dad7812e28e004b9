//! The ground truth is exactly what the labelling, attack and spike rules find in the packets.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use common::{Fact, corsaro_attacks, facts, stats};
use firewatch_core::{Protocol, SourceLabel};
use firewatch_synth::SynthConfig;

const NS: i64 = 1_000_000_000;

fn in_telescope(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            u32::from(*a) >> 17 == u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0)) >> 17
        }
        IpAddr::V6(a) => a.segments()[..3] == [0x2001, 0x0db8, 0x0f00],
    }
}

#[test]
fn every_source_is_labelled_as_the_rules_say() {
    check_labels(50_000);
}

#[test]
fn default_scenario_is_labelled_as_the_rules_say() {
    check_labels(1_500_000);
}

fn check_labels(n: u64) {
    let cfg = SynthConfig::with_packets(n);
    let (truth, facts) = facts(&cfg);
    assert_eq!(truth.packets, facts.len() as u64);
    let got = facts.len() as f64 / n as f64;
    assert!(
        (0.75..1.3).contains(&got),
        "about {n} packets, got {}",
        facts.len()
    );
    let mut last = i64::MIN;
    for f in &facts {
        assert!(f.ts >= last, "time order");
        last = f.ts;
        assert!(f.ts >= truth.start_unix * NS && f.ts < truth.end_unix * NS);
        assert!(
            in_telescope(&f.dst),
            "destination {} outside the telescope",
            f.dst
        );
        assert!(!in_telescope(&f.src));
    }
    let stats = stats(&facts);
    assert_eq!(
        stats.len(),
        truth.sources.len(),
        "truth lists exactly the sources seen"
    );
    for (ip, s) in &stats {
        let want = truth.sources[ip];
        assert_eq!(
            s.label(),
            want,
            "{ip}: rules say {:?}, truth says {want:?} ({s:?})",
            s.label()
        );
        match want {
            SourceLabel::Mirai => assert!(s.mirai == s.packets && s.syns == s.packets),
            SourceLabel::Masscan => assert!(s.masscan == s.packets && s.syns == s.packets),
            SourceLabel::Zmap => assert_eq!(s.zmap, s.packets),
            SourceLabel::Backscatter => {
                assert_eq!(s.backscatter, s.packets);
                assert_eq!(s.mirai + s.masscan + s.zmap, 0);
            }
            SourceLabel::Scanner | SourceLabel::Other => {
                assert_eq!(
                    s.mirai + s.masscan + s.zmap + s.backscatter,
                    0,
                    "{ip} matches a fingerprint by accident"
                );
                if want == SourceLabel::Scanner {
                    assert!(
                        s.dsts.len() >= 150,
                        "scanner {ip} touched only {}",
                        s.dsts.len()
                    );
                } else {
                    assert!(s.dsts.len() < 60);
                }
            }
        }
    }
    let counts = truth.label_counts();
    for l in SourceLabel::ALL {
        assert!(counts.get(&l).copied().unwrap_or(0) > 0, "no {l} source");
    }
    assert!(truth.sources.keys().any(|ip| ip.is_ipv6()));
}

#[test]
fn icmp_errors_quote_the_spoofed_probe() {
    let (_, facts) = facts(&SynthConfig::with_packets(50_000));
    let quoting: Vec<&Fact> = facts.iter().filter(|f| f.quoted.is_some()).collect();
    assert!(!quoting.is_empty());
    for f in quoting {
        let (qs, qd, _) = f.quoted.unwrap();
        assert_eq!(qs, f.dst, "quoted source is the spoofed telescope address");
        assert_eq!(qd, f.src, "quoted destination is the victim");
    }
}

#[test]
fn attacks_are_exactly_what_corsaro_finds() {
    let cfg = SynthConfig::with_packets(50_000);
    let (truth, facts) = facts(&cfg);
    let stats = stats(&facts);
    let mut found = BTreeSet::new();
    for (ip, s) in &stats {
        if truth.sources[ip] == SourceLabel::Backscatter {
            for (a, b, n) in corsaro_attacks(&s.times) {
                found.insert((*ip, a, b, n));
            }
        }
    }
    let want: BTreeSet<_> = truth
        .attacks
        .iter()
        .map(|a| (a.victim, a.start_ns, a.end_ns, a.packets))
        .collect();
    assert_eq!(found, want);
    assert!(
        (8..=12).contains(&truth.attacks.len()),
        "{} attacks",
        truth.attacks.len()
    );
    let mut per_victim: HashMap<IpAddr, Vec<(i64, i64)>> = HashMap::new();
    for a in &truth.attacks {
        let mins = (a.end_ns - a.start_ns) as f64 / 60e9;
        assert!(
            a.packets as f64 / mins >= 60.0,
            "attack rate clearly above threshold"
        );
        assert!(mins >= 4.0);
        let ports: BTreeSet<u16> = facts
            .iter()
            .filter(|f| f.src == a.victim && f.ts >= a.start_ns && f.ts <= a.end_ns)
            .map(|f| f.quoted.map_or(f.sport, |q| q.2))
            .collect();
        assert_eq!(ports.into_iter().collect::<Vec<_>>(), a.ports);
        per_victim
            .entry(a.victim)
            .or_default()
            .push((a.start_ns, a.end_ns));
    }
    let twice: Vec<_> = per_victim.values().filter(|v| v.len() == 2).collect();
    assert_eq!(twice.len(), 1, "one victim attacked twice");
    assert!(
        twice[0][1].0 - twice[0][0].1 > 3600 * NS,
        "more than an hour apart"
    );
    let small = stats
        .iter()
        .filter(|(ip, _)| {
            truth.sources[*ip] == SourceLabel::Backscatter && !per_victim.contains_key(*ip)
        })
        .count();
    assert!(small > 50, "many small victims, got {small}");
}

fn proto_of(p: Protocol) -> u8 {
    p.number()
}

#[test]
fn spikes_stand_out_and_new_campaigns_are_new() {
    for n in [60_000u64, 400_000, 1_500_000] {
        let cfg = SynthConfig::with_packets(n);
        let (truth, facts) = facts(&cfg);
        assert!(truth.spikes.len() >= 2);
        assert!(truth.spikes.iter().any(|s| s.new_campaign));
        let t0 = truth.start_unix * NS;
        for sp in &truth.spikes {
            assert!(sp.start_unix - truth.start_unix >= 9000, "2.5 h of history");
            let len = sp.end_unix - sp.start_unix;
            assert!(
                (14 * 60..=31 * 60).contains(&len),
                "spike lasts 15–30 min: {len}"
            );
            let on_port: Vec<&Fact> = facts
                .iter()
                .filter(|f| f.proto == proto_of(sp.proto) && f.dport == sp.port)
                .collect();
            let (w0, w1) = (sp.start_unix * NS, sp.end_unix * NS);
            if sp.new_campaign {
                assert!(sp.sources >= 200);
                let srcs: HashSet<IpAddr> = on_port.iter().map(|f| f.src).collect();
                assert_eq!(srcs.len() as u64, sp.sources);
                assert!(on_port.iter().all(|f| f.ts >= w0 && f.ts < w1));
                assert!(
                    facts
                        .iter()
                        .all(|f| f.proto == 1 || f.proto == 58 || f.sport != sp.port),
                    "port used as a source port"
                );
                assert!(
                    facts
                        .iter()
                        .filter(|f| f.dport == sp.port && f.proto != 1 && f.proto != 58)
                        .count()
                        == on_port.len()
                );
                continue;
            }
            // Minute bins over the 2.5 h before the spike vs inside it.
            let minute = |t: i64| (t - t0).div_euclid(60 * NS);
            let (m0, m1) = (minute(w0), minute(w1));
            let mut pk: HashMap<i64, u64> = HashMap::new();
            let mut us: HashMap<i64, HashSet<IpAddr>> = HashMap::new();
            for f in &on_port {
                *pk.entry(minute(f.ts)).or_default() += 1;
                us.entry(minute(f.ts)).or_default().insert(f.src);
            }
            let avg = |a: i64, b: i64, v: &dyn Fn(i64) -> f64| {
                (a..b).map(v).sum::<f64>() / (b - a) as f64
            };
            let pk_f = |m: i64| pk.get(&m).copied().unwrap_or(0) as f64;
            let us_f = |m: i64| us.get(&m).map_or(0, |s| s.len()) as f64;
            let (bp, bu) = (avg(m0 - 150, m0, &pk_f), avg(m0 - 150, m0, &us_f));
            let (sp_p, sp_u) = (avg(m0 + 1, m1 - 1, &pk_f), avg(m0 + 1, m1 - 1, &us_f));
            assert!(
                sp_p >= 5.0 * bp.max(0.5),
                "{n}: {:?} {} packets/min {sp_p} vs {bp}",
                sp.proto,
                sp.port
            );
            assert!(
                sp_u >= 5.0 * bu.max(0.5),
                "{n}: {:?} {} sources/min {sp_u} vs {bu}",
                sp.proto,
                sp.port
            );
            assert!(bp > 0.0, "spike port has background");
        }
    }
}
