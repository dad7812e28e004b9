//! The harmonized event: an ordered map of IntelMQ field name → typed, validated value.

use std::fmt;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use crate::harmonization::{self, FieldType};
use crate::sanitize::{self, Origin};
use crate::taxonomy;

pub use crate::value::Value;

/// A value rejected for one field: which field, the offending value, and why.
///
/// Displays as `source.asn: "0" is not a valid ASN (must be 1..4294967295)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value} {reason}")]
pub struct FieldError {
    /// The field name as given.
    pub field: String,
    /// The rejected value in JSON notation (strings quoted), shortened when very long.
    pub value: String,
    /// Why the value was rejected, phrased to follow the value.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, value: &Json, reason: impl Into<String>) -> Self {
        let mut shown = value.to_string();
        if shown.chars().count() > 120 {
            shown = shown.chars().take(117).collect::<String>() + "...";
        }
        FieldError {
            field: field.to_owned(),
            value: shown,
            reason: reason.into(),
        }
    }
}

/// Why an IntelMQ JSON line could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The line is not JSON.
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The line is JSON but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// One or more fields were rejected; every rejected field is listed.
    #[error("{}", display_fields(.0))]
    Fields(Vec<FieldError>),
}

fn display_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A field name as an event stores it: the harmonization table's own `&'static str` for
/// harmonized fields (no allocation), a shared string for `extra.*` keys (cloned by reference
/// count, so parsers can reuse one key for every row).
#[derive(Clone)]
pub enum Key {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Key {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Static(s) => s,
            Key::Shared(s) => s,
        }
    }
}

impl From<&str> for Key {
    /// The table's name for a harmonized field, else a new shared string.
    fn from(name: &str) -> Key {
        match harmonization::event_field(name) {
            Some(spec) => Key::Static(spec.name),
            None => Key::Shared(Arc::from(name)),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().fmt(f)
    }
}

/// A harmonized event: IntelMQ field names (flat, dotted) mapped to validated values, kept sorted
/// by name.
///
/// Values enter through [`Event::set`], which sanitises and validates them as IntelMQ does, or
/// through [`Event::from_intelmq_json`]. See the crate documentation for an example.
#[derive(Clone, Default, PartialEq)]
pub struct Event {
    /// Sorted by name, names unique.
    fields: Vec<(Key, Value)>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("fields", &DebugFields(&self.fields))
            .finish()
    }
}

struct DebugFields<'a>(&'a [(Key, Value)]);

impl fmt::Debug for DebugFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k.as_str(), v)))
            .finish()
    }
}

impl Event {
    /// An empty event.
    ///
    /// ```
    /// assert!(firewatch_core::Event::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sanitises `value` for `field`, validates it and stores it, replacing any earlier value.
    ///
    /// `value` is anything convertible to JSON (`&str`, `String`, integers, floats, booleans or a
    /// [`serde_json::Value`]). As in IntelMQ, `null`, `""`, `"-"` and `"N/A"` mean "no value": the
    /// call succeeds and leaves the event unchanged. `extra.*` keys take any JSON value; `extra`
    /// itself takes a JSON object (or a string holding one) whose members become `extra.*` keys.
    /// Unknown field names are rejected. On error the event is unchanged.
    ///
    /// ```
    /// use firewatch_core::Event;
    /// let mut event = Event::new();
    /// event.set("source.asn", "AS64496").unwrap();
    /// assert_eq!(event.get("source.asn").unwrap().as_i64(), Some(64496));
    /// let err = event.set("source.asn", "0").unwrap_err();
    /// assert_eq!(err.to_string(), r#"source.asn: "0" is not a valid ASN (must be 1..4294967295)"#);
    /// ```
    pub fn set(&mut self, field: &str, value: impl Into<Json>) -> Result<(), FieldError> {
        self.set_from(field, &value.into(), Origin::Raw)
    }

    fn set_from(&mut self, field: &str, value: &Json, origin: Origin) -> Result<(), FieldError> {
        if sanitize::is_absent(value) {
            return Ok(());
        }
        if field == "extra" {
            return self.set_extra_object(value, origin);
        }
        if field.starts_with("extra.") {
            if !harmonization::is_extra_key(field) {
                return Err(FieldError::new(
                    field,
                    value,
                    "is under an invalid extra key (use extra. and lowercase letters, digits, _ and .)",
                ));
            }
            self.insert(Key::Shared(Arc::from(field)), Value::Json(value.clone()));
            return Ok(());
        }
        let Some(spec) = harmonization::event_field(field) else {
            return Err(FieldError::new(
                field,
                value,
                "is for an unknown field (not in the IntelMQ harmonization)",
            ));
        };
        debug_assert_ne!(spec.ty, FieldType::JsonDict);
        let sanitized = sanitize::sanitize(spec, value, origin)
            .map_err(|r| FieldError::new(field, value, r))?;
        self.insert(Key::Static(spec.name), sanitized);
        Ok(())
    }

    fn set_extra_object(&mut self, value: &Json, origin: Origin) -> Result<(), FieldError> {
        let parsed;
        let object = match value {
            Json::Object(map) => map,
            Json::String(s) => match serde_json::from_str::<Json>(s) {
                Ok(Json::Object(map)) => {
                    parsed = map;
                    &parsed
                }
                _ => return Err(FieldError::new("extra", value, "is not a JSON object")),
            },
            _ => return Err(FieldError::new("extra", value, "is not a JSON object")),
        };
        // Validate all members first so that a rejected member leaves the event unchanged.
        let mut staged = self.clone();
        for (key, member) in object {
            staged.set_from(&format!("extra.{key}"), member, origin)?;
        }
        *self = staged;
        Ok(())
    }

    /// Stores an already sanitised and validated value without checking it again (for parsers
    /// in this crate that validate through [`crate::sanitize`] with a precompiled field spec).
    #[allow(dead_code)]
    pub fn insert_validated(&mut self, field: &str, value: Value) {
        self.insert(Key::from(field), value);
    }

    /// An event from fields already sorted by name, names unique, values validated.
    pub fn from_sorted(fields: Vec<(Key, Value)>) -> Event {
        debug_assert!(fields.windows(2).all(|w| w[0].0.as_str() < w[1].0.as_str()));
        Event { fields }
    }

    fn position(&self, field: &str) -> Result<usize, usize> {
        self.fields.binary_search_by(|(k, _)| k.as_str().cmp(field))
    }

    /// Inserts or replaces.
    fn insert(&mut self, key: Key, value: Value) {
        match self.position(key.as_str()) {
            Ok(i) => self.fields[i].1 = value,
            Err(i) => self.fields.insert(i, (key, value)),
        }
    }

    /// The value of `field`, if set.
    ///
    /// ```
    /// let mut event = firewatch_core::Event::new();
    /// event.set("source.ip", "2001:DB8:0::1").unwrap();
    /// assert_eq!(event.get("source.ip").unwrap().as_str(), Some("2001:db8::1"));
    /// ```
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.position(field).ok().map(|i| &self.fields[i].1)
    }

    /// Removes `field` and returns its value, if it was set.
    ///
    /// ```
    /// let mut event = firewatch_core::Event::new();
    /// event.set("feed.name", "scan").unwrap();
    /// assert!(event.remove("feed.name").is_some());
    /// assert!(event.is_empty());
    /// ```
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        self.position(field).ok().map(|i| self.fields.remove(i).1)
    }

    /// Whether `field` is set.
    ///
    /// ```
    /// assert!(!firewatch_core::Event::new().contains("source.ip"));
    /// ```
    pub fn contains(&self, field: &str) -> bool {
        self.position(field).is_ok()
    }

    /// The fields and values, sorted by field name.
    ///
    /// ```
    /// let mut event = firewatch_core::Event::new();
    /// event.set("source.port", 22).unwrap();
    /// event.set("destination.port", "80").unwrap();
    /// let names: Vec<_> = event.iter().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["destination.port", "source.port"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of fields set.
    ///
    /// ```
    /// assert_eq!(firewatch_core::Event::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field is set.
    ///
    /// ```
    /// assert!(firewatch_core::Event::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Sets `classification.taxonomy` from `classification.type` when the type is set and the
    /// taxonomy is not (as IntelMQ's taxonomy expert does). Returns whether it set it.
    ///
    /// ```
    /// let mut event = firewatch_core::Event::new();
    /// event.set("classification.type", "scanner").unwrap();
    /// assert!(event.fill_taxonomy());
    /// assert_eq!(event.get("classification.taxonomy").unwrap().as_str(), Some("information-gathering"));
    /// ```
    pub fn fill_taxonomy(&mut self) -> bool {
        if self.contains("classification.taxonomy") {
            return false;
        }
        let Some(taxonomy) = self
            .get("classification.type")
            .and_then(Value::as_str)
            .and_then(taxonomy::taxonomy_of)
        else {
            return false;
        };
        self.insert(
            Key::Static("classification.taxonomy"),
            Value::Text(taxonomy.to_owned()),
        );
        true
    }

    /// Builds an event from one IntelMQ JSON line (flat dotted keys; a nested `extra` object is
    /// also accepted). Every field is validated; all rejected fields are reported together.
    /// A `__type` key (`"Event"`, as IntelMQ's internal messages carry) is ignored.
    ///
    /// The values are taken as already harmonized: `raw` must already be Base64. Other values are
    /// sanitised as by [`Event::set`], so non-canonical but valid values are accepted.
    ///
    /// ```
    /// let event = firewatch_core::Event::from_intelmq_json(
    ///     r#"{"source.ip": "192.0.2.1", "classification.type": "scanner"}"#,
    /// ).unwrap();
    /// assert_eq!(event.len(), 2);
    /// assert!(firewatch_core::Event::from_intelmq_json("not json").is_err());
    /// ```
    pub fn from_intelmq_json(line: &str) -> Result<Event, EventError> {
        let json: Json = serde_json::from_str(line)?;
        Self::from_json_value(&json)
    }

    /// Builds an event from an already parsed IntelMQ JSON object; see
    /// [`Event::from_intelmq_json`].
    ///
    /// ```
    /// let json = serde_json::json!({"source.port": 22});
    /// assert!(firewatch_core::Event::from_json_value(&json).is_ok());
    /// ```
    pub fn from_json_value(json: &Json) -> Result<Event, EventError> {
        let Json::Object(map) = json else {
            return Err(EventError::NotAnObject);
        };
        let mut event = Event::new();
        let mut errors = Vec::new();
        for (key, value) in map {
            if key == "__type" && value.as_str() == Some("Event") {
                continue;
            }
            if let Err(e) = event.set_from(key, value, Origin::Harmonized) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(event)
        } else {
            Err(EventError::Fields(errors))
        }
    }

    /// The event as an IntelMQ JSON object with flat dotted keys.
    ///
    /// ```
    /// let mut event = firewatch_core::Event::new();
    /// event.set("source.port", "22").unwrap();
    /// assert_eq!(event.to_json_value(), serde_json::json!({"source.port": 22}));
    /// ```
    pub fn to_json_value(&self) -> Json {
        Json::Object(
            self.fields
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_json()))
                .collect(),
        )
    }

    /// The event as one IntelMQ JSON line (no trailing newline), keys sorted.
    ///
    /// ```
    /// let mut event = firewatch_core::Event::new();
    /// event.set("source.port", 22).unwrap();
    /// event.set("classification.type", "scanner").unwrap();
    /// assert_eq!(
    ///     event.to_intelmq_json(),
    ///     r#"{"classification.type":"scanner","source.port":22}"#,
    /// );
    /// ```
    pub fn to_intelmq_json(&self) -> String {
        serde_json::to_string(self).expect("event values serialise to JSON")
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_intelmq_json())
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.fields.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        Event::from_json_value(&json).map_err(D::Error::custom)
    }
}
