//! Prometheus metrics: requests and latency per route; what the store holds (events, ingested
//! packets and events, open alerts), read at each scrape so that every process writing to the
//! store (ingest, watch, fetch) shows up, not only this one.
//!
//! The process's counters are public. The store's figures count every record whatever its
//! TLP (a RED event someone may not read is still one more in `events_stored`), so they go
//! only to an administrator's token or session (issue 22, item 15): Prometheus scrapes them
//! with `authorization: { credentials_file: ... }` holding an administrator's token.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template (`/api/v1/sources/{ip}`), never the raw path, so that the label set
    /// stays small.
    pub route: String,
    pub status: String,
}

/// Labels of a latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The service's metrics and their registries.
pub struct Metrics {
    /// The process's counters: requests and latency, for anyone.
    pub registry: Registry,
    /// The store's figures, for administrators.
    pub store_registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: HistogramFamily,
    pub events_stored: Gauge,
    /// IP packets in all ingested captures; `rate()` of it is the telescope's ingest rate.
    pub ingested_packets: Gauge,
    /// Feed events stored by all feed inputs (duplicates not counted); `rate()` of it is the
    /// feeds' ingest rate.
    pub ingested_events: Gauge,
    /// Inputs ingested, by kind (`capture`, `feed`).
    pub inputs: Family<KindLabels, Gauge>,
    /// Port alerts still open.
    pub alerts_open: Gauge,
    /// Unix time of the newest ingest of any kind.
    pub last_ingest: Gauge,
}

/// Labels of an input count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// What the store says at one scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreFigures {
    pub events_stored: u64,
    pub ingested_packets: u64,
    pub ingested_events: u64,
    pub capture_inputs: u64,
    pub feed_inputs: u64,
    pub alerts_open: u64,
    pub last_ingest: i64,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("firewatch");
        let mut store_registry = Registry::with_prefix("firewatch");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let events_stored = Gauge::default();
        let ingested_packets = Gauge::default();
        let ingested_events = Gauge::default();
        let inputs = Family::<KindLabels, Gauge>::default();
        let alerts_open = Gauge::default();
        let last_ingest = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        store_registry.register(
            "events_stored",
            "Feed events in the store",
            events_stored.clone(),
        );
        store_registry.register(
            "ingested_packets",
            "IP packets in all ingested captures (rate() gives the ingest rate)",
            ingested_packets.clone(),
        );
        store_registry.register(
            "ingested_events",
            "Feed events stored by all feed inputs, duplicates not counted (rate() gives the ingest rate)",
            ingested_events.clone(),
        );
        store_registry.register("inputs", "Inputs ingested, by kind", inputs.clone());
        store_registry.register("alerts_open", "Port alerts still open", alerts_open.clone());
        store_registry.register(
            "last_ingest_timestamp_seconds",
            "Unix time of the newest ingest",
            last_ingest.clone(),
        );
        Metrics {
            registry,
            store_registry,
            requests,
            latency,
            events_stored,
            ingested_packets,
            ingested_events,
            inputs,
            alerts_open,
            last_ingest,
        }
    }
}

impl Metrics {
    /// Sets the store gauges from one scrape's figures.
    pub fn set_store(&self, f: &StoreFigures) {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.events_stored.set(gauge(f.events_stored));
        self.ingested_packets.set(gauge(f.ingested_packets));
        self.ingested_events.set(gauge(f.ingested_events));
        for (kind, n) in [("capture", f.capture_inputs), ("feed", f.feed_inputs)] {
            self.inputs
                .get_or_create(&KindLabels { kind: kind.into() })
                .set(gauge(n));
        }
        self.alerts_open.set(gauge(f.alerts_open));
        self.last_ingest.set(f.last_ingest);
    }

    /// The text exposition format: the process's counters, and the store's figures (as last
    /// set by [`Metrics::set_store`]) when `with_store`.
    pub fn encode(&self, with_store: bool) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        if with_store {
            let _ = encode_registry(&mut out, &self.store_registry);
        }
        let _ = encode_eof(&mut out);
        out
    }
}
