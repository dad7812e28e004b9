//! firewatch.toml: every section is the config struct of the crate that uses it.

use anyhow::{Context, Result};
use firewatch_darknet::{AggregationConfig, AttackThresholds, LabelRules};
use firewatch_detect::DetectConfig;
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
