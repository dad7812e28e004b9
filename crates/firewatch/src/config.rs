//! firewatch.toml: every section is the config struct of the crate that uses it.

use anyhow::{Context, Result};
use firewatch_darknet::{AggregationConfig, AttackThresholds, LabelRules};
use firewatch_detect::DetectConfig;
use firewatch_pipeline::{FeedsConfig, PipelineConfig};
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
    /// `[notify]`: who is told what, how (see docs/notify.md); absent: nothing is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<firewatch_notify::NotifyConfig>,
    pub metrics: firewatch_metrics::MetricsConfig,
    /// `[share]`: the producer of STIX and MISP exports (see docs/sharing.md).
    pub share: firewatch_share::ShareConfig,
    /// `[cases]`: case mail's subject tag and triage desk (see docs/cases.md).
    pub cases: firewatch_cases::CasesConfig,
    /// `[store]`: where the store is (a SQLite file or PostgreSQL; see docs/postgres.md).
    pub store: firewatch_store::StoreConfig,
}

impl Config {
    /// The sections the pipeline reads; fails on a telescope TLP that is not a level, or on
    /// `[detect]` values that make no sense.
    pub fn pipeline(&self) -> Result<PipelineConfig> {
        self.detect.validate()?;
        Ok(PipelineConfig {
            aggregation: self.aggregation.clone(),
            labels: self.labels.clone(),
            attacks: self.attacks.clone(),
            detect: self.detect.clone(),
            feeds: self.feeds.clone(),
            metrics: self.metrics.clone(),
            telescope: self
                .web
                .telescope_access()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        })
    }

    /// Reads the file given, else the user's `firewatch/firewatch.toml` if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => dirs::config_dir()
                .map(|d| d.join("firewatch/firewatch.toml"))
                .filter(|p| p.exists()),
        };
        let (text, origin) = match path {
            Some(path) => (
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                path.display().to_string(),
            ),
            None => (String::new(), "the defaults".to_owned()),
        };
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let (table, overridden) = apply_env_overrides(table, std::env::vars())?;
        if overridden.is_empty() {
            // From the text, so that an unknown key is reported with its line.
            return toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"));
        }
        Config::deserialize(toml::Value::Table(table))
            .map_err(|e| anyhow::anyhow!("{origin} with {}: {e}", overridden.join(", ")))
    }
}

/// The prefix of environment variables that override a key of firewatch.toml.
pub const ENV_OVERRIDE_PREFIX: &str = "FIREWATCH__";

/// Applies `FIREWATCH__<SECTION>__<KEY>=<value>` variables to the parsed file, for deployments
/// that configure through the environment (containers, systemd units). Double underscores
/// separate the levels because keys contain single ones: `FIREWATCH__WEB__DARKNET_TLP=AMBER`
/// sets `[web] darknet_tlp`. The value is read as a TOML value when it is one (`false`, `30`,
/// `["a", "b"]`, `"quoted"`), else taken as a string (`0.0.0.0:8080`). Returns the table and
/// the names of the variables applied, sorted.
pub fn apply_env_overrides(
    mut table: toml::Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(toml::Table, Vec<String>)> {
    let mut applied: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_OVERRIDE_PREFIX))
        .collect();
    applied.sort();
    for (name, raw) in &applied {
        let path: Vec<String> = name[ENV_OVERRIDE_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            anyhow::bail!(
                "{name}: expected FIREWATCH__<SECTION>__<KEY>, e.g. FIREWATCH__WEB__LISTEN"
            );
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let (key, sections) = path.split_last().expect("at least one part");
        let mut at = &mut table;
        for section in sections {
            let entry = at
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = entry.as_table_mut().ok_or_else(|| {
                anyhow::anyhow!(
                    "{name}: `{section}` is a value in the configuration, not a section"
                )
            })?;
        }
        at.insert(key.clone(), value);
    }
    Ok((table, applied.into_iter().map(|(n, _)| n).collect()))
}

/// The store used when --db and FIREWATCH_DB are both absent.
pub fn default_db() -> PathBuf {
    data_dir().join("firewatch.db")
}

/// The user's Firewatch data directory (`~/.local/share/firewatch` on Linux).
fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("firewatch")
}

impl Config {
    /// The pipeline's context: the store named by `--db`/`FIREWATCH_DB` (`cli_db`), else by
    /// `[store] url`, else [`default_db`]; a PostgreSQL store keeps its registry datasets in
    /// `[store] data_dir`, else in the user's data directory under the database's name.
    pub fn context(&self, cli_db: Option<&str>) -> Result<firewatch_pipeline::Context> {
        let location = match cli_db.or(self.store.url.as_deref()) {
            Some(spec) => firewatch_store::StoreLocation::parse(spec),
            None => firewatch_store::StoreLocation::Sqlite(default_db()),
        };
        let mut ctx = firewatch_pipeline::Context::new(self.pipeline()?, location.clone());
        if let firewatch_store::StoreLocation::Postgres(_) = location {
            let dir = self.store.data_dir.clone().unwrap_or_else(data_dir);
            ctx = ctx.with_dataset_anchor(dir.join(location.slug()));
        }
        Ok(ctx)
    }
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

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_keys_with_typed_values() {
        let file: toml::Table = toml::from_str("[web]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        let (table, applied) = apply_env_overrides(
            file,
            vars(&[
                ("FIREWATCH__WEB__LISTEN", "0.0.0.0:8080"),
                ("FIREWATCH__WEB__SECURE_COOKIES", "false"),
                ("FIREWATCH__FEEDS__DEDUPE__WINDOW_SECS", "60"),
                ("FIREWATCH_DB", "/elsewhere"),
            ]),
        )
        .unwrap();
        let config = Config::deserialize(toml::Value::Table(table)).unwrap();
        assert_eq!(config.web.listen, "0.0.0.0:8080");
        assert!(!config.web.secure_cookies);
        assert_eq!(config.feeds.dedupe.window_secs, 60);
        assert_eq!(applied.len(), 3, "{applied:?}");
    }

    #[test]
    fn environment_overrides_are_checked_like_the_file() {
        let (table, _) =
            apply_env_overrides(toml::Table::new(), vars(&[("FIREWATCH__WEB__LISTN", "x")]))
                .unwrap();
        let err = Config::deserialize(toml::Value::Table(table)).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err =
            apply_env_overrides(toml::Table::new(), vars(&[("FIREWATCH____X", "1")])).unwrap_err();
        assert!(err.to_string().contains("FIREWATCH____X"), "{err}");
        let file: toml::Table = toml::from_str("web = 1\n").unwrap();
        assert!(apply_env_overrides(file, vars(&[("FIREWATCH__WEB__LISTEN", "x")])).is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[aggregation]\ninterval = 30\n").is_err());
    }
}
