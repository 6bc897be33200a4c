-- Tidy tables: one row per invitation (respondent) and one row per answer. Uniqueness of respondent_id and of
-- (respondent_id, question_id) is enforced by keurmerk.ingest before rows arrive here (an ART index on ten
-- million answers would cost more than the anti-join that ingest does anyway).
CREATE TABLE IF NOT EXISTS load_log (
    load_id INTEGER,
    file VARCHAR,             -- file name as given (plus "#sheet" for a workbook sheet)
    kind VARCHAR,             -- invitations | answers | results | unknown
    sha256 VARCHAR,           -- of the file's bytes: the same file loaded twice is recognised and skipped
    rows_read BIGINT,
    rows_loaded BIGINT,       -- accepted rows, including rows that were already present unchanged
    rows_new BIGINT,          -- of which new to the warehouse
    rows_quarantined BIGINT,  -- rows_read = rows_loaded + rows_quarantined, always
    message VARCHAR,
    loaded_at TIMESTAMP
);

-- Rejected rows. Only the import format's fields are ever kept here (DESIGN §4: no personal data at rest);
-- rows are removed by `keurmerk quarantine purge --before DATE` (retention: README, import section).
CREATE TABLE IF NOT EXISTS quarantine (
    load_id INTEGER,
    file VARCHAR,
    row_number BIGINT,        -- 1 = the first data row (after the header)
    column_name VARCHAR,
    value VARCHAR,            -- the rejected value, or for a broken line the format fields identified in it (JSON)
    reason VARCHAR            -- in Dutch, as shown to the person who delivered the file
);
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS kind VARCHAR;        -- invitations | answers | results | unknown
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS record VARCHAR;      -- the row's format fields (JSON), for a retry
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS resolved_load_id INTEGER;  -- the load in which a retry loaded it

-- `providers` holds each provider's latest name (for existing readers); `provider_names` its history: a name
-- holds from period `valid_from` until the next name's (view v_provider_names).
CREATE TABLE IF NOT EXISTS providers (provider_id VARCHAR, provider_name VARCHAR);
CREATE TABLE IF NOT EXISTS provider_names (
    provider_id VARCHAR, provider_name VARCHAR, valid_from INTEGER, load_id INTEGER
);

-- Changes to loaded rows made on purpose with `keurmerk ingest --replace` (DESIGN §4: never silently).
CREATE TABLE IF NOT EXISTS replacements (
    load_id INTEGER, kind VARCHAR, respondent_id VARCHAR, question_id VARCHAR, old_value VARCHAR, new_value VARCHAR,
    old_load_id INTEGER
);

CREATE TABLE IF NOT EXISTS periods (period INTEGER);

CREATE TABLE IF NOT EXISTS invitations (
    respondent_id VARCHAR,
    period INTEGER,
    provider_id VARCHAR,
    audience VARCHAR,         -- client | commissioner
    service SMALLINT,         -- 1..13
    province VARCHAR,         -- PV20..PV31; NULL for commissioners
    questionnaire VARCHAR,    -- regular | easy | inburgering
    form VARCHAR,             -- client | inburgering | commissioner (derived from audience + questionnaire)
    mode VARCHAR,             -- email | post | phone
    reminded BOOLEAN,
    status VARCHAR,           -- delivered | undeliverable | duplicate | incomplete_data
    completed BOOLEAN,        -- delivered and every aspect question of the form answered (DESIGN §5)
    load_id INTEGER
);

CREATE TABLE IF NOT EXISTS answers (
    respondent_id VARCHAR,
    question_id VARCHAR,
    value VARCHAR,            -- canonical catalogue label, 'n.v.t.', the number as text, or free text verbatim
    value_num DOUBLE,         -- grades and aspect grades; NULL otherwise
    answered_at TIMESTAMP,
    load_id INTEGER
);
-- Set when the answer that routes to this question is missing or says otherwise (e.g. a *_other text without
-- "anders, namelijk"): the answer is kept, flagged, and figures leave it out of their bases (DESIGN §4).
ALTER TABLE answers ADD COLUMN IF NOT EXISTS routing_flag VARCHAR;

-- The results norm (seed 000): trajectories completed and completed successfully, per provider, dienst, period.
CREATE TABLE IF NOT EXISTS results (
    period INTEGER,
    provider_id VARCHAR,
    service SMALLINT,
    completed_trajectories BIGINT,
    successful_trajectories BIGINT,
    load_id INTEGER
);
