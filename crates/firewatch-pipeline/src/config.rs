//! The pipeline's sections of `firewatch.toml`: each is the config struct of the crate that uses
//! it, except `[feeds]`, which is the pipeline's own.

use firewatch_darknet::{AggregationConfig, AttackThresholds, LabelRules};
use firewatch_detect::DetectConfig;
use firewatch_feeds::experts::{ExpertsConfig, RuleConfig, TlpConfig};
use firewatch_store::DedupeRule;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the pipeline needs of the configuration (the binary's `Config` adds the web service and
/// the notices, which only their commands read).
#[derive(Debug, Clone, Default)]
pub struct PipelineConfig {
    /// `[aggregation]`: intervals and memory bounds of the telescope aggregation.
    pub aggregation: AggregationConfig,
    /// `[labels]`: the labelling rules of telescope sources.
    pub labels: LabelRules,
    /// `[attacks]`: when backscatter makes an attack.
    pub attacks: AttackThresholds,
    /// `[detect]`: the spike and new-campaign detector.
    pub detect: DetectConfig,
    /// `[feeds]`: how feed inputs are read, judged and deduplicated.
    pub feeds: FeedsConfig,
    /// `[metrics]`: the Internet-health metrics.
    pub metrics: firewatch_metrics::MetricsConfig,
    /// The telescope's one TLP and owner (`[web] darknet_tlp`, `darknet_owner`): its findings
    /// stored as events, its alerts in notices and its records on the web all carry them.
    pub telescope: firewatch_core::access::TelescopeAccess,
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
