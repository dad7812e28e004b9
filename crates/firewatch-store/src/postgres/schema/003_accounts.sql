-- The smaller areas of the store (issue 17): identities and browser sessions of the web
-- service, the notification outbox, Internet-health metrics, X.1060 assessments and
-- cross-border cases. The same records as SQLite's migrations 5, 6, 8, 10, 12, 14 and 15.
--
-- Text that listings sort by is COLLATE "C" (byte order, as SQLite's BINARY), so that both
-- backends list in the same order whatever the database's locale.

-- Identities: users of teams, and API tokens (only a hash of the secret is kept). A user's
-- id is the largest plus one, given under a table lock, as SQLite gives a rowid: a sequence
-- would also count refused inserts, and the two backends would number users apart.
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    team TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    created_at BIGINT NOT NULL
);
CREATE TABLE api_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
CREATE INDEX api_tokens_by_age ON api_tokens (created_at, id);

-- Browser sessions (only a hash of the session id is kept).
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    csrf TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The notification outbox: every notice with the exact bytes to send, written before it is
-- sent. The unique keys are what make `enqueue` safe against a second planner: the notice's
-- id, its (team, channel, slot), and each record's (team, channel, item) claim.
CREATE TABLE notify_outbox (
    id TEXT COLLATE "C" PRIMARY KEY,
    team TEXT NOT NULL,
    channel TEXT NOT NULL,
    slot TEXT,
    recipients TEXT[] NOT NULL,
    subject TEXT NOT NULL,
    tlp TEXT NOT NULL,
    payload BYTEA NOT NULL,
    items BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_ms, created_at, id)
    WHERE state = 'queued';
CREATE INDEX notify_outbox_by_age ON notify_outbox (created_at, id);
CREATE INDEX notify_outbox_by_team ON notify_outbox (team, channel, created_at);
CREATE UNIQUE INDEX notify_outbox_slot ON notify_outbox (team, channel, slot)
    WHERE slot IS NOT NULL;
CREATE TABLE notify_items (
    team TEXT NOT NULL,
    channel TEXT NOT NULL,
    item TEXT NOT NULL,
    notice TEXT COLLATE "C" NOT NULL REFERENCES notify_outbox (id),
    PRIMARY KEY (team, channel, item)
);
CREATE INDEX notify_items_by_notice ON notify_items (notice);
CREATE TABLE notify_withheld (
    team TEXT COLLATE "C" NOT NULL,
    item TEXT COLLATE "C" NOT NULL,
    tlp TEXT NOT NULL,
    max_tlp TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (team, item)
);

-- Internet-health metrics (docs/metrics.md): daily cells, the announced address space, the
-- published figures, and how the last computation was made (SQLite keeps that under the meta
-- key `health`; here it has its own one-row table).
CREATE TABLE health_cells (
    scope TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    risk TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    unique_ips BIGINT NOT NULL,
    public_unique_ips BIGINT NOT NULL,
    PRIMARY KEY (scope, day, risk, key)
);
CREATE INDEX health_cells_by_day ON health_cells (day);
CREATE TABLE health_address_space (
    scope TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    ipv4_addresses BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE health_public (
    scope TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    risk TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    unique_ips BIGINT NOT NULL,
    announced_ipv4 BIGINT,
    per_million_addresses DOUBLE PRECISION,
    ddos_potential_gbps DOUBLE PRECISION,
    trend_index DOUBLE PRECISION,
    rank BIGINT NOT NULL,
    PRIMARY KEY (scope, day, risk, key)
);
CREATE INDEX health_public_listing ON health_public (scope, day, risk, rank, key);
CREATE TABLE health_meta (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    meta JSONB NOT NULL
);

-- X.1060 service maps (issue 21): one assessment per scope and the imported catalogues.
-- SQLite matches scopes with COLLATE NOCASE (ASCII letters only); here `scope_key` is the
-- scope with ASCII letters lowered (the store computes it), '' for the catalogue of every
-- scope. `document` is `json`, not `jsonb`: it is checked to be JSON, as SQLite's
-- json_valid, and read back byte for byte as written.
CREATE TABLE assess_catalogues (
    scope_key TEXT COLLATE "C" PRIMARY KEY,
    scope TEXT NOT NULL,
    version TEXT NOT NULL,
    services BIGINT NOT NULL,
    origin TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE assess_assessments (
    scope_key TEXT COLLATE "C" PRIMARY KEY CHECK (scope_key <> ''),
    scope TEXT NOT NULL,
    assessed_by TEXT,
    assessed_on TEXT,
    source TEXT,
    tlp TEXT,
    owner TEXT,
    catalogue_version TEXT NOT NULL,
    cells BIGINT NOT NULL,
    format TEXT NOT NULL,
    origin TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    document JSON NOT NULL
);

-- Cross-border cases (issue 19, docs/cases.md): header, parties, tasks, links and
-- observables as the model last wrote them (a slice's team, '' for the whole case; `ord`
-- keeps the model's order), and the timeline of every change, which a trigger keeps
-- append-only. Case numbers come from `case_numbers`, a one-row counter updated in the
-- committing transaction: like SQLite's AUTOINCREMENT a refused commit uses no number (a
-- sequence would), and its row lock makes two new cases wait for each other.
CREATE TABLE case_numbers (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    last BIGINT NOT NULL
);
INSERT INTO case_numbers (last) VALUES (0);
CREATE TABLE cases (
    id BIGINT PRIMARY KEY CHECK (id > 0),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,
    tlp TEXT NOT NULL,
    pap TEXT NOT NULL,
    status TEXT NOT NULL,
    determination TEXT,
    coordinator TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX cases_by_status ON cases (status, id);
CREATE INDEX cases_by_coordinator ON cases (coordinator, id);
CREATE TABLE case_parties (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    ord BIGINT NOT NULL,
    team TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (case_id, team)
);
CREATE INDEX case_parties_by_team ON case_parties (team, case_id);
CREATE TABLE case_tasks (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    task BIGINT NOT NULL,
    team TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    due BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, task)
);
CREATE TABLE case_links (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    ord BIGINT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    team TEXT NOT NULL,
    PRIMARY KEY (case_id, team, kind, key)
);
CREATE INDEX case_links_by_key ON case_links (kind, key, case_id);
CREATE TABLE case_observables (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    ord BIGINT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    team TEXT NOT NULL,
    PRIMARY KEY (case_id, team, kind, value)
);
CREATE INDEX case_observables_by_value ON case_observables (kind, value);
CREATE TABLE case_timeline (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    actor TEXT,
    kind TEXT NOT NULL,
    doc JSON NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE FUNCTION case_timeline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the case timeline is append-only';
END
$$;
CREATE TRIGGER case_timeline_no_change BEFORE UPDATE OR DELETE ON case_timeline
    FOR EACH ROW EXECUTE FUNCTION case_timeline_append_only();
CREATE TRIGGER case_timeline_no_truncate BEFORE TRUNCATE ON case_timeline
    FOR EACH STATEMENT EXECUTE FUNCTION case_timeline_append_only();
