//! A validated field value of a harmonized event.

use serde::{Serialize, Serializer};
use serde_json::Value as Json;

/// A validated field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text: strings, addresses, networks, names, URLs, date-times, Base64, JSON documents.
    Text(String),
    /// Integers: ports, ASNs, `rtir_id`.
    Integer(i64),
    /// Floats: coordinates, accuracy.
    Float(f64),
    /// Booleans: `*.tor_node`.
    Boolean(bool),
    /// Any JSON value: the members of `extra`.
    Json(Json),
}

impl Value {
    /// The value as text, if it is text.
    ///
    /// ```
    /// use firewatch_core::Value;
    /// assert_eq!(Value::Text("scanner".into()).as_str(), Some("scanner"));
    /// assert_eq!(Value::Integer(1).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, if it is one.
    ///
    /// ```
    /// assert_eq!(firewatch_core::Value::Integer(64496).as_i64(), Some(64496));
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The value in IntelMQ's JSON form.
    ///
    /// ```
    /// use firewatch_core::Value;
    /// assert_eq!(Value::Integer(22).to_json(), serde_json::json!(22));
    /// ```
    pub fn to_json(&self) -> Json {
        match self {
            Value::Text(s) => Json::String(s.clone()),
            Value::Integer(i) => Json::from(*i),
            Value::Float(x) => Json::from(*x),
            Value::Boolean(b) => Json::Bool(*b),
            Value::Json(j) => j.clone(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(s) => serializer.serialize_str(s),
            Value::Integer(i) => serializer.serialize_i64(*i),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Boolean(b) => serializer.serialize_bool(*b),
            Value::Json(j) => j.serialize(serializer),
        }
    }
}
