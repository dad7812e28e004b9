//! CSV output of metric rows and summaries (JSON is serde's).

use crate::MetricsError;
use serde::Serialize;
use std::io::Write;

/// Writes `rows` as CSV with a header line (field names as in JSON; absent values empty).
///
/// ```
/// use firewatch_metrics::{write_csv, Day, MetricRow, Risk, Scope};
/// let row = MetricRow {
///     day: Day(20_458), scope: Scope::Asn, key: "64496".into(), risk: Risk::OpenDns,
///     unique_ips: 12, announced_ipv4: None, per_million_addresses: None,
///     ddos_potential_gbps: Some(0.492), trend_index: None, rank: 1,
/// };
/// let mut out = Vec::new();
/// write_csv(&[row], &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///     "day,scope,key,risk,unique_ips,announced_ipv4,per_million_addresses,ddos_potential_gbps,trend_index,rank\n\
///      2026-01-05,asn,64496,open-dns,12,,,0.492,,1\n");
/// ```
pub fn write_csv<T: Serialize>(rows: &[T], out: impl Write) -> Result<(), MetricsError> {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        w.serialize(r)?;
    }
    w.flush().map_err(|e| MetricsError::Write(e.to_string()))?;
    Ok(())
}
