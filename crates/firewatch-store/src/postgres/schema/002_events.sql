-- Feed events (issue 17): IntelMQ documents with the indexed columns of the SQLite store
-- (same names, same meaning), the inputs they came from, and the progress of inputs committed
-- in batches. Text columns compare bytewise (COLLATE "C"), as SQLite's BINARY does, so that
-- filters, ordering and grouping give the same answers on both backends.

CREATE TABLE feed_inputs (
    content_hash TEXT COLLATE "C" PRIMARY KEY,
    -- Commit order, the tie-break of `feed_inputs()` (SQLite's rowid).
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    feed TEXT,
    ingested_at BIGINT NOT NULL,
    records BIGINT NOT NULL,
    events BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL
);
CREATE INDEX feed_inputs_by_time ON feed_inputs (ingested_at, seq);

-- A row lives from the first batch's transaction to the last's, which records the input.
CREATE TABLE feed_input_progress (
    content_hash TEXT COLLATE "C" PRIMARY KEY,
    ingested_at BIGINT NOT NULL,
    batches BIGINT NOT NULL,
    inserted BIGINT NOT NULL
);

-- Partitioned by event time: one partition per calendar month from 2000 to 2100, created
-- (and attached) by the commit that first stores an event of the month, and two open-ended
-- ones for times outside those years (plain ranges rather than a DEFAULT partition, which
-- every new month would have to lock and check). The id is the store's (the writer assigns
-- max + 1 under its lock, as SQLite's rowid does), so it is unique although the key
-- PostgreSQL can enforce must hold the partition key too.
CREATE TABLE events (
    id BIGINT NOT NULL,
    time BIGINT NOT NULL,
    feed TEXT COLLATE "C",
    classification_type TEXT COLLATE "C",
    source_ip TEXT COLLATE "C",
    source_ip_key BYTEA,
    source_asn BIGINT,
    source_cc TEXT COLLATE "C",
    tlp TEXT COLLATE "C",
    team TEXT COLLATE "C",
    owner TEXT COLLATE "C",
    dedupe_key BYTEA,
    input_hash TEXT COLLATE "C",
    -- The IntelMQ JSON exactly as validated (keys sorted): returned as is by `event_docs`,
    -- read as JSONB by filters on fields without a column.
    doc TEXT NOT NULL,
    PRIMARY KEY (id, time)
) PARTITION BY RANGE (time);

CREATE TABLE events_before_2000 PARTITION OF events FOR VALUES FROM (MINVALUE) TO (946684800);
CREATE TABLE events_from_2100 PARTITION OF events FOR VALUES FROM (4102444800) TO (MAXVALUE);

CREATE INDEX events_by_time ON events (time, id);
CREATE INDEX events_by_dedupe ON events (dedupe_key, time);
CREATE INDEX events_by_source_ip ON events (source_ip_key);
CREATE INDEX events_by_classification_time ON events (classification_type, time);
CREATE INDEX events_by_country_time ON events (source_cc, time);
CREATE INDEX events_by_asn_time ON events (source_asn, time);
CREATE INDEX events_by_team_time ON events (team, time);
CREATE INDEX events_by_input ON events (input_hash);
-- The TLP visibility indexes: each branch of the TLP rule walks its own in time order.
CREATE INDEX events_by_tlp_time ON events (tlp, time, id);
CREATE INDEX events_by_tlp_owner_time ON events (tlp, owner, time, id);
CREATE INDEX events_by_tlp_team_time ON events (tlp, team, time, id);

-- The recipients of a RED event (`extra.recipients`). No foreign key: a key on the
-- partitioned events table would have to carry the time too; rows go with their event.
CREATE TABLE event_recipients (
    team TEXT COLLATE "C" NOT NULL,
    event_id BIGINT NOT NULL,
    PRIMARY KEY (team, event_id)
);
CREATE INDEX event_recipients_by_event ON event_recipients (event_id);

-- The document as JSONB, for filters and stats on fields without a column. JSONB refuses the
-- escape \u0000 that JSON (and a feed's text) may hold: it becomes U+FFFD here, so that one such
-- event does not make every filter fail.
CREATE FUNCTION fw_doc(doc TEXT) RETURNS JSONB
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (CASE WHEN strpos(doc, '\u0000') > 0 THEN replace(doc, '\u0000', '\ufffd')
                 ELSE doc END)::JSONB
$$;

-- The sortable key of an address as the store's Rust code makes it (family byte 4 or 6, then
-- the address bytes), NULL for text that is not an address; for `field = network` filters on
-- fields without a key column. Dotted quads are checked as Rust's parser checks them (no
-- leading zeros, no prefix), since inet accepts more.
CREATE FUNCTION fw_ip_key(t TEXT) RETURNS BYTEA
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    a INET;
BEGIN
    IF t ~ '^[0-9.]+$' THEN
        IF t !~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' THEN
            RETURN NULL;
        END IF;
    ELSIF t !~ '^[0-9A-Fa-f:.]+$' OR position(':' IN t) = 0 THEN
        RETURN NULL;
    END IF;
    BEGIN
        a := t::INET;
    EXCEPTION WHEN OTHERS THEN
        RETURN NULL;
    END;
    RETURN CASE family(a) WHEN 4 THEN '\x04'::BYTEA ELSE '\x06'::BYTEA END
        || substring(inet_send(a) FROM 5);
END
$$;
