//! Deterministic STIX identifiers: the same finding always gets the same id.
//!
//! - Cyber-observable objects (`ipv4-addr`, `ipv6-addr`, `network-traffic`, …) use UUIDv5 in
//!   the STIX namespace `00abedb4-aa42-466c-9c01-fed23315a9b7` over the canonical JSON (RFC 8785
//!   style: sorted keys, no whitespace) of the object's id-contributing properties, as STIX 2.1
//!   §2.9 defines; any producer computes the same id for the same address.
//! - Domain objects (indicator, observed-data, sighting, campaign, identity) are named by a
//!   stable key of the finding in [`FIREWATCH_NAMESPACE`]: the UUIDv5 computation (SHA-1 of
//!   namespace and name), with the version nibble set to 4. STIX 2.1 says SDO ids SHOULD be
//!   UUIDv4, and stix2-validator in strict mode rejects any other version (check 103); a
//!   SHA-1-derived value is a valid pseudo-random v4 UUID that is still reproducible.
//!
//! ```
//! use firewatch_share::ids;
//! assert_eq!(
//!     ids::sco_id("ipv4-addr", &serde_json::json!({"value": "192.0.2.1"})),
//!     "ipv4-addr--8dded90c-40c0-545a-8027-5b212bb37e8e",
//! );
//! let a = ids::sdo_id("indicator", "event:abc");
//! assert_eq!(a, ids::sdo_id("indicator", "event:abc"));
//! assert_eq!(&a["indicator--".len()..][14..15], "4");
//! ```

use serde_json::Value as Json;
use uuid::Uuid;

/// The namespace STIX 2.1 (§2.9) fixes for cyber-observable ids.
pub const STIX_NAMESPACE: Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// Firewatch's namespace for the ids of domain objects (chosen once, at random; never change
/// it, or every exported id changes).
pub const FIREWATCH_NAMESPACE: Uuid = uuid::uuid!("85818467-4ef4-4d3d-b7cb-af22d46961bf");

/// The id of a cyber-observable of `object_type` whose id-contributing properties are
/// `contributing` (a JSON object; references as their id strings).
pub fn sco_id(object_type: &str, contributing: &Json) -> String {
    let mut canonical = String::new();
    write_canonical(contributing, &mut canonical);
    format!(
        "{object_type}--{}",
        Uuid::new_v5(&STIX_NAMESPACE, canonical.as_bytes())
    )
}

/// The id of a domain or meta object of `object_type` named by `key` (stable for a finding).
pub fn sdo_id(object_type: &str, key: &str) -> String {
    format!(
        "{object_type}--{}",
        name_based_v4(&format!("{object_type}|{key}"))
    )
}

/// A UUID derived from `name` in [`FIREWATCH_NAMESPACE`] (v5's SHA-1 construction), stamped
/// version 4; see the module documentation for why.
pub fn name_based_v4(name: &str) -> Uuid {
    let mut bytes = *Uuid::new_v5(&FIREWATCH_NAMESPACE, name.as_bytes()).as_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    Uuid::from_bytes(bytes)
}

/// JSON with object keys sorted by code point and no insignificant whitespace. Numbers and
/// strings are written as serde_json writes them, which matches RFC 8785 for the integers and
/// ASCII text of the properties Firewatch hashes.
fn write_canonical(value: &Json, out: &mut String) {
    match value {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference ids computed by the stix2 Python library (3.0.2):
    /// `stix2.IPv6Address(value='2001:db8::1').id`, and `stix2.NetworkTraffic(src_ref=…,
    /// src_port=40000, dst_port=23, protocols=['tcp']).id`.
    #[test]
    fn observable_ids_match_the_stix2_library() {
        assert_eq!(
            sco_id("ipv6-addr", &serde_json::json!({"value": "2001:db8::1"})),
            "ipv6-addr--6469e3a9-b053-5e34-a025-9396ae051d26"
        );
        assert_eq!(
            sco_id(
                "network-traffic",
                &serde_json::json!({
                    "src_ref": "ipv4-addr--8dded90c-40c0-545a-8027-5b212bb37e8e",
                    "src_port": 40000, "dst_port": 23, "protocols": ["tcp"],
                })
            ),
            "network-traffic--c5ebd5fb-4cef-5b69-88d0-e1bd52a6003b"
        );
    }

    #[test]
    fn domain_ids_are_stable_v4_and_distinct() {
        let a = sdo_id("indicator", "k1");
        assert_eq!(a, sdo_id("indicator", "k1"));
        assert_ne!(a, sdo_id("indicator", "k2"));
        assert_ne!(
            a["indicator--".len()..],
            sdo_id("sighting", "k1")["sighting--".len()..]
        );
        let uuid = Uuid::parse_str(&a["indicator--".len()..]).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
    }
}
