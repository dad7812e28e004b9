//! Names of the event fields Firewatch itself reads or writes, written once.
//!
//! Every name is an IntelMQ harmonization key (`harmonization::EVENT_FIELDS` holds their types);
//! the `extra.*` ones are Firewatch's own, carried in IntelMQ's free-form `extra` namespace.

/// The TLP 2.0 level of the event (`CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`).
pub const TLP: &str = "tlp";
/// The team that produced or ingested the event (AMBER and AMBER+STRICT readers).
pub const EXTRA_OWNER: &str = "extra.owner";
/// The team the event was routed to (AMBER readers, the notice's addressee).
pub const EXTRA_TEAM: &str = "extra.team";
/// The teams named for a RED event, a JSON array of team ids.
pub const EXTRA_RECIPIENTS: &str = "extra.recipients";
/// The feed the event came from.
pub const FEED_NAME: &str = "feed.name";
/// The source's IP address.
pub const SOURCE_IP: &str = "source.ip";
/// The RSIT classification type.
pub const CLASSIFICATION_TYPE: &str = "classification.type";
/// The RSIT taxonomy of the classification type.
pub const CLASSIFICATION_TAXONOMY: &str = "classification.taxonomy";
/// The producer's identifier of what was found (`darknet-spike`, `open-dns`).
pub const CLASSIFICATION_IDENTIFIER: &str = "classification.identifier";
/// When the source saw it.
pub const TIME_SOURCE: &str = "time.source";
/// When the collector saw it.
pub const TIME_OBSERVATION: &str = "time.observation";
