//! The TLP 2.0 marking definitions of STIX 2.1, exactly as OASIS publishes them.
//!
//! Source: oasis-open/cti-stix-common-objects,
//! `extension-definition-specifications/tlp-2.0/extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.json`
//! (the JSON schema, which fixes each level's id and name) and `examples/tlp-*.json` (the
//! objects: `created` 2022-10-01T00:00:00.000Z, the property extension with `tlp_2_0`).
//! The ids themselves live in `firewatch_feeds::stix`, which reads them back on import.
//!
//! ```
//! use firewatch_core::TlpLevel;
//! use firewatch_share::tlp;
//! let green = tlp::marking_object(TlpLevel::Green);
//! assert_eq!(green["id"], "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
//! assert_eq!(green["name"], "TLP:GREEN");
//! ```

use firewatch_core::TlpLevel;
use firewatch_feeds::stix::{TLP2_EXTENSION, TLP2_MARKINGS};
use serde_json::{Value as Json, json};

/// When OASIS created the TLP 2.0 marking definitions (part of the published objects).
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The published id of `level`'s marking definition.
pub fn marking_id(level: TlpLevel) -> &'static str {
    let short = level.as_str();
    TLP2_MARKINGS
        .iter()
        .find(|(name, _)| *name == short)
        .map(|(_, id)| *id)
        .expect("every TLP 2.0 level has a published marking definition")
}

/// The published marking-definition object of `level`.
pub fn marking_object(level: TlpLevel) -> Json {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id(level),
        "created": TLP2_CREATED,
        "name": level.label(),
        "extensions": {
            TLP2_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": level.as_str(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The five ids, as the OASIS schema lists them (copied from the published file, not
    /// from our own table).
    #[test]
    fn ids_are_the_published_ones() {
        let published = [
            (
                TlpLevel::Clear,
                "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            ),
            (
                TlpLevel::Green,
                "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            ),
            (
                TlpLevel::Amber,
                "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            ),
            (
                TlpLevel::AmberStrict,
                "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            ),
            (
                TlpLevel::Red,
                "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
            ),
        ];
        for (level, id) in published {
            assert_eq!(marking_id(level), id);
        }
        assert_eq!(
            marking_object(TlpLevel::AmberStrict),
            serde_json::from_str::<Json>(
                r#"{"type": "marking-definition", "spec_version": "2.1",
                    "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                    "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER+STRICT",
                    "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                        {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}}"#
            )
            .unwrap()
        );
    }
}
