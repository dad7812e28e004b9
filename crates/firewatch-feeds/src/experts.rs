//! Experts: what happens to every parsed event before it is stored, in IntelMQ's words.
//!
//! In order: the configured **rules** (taxonomy mapping and corrections: when a filter matches,
//! set fields), **taxonomy** (`classification.taxonomy` from `classification.type`, as RSIT
//! defines it), **enrichment** (country, network and responsible team of `source.ip` and
//! `destination.ip`), and **TLP** (the feed's level unless the event carries its own).
//! Deduplication is the store's job, because only the store knows what came before.
//!
//! ```
//! use firewatch_core::Event;
//! use firewatch_feeds::experts::{Experts, ExpertsConfig};
//!
//! let config: ExpertsConfig = toml::from_str(r#"
//!     [tlp]
//!     default = "AMBER"
//!     feeds = { "DNS-Open-Resolvers" = "GREEN" }
//!     [[rules]]
//!     when = "feed.name = Cowrie and classification.identifier = cowrie-command"
//!     set = { "classification.type" = "system-compromise" }
//! "#).unwrap();
//! let experts = Experts::new(&config, None).unwrap();
//!
//! let mut event = Event::new();
//! event.set("feed.name", "DNS-Open-Resolvers").unwrap();
//! event.set("classification.type", "vulnerable-system").unwrap();
//! experts.process(&mut event).unwrap();
//! assert_eq!(event.get("tlp").unwrap().as_str(), Some("GREEN"));
//! assert_eq!(event.get("classification.taxonomy").unwrap().as_str(), Some("vulnerable"));
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use firewatch_core::filter::Filter;
use firewatch_core::{Event, FieldError};

pub use firewatch_core::attribution::{Attribute, Attribution};

/// The event field that carries the responsible team's id (IntelMQ has no field for it).
use firewatch_core::fields::EXTRA_TEAM;

/// TLP per feed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlpConfig {
    /// The level of events whose feed is not listed and which carry none of their own.
    pub default: String,
    /// Level by `feed.name`.
    pub feeds: BTreeMap<String, String>,
}

impl Default for TlpConfig {
    fn default() -> Self {
        // AMBER: reports name hosts in someone's constituency; sharing wider is a choice.
        TlpConfig {
            default: "AMBER".to_owned(),
            feeds: BTreeMap::new(),
        }
    }
}

/// A rule: when the filter matches, set these fields (IntelMQ's modify expert, with
/// Firewatch's filter language).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// A filter, e.g. `feed.name = Cowrie and classification.identifier = cowrie-login`.
    pub when: String,
    /// Field → value, validated like any other value.
    pub set: BTreeMap<String, Json>,
}

/// The experts' configuration, the `[feeds]` part of firewatch.toml minus deduplication.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExpertsConfig {
    pub tlp: TlpConfig,
    pub rules: Vec<RuleConfig>,
}

/// A configuration the experts cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ExpertsError {
    #[error("rule {index} ({when:?}): {reason}")]
    Rule {
        index: usize,
        when: String,
        reason: String,
    },
    #[error("tlp for {scope}: {reason}")]
    Tlp { scope: String, reason: String },
}

struct Rule {
    filter: Filter,
    set: Vec<(String, Json)>,
}

/// The expert chain, built once and applied to every event.
pub struct Experts {
    rules: Vec<Rule>,
    tlp_default: String,
    tlp_by_feed: BTreeMap<String, String>,
    attribution: Option<Arc<dyn Attribute>>,
}

