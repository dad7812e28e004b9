//! firewatch.toml: every section is the config struct of the crate that uses it.

use anyhow::{Context, Result};
use firewatch_darknet::{AggregationConfig, AttackThresholds, LabelRules};
use firewatch_detect::DetectConfig;
use firewatch_feeds::experts::{ExpertsConfig, RuleConfig, TlpConfig};
use firewatch_store::DedupeRule;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole configuration. Unknown keys are errors, so a typo never goes unnoticed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub aggregation: AggregationConfig,
    pub labels: LabelRules,
    pub attacks: AttackThresholds,
    pub detect: DetectConfig,
    pub feeds: FeedsConfig,
    pub web: firewatch_web::WebConfig,
}

/// `[feeds]`: how feed inputs are read, judged and deduplicated.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    /// Shadowserver's report schema (their intelmq.json), which describes every report; update
    /// it when Shadowserver adds reports. No default: the schema is data the user keeps current.
    pub shadowserver_schema: Option<PathBuf>,
    /// Seconds between looks at a watched directory.
    pub watch_interval_secs: f64,
    pub dedupe: DedupeConfig,
    /// TLP per feed (`[feeds.tlp]`: `default`, and `feeds` by feed.name).
    pub tlp: TlpConfig,
    /// Rules (`[[feeds.rules]]`: `when` a filter matches, `set` fields): taxonomy mapping and
    /// corrections.
    pub rules: Vec<RuleConfig>,
}

impl FeedsConfig {
    pub fn experts(&self) -> ExpertsConfig {
        ExpertsConfig {
            tlp: self.tlp.clone(),
            rules: self.rules.clone(),
        }
    }
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig {
            shadowserver_schema: None,
            watch_interval_secs: 10.0,
            dedupe: DedupeConfig::default(),
            tlp: TlpConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// `[feeds.dedupe]`: two events are one when these fields are equal and their times are
/// within the window (a daily report repeating yesterday's host is not news).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DedupeConfig {
    pub fields: Vec<String>,
    pub window_secs: u64,
}

impl Default for DedupeConfig {
    fn default() -> Self {
        let rule = DedupeRule::default();
        DedupeConfig {
            fields: rule.fields,
            window_secs: rule.window_secs,
        }
    }
}

impl DedupeConfig {
    pub fn rule(&self) -> DedupeRule {
        DedupeRule {
            fields: self.fields.clone(),
            window_secs: self.window_secs,
        }
    }
}

impl Config {
    /// Reads the file given, else the user's `firewatch/firewatch.toml` if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => dirs::config_dir()
                .map(|d| d.join("firewatch/firewatch.toml"))
                .filter(|p| p.exists()),
        };
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// The store used when --db and FIREWATCH_DB are both absent.
pub fn default_db() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("firewatch")
        .join("firewatch.db")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_file_in_the_repository_parses_to_the_defaults() {
        let text = include_str!("../../../firewatch.toml");
        let parsed: Config = toml::from_str(text).unwrap();
        assert_eq!(
            toml::to_string(&parsed).unwrap(),
            toml::to_string(&Config::default()).unwrap()
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[aggregation]\ninterval = 30\n").is_err());
    }
}
