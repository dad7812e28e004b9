//! Records as tables for people: alerts and attacks, as the listings and the demo print them.

use crate::output::{Rest, limited_table, ns_time, s_time};
use firewatch_store::{AlertRecord, AttackRecord};

pub fn countries_text(a: &AlertRecord) -> String {
    a.top_countries
        .iter()
        .flatten()
        .take(3)
        .map(|(cc, share)| format!("{cc} {:.0}%", 100.0 * share))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "AS15169" or empty.
pub fn asn_text(asn: Option<u32>) -> String {
    asn.map(|a| format!("AS{a}")).unwrap_or_default()
}

/// One line summarising an alert's label mix, e.g. "mirai 80%, other 20%".
pub fn label_mix_text(a: &AlertRecord) -> String {
    let total: u64 = a.label_mix.iter().map(|m| m.1).sum();
    let mut mix = a.label_mix.clone();
    mix.sort_by_key(|m| std::cmp::Reverse(m.1));
    mix.iter()
        .take(3)
        .map(|(l, n)| format!("{l} {:.0}%", 100.0 * *n as f64 / total.max(1) as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints alerts as a table.
pub fn print_alerts(alerts: &[AlertRecord]) {
    print_alerts_cut(alerts, Rest::None);
}

/// Prints alerts as a table, with what the row limit left out.
pub fn print_alerts_cut(alerts: &[AlertRecord], rest: Rest) {
    limited_table(
        &[
            "ID",
            "KIND",
            "PORT",
            "START",
            "END",
            "PEAK PKTS",
            "PEAK SRCS",
            "×BASELINE",
            "SOURCES",
            "LABELS",
            "COUNTRIES",
            "TOP SOURCE",
        ],
        alerts
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    serde_json::to_value(a.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    format!("{}/{}", a.proto, a.port),
                    s_time(a.start),
                    a.end.map(s_time).unwrap_or_else(|| "ongoing".into()),
                    a.peak_packets.to_string(),
                    a.peak_sources.to_string(),
                    format!("{:.1}", a.magnitude),
                    a.unique_sources.to_string(),
                    label_mix_text(a),
                    countries_text(a),
                    a.top_sources
                        .first()
                        .map(|s| format!("{} ({})", s.addr, s.packets))
                        .unwrap_or_default(),
                ]
            })
            .collect(),
        rest,
    );
}

/// Prints attacks as a table.
pub fn print_attacks(attacks: &[AttackRecord]) {
    print_attacks_cut(attacks, Rest::None);
}

/// Prints attacks as a table, with what the row limit left out.
pub fn print_attacks_cut(attacks: &[AttackRecord], rest: Rest) {
    limited_table(
        &[
            "VICTIM", "START", "END", "DURATION", "PACKETS", "PEAK/MIN", "PROTO", "PORTS",
            "COUNTRY", "ASN", "TEAM",
        ],
        attacks
            .iter()
            .map(|a| {
                vec![
                    a.victim.to_string(),
                    ns_time(a.start_ns),
                    ns_time(a.end_ns),
                    format!("{}s", (a.end_ns - a.start_ns) / 1_000_000_000),
                    a.packets.to_string(),
                    a.peak_per_minute.to_string(),
                    a.proto.clone(),
                    a.ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    a.attribution.country.clone().unwrap_or_default(),
                    asn_text(a.attribution.asn),
                    a.attribution.team.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        rest,
    );
}