impl Experts {
    /// Checks the configuration (filters parse, values validate, TLP levels exist) and builds
    /// the chain. Without `attribution`, events are not enriched.
    pub fn new(
        config: &ExpertsConfig,
        attribution: Option<Arc<dyn Attribute>>,
    ) -> Result<Self, ExpertsError> {
        let mut rules = Vec::with_capacity(config.rules.len());
        for (i, rule) in config.rules.iter().enumerate() {
            let index = i + 1;
            let bad = |reason: String| ExpertsError::Rule {
                index,
                when: rule.when.clone(),
                reason,
            };
            let filter = Filter::parse(&rule.when).map_err(|e| bad(e.to_string()))?;
            let mut probe = Event::new();
            for (field, value) in &rule.set {
                probe
                    .set(field, value.clone())
                    .map_err(|e| bad(e.to_string()))?;
            }
            rules.push(Rule {
                filter,
                set: rule
                    .set
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        let tlp_default = canonical_tlp("the default", &config.tlp.default)?;
        let tlp_by_feed = config
            .tlp
            .feeds
            .iter()
            .map(|(feed, level)| Ok((feed.clone(), canonical_tlp(feed, level)?)))
            .collect::<Result<_, ExpertsError>>()?;
        Ok(Experts {
            rules,
            tlp_default,
            tlp_by_feed,
            attribution,
        })
    }

    /// Runs every expert on one event.
    pub fn process(&self, event: &mut Event) -> Result<(), FieldError> {
        for rule in &self.rules {
            if rule.filter.matches(event) {
                for (field, value) in &rule.set {
                    event.set(field, value.clone())?;
                }
            }
        }
        event.fill_taxonomy();
        if let Some(attribution) = &self.attribution {
            enrich(event, attribution.as_ref(), "source")?;
            enrich(event, attribution.as_ref(), "destination")?;
        }
        if !event.contains("tlp") {
            let level = event
                .get("feed.name")
                .and_then(|v| v.as_str())
                .and_then(|feed| self.tlp_by_feed.get(feed))
                .unwrap_or(&self.tlp_default);
            event.set("tlp", level.as_str())?;
        }
        Ok(())
    }
}

fn canonical_tlp(scope: &str, level: &str) -> Result<String, ExpertsError> {
    let mut probe = Event::new();
    probe.set("tlp", level).map_err(|e| ExpertsError::Tlp {
        scope: scope.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(probe
        .get("tlp")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned())
}

/// Fills what the feed did not say about `side`'s address; a feed's own country and ASN are
/// kept (the reporter saw the address at the time; our data may be newer or older). The team
/// always comes from our directory, since only we know our constituencies; it is set for the
/// source, the party a report is about.
fn enrich(event: &mut Event, attribution: &dyn Attribute, side: &str) -> Result<(), FieldError> {
    let ip_field = format!("{side}.ip");
    let Some(addr) = event
        .get(&ip_field)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<IpAddr>().ok())
    else {
        return Ok(());
    };
    let found = attribution.attribute(addr);
    let cc_field = format!("{side}.geolocation.cc");
    if let (false, Some(cc)) = (event.contains(&cc_field), found.country) {
        event.set(&cc_field, cc)?;
    }
    let asn_field = format!("{side}.asn");
    if let (false, Some(asn)) = (event.contains(&asn_field), found.asn) {
        event.set(&asn_field, asn)?;
        let name_field = format!("{side}.as_name");
        if let (false, Some(name)) = (event.contains(&name_field), found.as_name) {
            event.set(&name_field, name)?;
        }
    }
    if side == "source" {
        match found.team {
            Some(team) => event.set(EXTRA_TEAM, team)?,
            None => {
                event.remove(EXTRA_TEAM);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Attribute for Fixed {
        fn attribute(&self, addr: IpAddr) -> Attribution {
            if addr.to_string().starts_with("192.0.2.") {
                Attribution {
                    country: Some("JP".into()),
                    asn: Some(64496),
                    as_name: Some("EXAMPLE-NET".into()),
                    team: Some("jpcert".into()),
                    data_version: None,
                }
            } else {
                Attribution::default()
            }
        }
    }

    fn event(fields: &[(&str, &str)]) -> Event {
        let mut e = Event::new();
        for (k, v) in fields {
            e.set(k, *v).unwrap();
        }
        e
    }

    #[test]
    fn enrichment_fills_gaps_but_keeps_what_the_feed_said() {
        let experts = Experts::new(&ExpertsConfig::default(), Some(Arc::new(Fixed))).unwrap();
        let mut e = event(&[("source.ip", "192.0.2.7"), ("source.geolocation.cc", "KR")]);
        experts.process(&mut e).unwrap();
        assert_eq!(e.get("source.geolocation.cc").unwrap().as_str(), Some("KR"));
        assert_eq!(e.get("source.asn").unwrap().as_i64(), Some(64496));
        assert_eq!(
            e.get("source.as_name").unwrap().as_str(),
            Some("EXAMPLE-NET")
        );
        assert_eq!(e.get(EXTRA_TEAM).unwrap().to_json(), "jpcert");
        assert_eq!(e.get("tlp").unwrap().as_str(), Some("AMBER"));

        let mut outside = event(&[("source.ip", "198.51.100.1")]);
        experts.process(&mut outside).unwrap();
        assert!(!outside.contains("source.geolocation.cc"));
        assert!(!outside.contains(EXTRA_TEAM));
    }

    #[test]
    fn an_events_own_tlp_wins_over_the_feeds() {
        let mut config = ExpertsConfig::default();
        config.tlp.feeds.insert("Cowrie".into(), "tlp:green".into());
        let experts = Experts::new(&config, None).unwrap();
        let mut own = event(&[("feed.name", "Cowrie"), ("tlp", "RED")]);
        experts.process(&mut own).unwrap();
        assert_eq!(own.get("tlp").unwrap().as_str(), Some("RED"));
        let mut by_feed = event(&[("feed.name", "Cowrie")]);
        experts.process(&mut by_feed).unwrap();
        assert_eq!(by_feed.get("tlp").unwrap().as_str(), Some("GREEN"));
    }

    #[test]
    fn rules_map_taxonomy_and_bad_rules_are_refused() {
        let config: ExpertsConfig = toml::from_str(
            r#"
            [[rules]]
            when = "classification.identifier = mirai"
            set = { "classification.type" = "infected-system", "malware.name" = "mirai" }
            "#,
        )
        .unwrap();
        let experts = Experts::new(&config, None).unwrap();
        let mut e = event(&[("classification.identifier", "mirai")]);
        experts.process(&mut e).unwrap();
        assert_eq!(
            e.get("classification.taxonomy").unwrap().as_str(),
            Some("malicious-code")
        );
        assert_eq!(e.get("malware.name").unwrap().as_str(), Some("mirai"));

        for bad in [
            r#"[[rules]]
               when = "classification.typo = x"
               set = { "tlp" = "RED" }"#,
            r#"[[rules]]
               when = "source.port = 1"
               set = { "source.port" = "http" }"#,
            "[tlp]\ndefault = \"PURPLE\"",
        ] {
            let config: ExpertsConfig = toml::from_str(bad).unwrap();
            assert!(Experts::new(&config, None).is_err(), "{bad}");
        }
    }
}
