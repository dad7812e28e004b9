-- The telescope area (issue 17): each capture's base facts (port cells, source profiles,
-- backscatter minutes, flowtuples) with its input record, and what is derived from them
-- (labels and attributions, attacks, alerts); the team directory; the store's `meta` keys.
--
-- Addresses and other keys the listings order by are TEXT under the "C" collation: the
-- SQLite backend keeps them as text and orders them bytewise, and both backends must list
-- in the same order whatever the database's locale. Blobs (source lists, distinct sets, TTL
-- sets) are BYTEA in the encoding the SQLite backend writes. Unsigned 64-bit counts are
-- BIGINT, as SQLite keeps them.

CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE inputs (
    content_hash TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    format TEXT NOT NULL,
    ingested_at BIGINT NOT NULL,
    frames BIGINT NOT NULL,
    ip_packets BIGINT NOT NULL,
    first_ns BIGINT,
    last_ns BIGINT,
    complete BOOLEAN NOT NULL,
    error TEXT,
    counters JSONB NOT NULL
);
CREATE INDEX inputs_by_time ON inputs (first_ns, last_ns);

CREATE TABLE capture_extents (
    content_hash TEXT COLLATE "C" PRIMARY KEY REFERENCES inputs (content_hash) ON DELETE CASCADE,
    first_frame_ns BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    fingerprint_frames BIGINT NOT NULL,
    skipped_frames BIGINT NOT NULL,
    frames_through BIGINT NOT NULL,
    continues TEXT
);
CREATE INDEX capture_extents_by_start ON capture_extents (first_frame_ns);

-- Range-partitioned by interval start; the commit creates the partitions it needs (fixed
-- 7-day ranges, see postgres/telescope.rs), so old weeks can be detached or dropped whole.
CREATE TABLE port_intervals (
    proto SMALLINT NOT NULL,
    port INTEGER NOT NULL,
    interval_start BIGINT NOT NULL,
    packets BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    unique_sources BIGINT NOT NULL,
    unique_destinations BIGINT NOT NULL,
    sources BYTEA NOT NULL,
    destinations BYTEA NOT NULL,
    PRIMARY KEY (proto, port, interval_start)
) PARTITION BY RANGE (interval_start);
CREATE INDEX port_intervals_by_time ON port_intervals (interval_start);

CREATE TABLE sources (
    addr TEXT COLLATE "C" PRIMARY KEY,
    label TEXT NOT NULL,
    first_ns BIGINT NOT NULL,
    last_ns BIGINT NOT NULL,
    packets BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    distinct_destinations BIGINT NOT NULL,
    distinct_ports BIGINT NOT NULL,
    counters TEXT NOT NULL,
    ttls BYTEA NOT NULL,
    destinations BYTEA NOT NULL,
    ports BYTEA NOT NULL,
    top_ports TEXT NOT NULL,
    country TEXT,
    asn BIGINT,
    as_name TEXT,
    team TEXT,
    data_version TEXT
);
-- The listings: busiest first, ties by address, optionally of one label or team.
CREATE INDEX sources_by_packets ON sources (packets DESC, addr);
CREATE INDEX sources_by_label ON sources (label, packets DESC, addr);
CREATE INDEX sources_by_team ON sources (team, packets DESC, addr);
CREATE INDEX sources_by_country ON sources (country);

CREATE TABLE backscatter_minutes (
    victim TEXT COLLATE "C" NOT NULL,
    minute BIGINT NOT NULL,
    packets BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    first_ns BIGINT NOT NULL,
    last_ns BIGINT NOT NULL,
    proto SMALLINT NOT NULL,
    ports INTEGER[] NOT NULL,
    PRIMARY KEY (victim, minute)
);

CREATE TABLE attacks (
    victim TEXT COLLATE "C" NOT NULL,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL,
    packets BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    peak_per_minute BIGINT NOT NULL,
    proto SMALLINT NOT NULL,
    ports INTEGER[] NOT NULL,
    country TEXT,
    asn BIGINT,
    as_name TEXT,
    team TEXT,
    data_version TEXT,
    PRIMARY KEY (victim, start_ns)
);
CREATE INDEX attacks_by_time ON attacks (start_ns);
CREATE INDEX attacks_by_end ON attacks (end_ns);

-- The record is the exact JSON text the SQLite backend keeps: JSONB would re-print its
-- floating-point figures, and they must read back bit for bit. `ord` is the position in the
-- list replace_alerts was given, the last tie-break of the listing (SQLite's rowid order).
CREATE TABLE alerts (
    id TEXT COLLATE "C" PRIMARY KEY,
    ord INTEGER NOT NULL,
    proto SMALLINT NOT NULL,
    port INTEGER NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT,
    record TEXT NOT NULL
);
CREATE INDEX alerts_by_time ON alerts (start_at);

-- Range-partitioned by interval start like port_intervals.
CREATE TABLE flowtuples (
    interval_start BIGINT NOT NULL,
    src TEXT COLLATE "C" NOT NULL,
    dst TEXT COLLATE "C" NOT NULL,
    sport INTEGER NOT NULL,
    dport INTEGER NOT NULL,
    proto SMALLINT NOT NULL,
    ttl SMALLINT NOT NULL,
    tcp_flags SMALLINT NOT NULL,
    ip_len INTEGER NOT NULL,
    spoofed BOOLEAN NOT NULL,
    masscan BOOLEAN NOT NULL,
    packets BIGINT NOT NULL,
    PRIMARY KEY (interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len, spoofed, masscan)
) PARTITION BY RANGE (interval_start);

CREATE TABLE team_directory (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    toml TEXT NOT NULL,
    origin TEXT NOT NULL,
    allow_nested_prefixes BOOLEAN NOT NULL,
    imported_at BIGINT NOT NULL
);
