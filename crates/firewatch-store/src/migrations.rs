//! Versioned schema migrations, applied in order; `PRAGMA user_version` records the last.

/// Each entry moves the schema one version up. Never edit a released entry: add a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: telescope base facts and derived records.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE inputs (
        content_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        format TEXT NOT NULL,
        ingested_at INTEGER NOT NULL,
        frames INTEGER NOT NULL,
        ip_packets INTEGER NOT NULL,
        first_ns INTEGER,
        last_ns INTEGER,
        complete INTEGER NOT NULL,
        error TEXT,
        counters TEXT NOT NULL
    );
    CREATE TABLE port_intervals (
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        interval_start INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        unique_sources INTEGER NOT NULL,
        unique_destinations INTEGER NOT NULL,
        sources BLOB NOT NULL,
        destinations BLOB NOT NULL,
        PRIMARY KEY (proto, port, interval_start)
    ) WITHOUT ROWID;
    CREATE INDEX port_intervals_by_time ON port_intervals (interval_start);
    CREATE TABLE sources (
        addr TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        first_ns INTEGER NOT NULL,
        last_ns INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        distinct_destinations INTEGER NOT NULL,
        distinct_ports INTEGER NOT NULL,
        counters TEXT NOT NULL,
        ttls BLOB NOT NULL,
        destinations BLOB NOT NULL,
        ports BLOB NOT NULL,
        top_ports TEXT NOT NULL
    );
    CREATE INDEX sources_by_label ON sources (label, packets);
    CREATE INDEX sources_by_packets ON sources (packets);
    CREATE TABLE backscatter_minutes (
        victim TEXT NOT NULL,
        minute INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        first_ns INTEGER NOT NULL,
        last_ns INTEGER NOT NULL,
        proto INTEGER NOT NULL,
        ports TEXT NOT NULL,
        PRIMARY KEY (victim, minute)
    ) WITHOUT ROWID;
    CREATE TABLE attacks (
        victim TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        peak_per_minute INTEGER NOT NULL,
        proto INTEGER NOT NULL,
        ports TEXT NOT NULL,
        PRIMARY KEY (victim, start_ns)
    );
    CREATE INDEX attacks_by_time ON attacks (start_ns);
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        proto INTEGER NOT NULL,
        port INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER,
        record TEXT NOT NULL
    );
    CREATE INDEX alerts_by_time ON alerts (start);
    CREATE TABLE flowtuples (
        interval_start INTEGER NOT NULL,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        sport INTEGER NOT NULL,
        dport INTEGER NOT NULL,
        proto INTEGER NOT NULL,
        ttl INTEGER NOT NULL,
        tcp_flags INTEGER NOT NULL,
        ip_len INTEGER NOT NULL,
        spoofed INTEGER NOT NULL,
        masscan INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        PRIMARY KEY (interval_start, src, dst, sport, dport, proto, ttl, tcp_flags, ip_len, spoofed, masscan)
    ) WITHOUT ROWID;
    "#,
    // 2: the team directory, as the validated TOML it was imported from.
    r#"
    CREATE TABLE team_directory (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        toml TEXT NOT NULL,
        origin TEXT NOT NULL,
        allow_nested_prefixes INTEGER NOT NULL,
        imported_at INTEGER NOT NULL
    );
    "#,
    // 3: attribution of sources and attack victims, with the data version that made it.
    r#"
    ALTER TABLE sources ADD COLUMN country TEXT;
    ALTER TABLE sources ADD COLUMN asn INTEGER;
    ALTER TABLE sources ADD COLUMN as_name TEXT;
    ALTER TABLE sources ADD COLUMN team TEXT;
    ALTER TABLE sources ADD COLUMN data_version TEXT;
    CREATE INDEX sources_by_team ON sources (team);
    CREATE INDEX sources_by_country ON sources (country);
    ALTER TABLE attacks ADD COLUMN country TEXT;
    ALTER TABLE attacks ADD COLUMN asn INTEGER;
    ALTER TABLE attacks ADD COLUMN as_name TEXT;
    ALTER TABLE attacks ADD COLUMN team TEXT;
    ALTER TABLE attacks ADD COLUMN data_version TEXT;
    "#,
    // 4: feed events (IntelMQ JSON documents with indexed columns) and the inputs they came from.
    r#"
    CREATE TABLE feed_inputs (
        content_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        format TEXT NOT NULL,
        feed TEXT,
        ingested_at INTEGER NOT NULL,
        records INTEGER NOT NULL,
        events INTEGER NOT NULL,
        inserted INTEGER NOT NULL,
        duplicates INTEGER NOT NULL,
        rejected INTEGER NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        feed TEXT,
        classification_type TEXT,
        source_ip TEXT,
        source_ip_key BLOB,
        source_asn INTEGER,
        source_cc TEXT,
        tlp TEXT,
        team TEXT,
        dedupe_key BLOB,
        input_hash TEXT,
        doc TEXT NOT NULL
    );
    CREATE INDEX events_by_time ON events (time);
    CREATE INDEX events_by_dedupe ON events (dedupe_key, time);
    CREATE INDEX events_by_source_ip ON events (source_ip_key);
    CREATE INDEX events_by_classification ON events (classification_type);
    CREATE INDEX events_by_country ON events (source_cc);
    CREATE INDEX events_by_asn ON events (source_asn);
    CREATE INDEX events_by_team ON events (team);
    "#,
    // 5: identities of the web service: users of teams, and API tokens (only a hash is kept).
    r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        team TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
    "#,
    // 6: browser sessions of the web service (only a hash of the session id is kept).
    r#"
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        csrf TEXT NOT NULL
    );
    CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    "#,
    // 7: event listings filtered on an indexed field walk that field's index in time order
    // (`source.geolocation.cc = JP`, newest or oldest first, LIMIT n) instead of sorting every
    // match: each single-field index becomes (field, time). 5 s -> 0.1 ms at a million events.
    r#"
    DROP INDEX IF EXISTS events_by_classification;
    DROP INDEX IF EXISTS events_by_country;
    DROP INDEX IF EXISTS events_by_asn;
    DROP INDEX IF EXISTS events_by_team;
    CREATE INDEX IF NOT EXISTS events_by_classification_time ON events (classification_type, time);
    CREATE INDEX IF NOT EXISTS events_by_country_time ON events (source_cc, time);
    CREATE INDEX IF NOT EXISTS events_by_asn_time ON events (source_asn, time);
    CREATE INDEX IF NOT EXISTS events_by_team_time ON events (team, time);
    "#,
    // 8: the notification outbox. Every notice (e-mail or webhook) is written here, with the
    // exact bytes to send, before it is sent; `notify_items` records which records each team
    // was told about on which channel, so planning twice never queues a record twice; and
    // `notify_withheld` the records held back because they were above a team's TLP cap.
    r#"
    CREATE TABLE notify_outbox (
        id TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        channel TEXT NOT NULL,
        slot TEXT,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        tlp TEXT NOT NULL,
        payload BLOB NOT NULL,
        items INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_ms INTEGER NOT NULL,
        last_error TEXT,
        sent_at INTEGER
    );
    CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_ms);
    CREATE INDEX notify_outbox_by_team ON notify_outbox (team, channel, created_at);
    CREATE UNIQUE INDEX notify_outbox_slot ON notify_outbox (team, channel, slot) WHERE slot IS NOT NULL;
    CREATE TABLE notify_items (
        team TEXT NOT NULL,
        channel TEXT NOT NULL,
        item TEXT NOT NULL,
        notice TEXT NOT NULL REFERENCES notify_outbox (id),
        PRIMARY KEY (team, channel, item)
    ) WITHOUT ROWID;
    CREATE TABLE notify_withheld (
        team TEXT NOT NULL,
        item TEXT NOT NULL,
        tlp TEXT NOT NULL,
        max_tlp TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (team, item)
    ) WITHOUT ROWID;
    "#,
    // 9: event visibility from columns, not from each document: the owner of an event and the
    // recipients of a RED one get a column and a table, and (tlp, …, time) indexes let each
    // branch of the TLP rule walk its own index in time order. A team that may read almost
    // nothing no longer makes a listing parse every stored document (0.5 s at a million).
    r#"
    ALTER TABLE events ADD COLUMN owner TEXT;
    UPDATE events SET owner = json_extract(doc, '$."extra.owner"')
        WHERE json_type(doc, '$."extra.owner"') = 'text';
    CREATE TABLE event_recipients (
        team TEXT NOT NULL,
        event_id INTEGER NOT NULL REFERENCES events (id),
        PRIMARY KEY (team, event_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO event_recipients (team, event_id)
        SELECT r.value, e.id FROM events AS e, json_each(e.doc, '$."extra.recipients"') AS r
        WHERE json_type(e.doc, '$."extra.recipients"') = 'array' AND r.type = 'text';
    CREATE INDEX events_by_tlp_time ON events (tlp, time);
    CREATE INDEX events_by_tlp_owner_time ON events (tlp, owner, time);
    CREATE INDEX events_by_tlp_team_time ON events (tlp, team, time);
    "#,
    // 10: Internet-health metrics (docs/metrics.md): unique addresses per day, risk and country
    // or ASN (with those seen in publishable events), the announced IPv4 address space they
    // are normalised by, and the published figures (TLP:CLEAR or released, small cells
    // suppressed) that the public page shows as they are. Metadata under meta key `health`.
    r#"
    CREATE TABLE health_cells (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        risk TEXT NOT NULL,
        day INTEGER NOT NULL,
        unique_ips INTEGER NOT NULL,
        public_unique_ips INTEGER NOT NULL,
        PRIMARY KEY (scope, day, risk, key)
    ) WITHOUT ROWID;
    CREATE INDEX health_cells_by_day ON health_cells (day);
    CREATE TABLE health_address_space (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        ipv4_addresses INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
    ) WITHOUT ROWID;
    CREATE TABLE health_public (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        risk TEXT NOT NULL,
        day INTEGER NOT NULL,
        unique_ips INTEGER NOT NULL,
        announced_ipv4 INTEGER,
        per_million_addresses REAL,
        ddos_potential_gbps REAL,
        trend_index REAL,
        rank INTEGER NOT NULL,
        PRIMARY KEY (scope, day, risk, key)
    ) WITHOUT ROWID;
    "#,
    // 11: how each capture begins and how far it was counted, so that another copy of a
    // capture (renamed, compressed, converted) or a longer version of a partial one is known
    // by its packets, not only by its bytes; and inputs found by time, for the overlap check.
    r#"
    CREATE TABLE capture_extents (
        content_hash TEXT PRIMARY KEY REFERENCES inputs (content_hash) ON DELETE CASCADE,
        first_frame_ns INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        fingerprint_frames INTEGER NOT NULL,
        skipped_frames INTEGER NOT NULL,
        frames_through INTEGER NOT NULL,
        continues TEXT
    );
    CREATE INDEX capture_extents_by_start ON capture_extents (first_frame_ns);
    CREATE INDEX inputs_by_time ON inputs (first_ns, last_ns);
    "#,
    // 12: X.1060 service maps (issue 21): one assessment per scope (country or organisation)
    // as the validated JSON document `firewatch-assess` writes, with who assessed it, when,
    // from what, its TLP and where it was imported from; and imported service catalogues, as
    // the TSV they read back from, for every scope ('') or one.
    r#"
    CREATE TABLE assess_catalogues (
        scope TEXT PRIMARY KEY COLLATE NOCASE,
        version TEXT NOT NULL,
        services INTEGER NOT NULL,
        origin TEXT NOT NULL,
        imported_at INTEGER NOT NULL,
        document TEXT NOT NULL
    );
    CREATE TABLE assess_assessments (
        scope TEXT PRIMARY KEY COLLATE NOCASE,
        assessed_by TEXT,
        assessed_on TEXT,
        source TEXT,
        tlp TEXT,
        catalogue_version TEXT NOT NULL,
        cells INTEGER NOT NULL,
        format TEXT NOT NULL,
        origin TEXT NOT NULL,
        imported_at INTEGER NOT NULL,
        document TEXT NOT NULL CHECK (json_valid(document))
    );
    "#,
    // 13: feed inputs committed in batches (issue 17): how far an input whose batches are not
    // all committed got, so that a run killed mid-way and started again gives its events the
    // same ingest time and its record the counts of an uninterrupted run. A row lives from the
    // first batch's transaction to the last's, which records the input in `feed_inputs`.
    r#"
    CREATE TABLE feed_input_progress (
        content_hash TEXT PRIMARY KEY,
        ingested_at INTEGER NOT NULL,
        batches INTEGER NOT NULL,
        inserted INTEGER NOT NULL
    );
    "#,
    // 14: the team that owns an X.1060 assessment (issue 21): who reads it at AMBER and
    // AMBER+STRICT under core's access rule (`may_read` with the owner); none: nobody but the
    // operator on the command line.
    r#"
    ALTER TABLE assess_assessments ADD COLUMN owner TEXT;
    "#,
    // 15: cross-border cases (issue 19, docs/cases.md): a case's header, parties, tasks, linked
    // findings and observables (a slice's team, '' for the whole case; `ord` keeps the
    // model's order), as the model last wrote them, and its timeline of every change, which triggers keep append-only.
    r#"
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        severity TEXT NOT NULL,
        tlp TEXT NOT NULL,
        pap TEXT NOT NULL,
        status TEXT NOT NULL,
        determination TEXT,
        coordinator TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        closed_at INTEGER
    );
    CREATE INDEX cases_by_status ON cases (status, id);
    CREATE TABLE case_parties (
        case_id INTEGER NOT NULL REFERENCES cases (id),
        ord INTEGER NOT NULL,
        team TEXT NOT NULL,
        role TEXT NOT NULL,
        status TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (case_id, team)
    ) WITHOUT ROWID;
    CREATE INDEX case_parties_by_team ON case_parties (team, case_id);
    CREATE TABLE case_tasks (
        case_id INTEGER NOT NULL REFERENCES cases (id),
        task INTEGER NOT NULL,
        team TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        due INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    CREATE TABLE case_links (
        case_id INTEGER NOT NULL REFERENCES cases (id),
        ord INTEGER NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        team TEXT NOT NULL,
        PRIMARY KEY (case_id, team, kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX case_links_by_key ON case_links (kind, key);
    CREATE TABLE case_observables (
        case_id INTEGER NOT NULL REFERENCES cases (id),
        ord INTEGER NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        team TEXT NOT NULL,
        PRIMARY KEY (case_id, team, kind, value)
    ) WITHOUT ROWID;
    CREATE INDEX case_observables_by_value ON case_observables (kind, value);
    CREATE TABLE case_timeline (
        case_id INTEGER NOT NULL REFERENCES cases (id),
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        actor TEXT,
        kind TEXT NOT NULL,
        doc TEXT NOT NULL CHECK (json_valid(doc)),
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID;
    CREATE TRIGGER case_timeline_no_update BEFORE UPDATE ON case_timeline
    BEGIN SELECT RAISE(ABORT, 'the case timeline is append-only'); END;
    CREATE TRIGGER case_timeline_no_delete BEFORE DELETE ON case_timeline
    BEGIN SELECT RAISE(ABORT, 'the case timeline is append-only'); END;
    "#,
];
