-- When each provider's results of each period were first published (hoor en wederhoor, DESIGN §5: a provider may
-- react for 21 days after publication; keurmerk.reactions reads this table). Run by every ingest just before the
-- new snapshot is published; a pair published before keeps its first date, so a later delivery for the same
-- period does not reopen the window. $now is the publication time in UTC.
CREATE TABLE IF NOT EXISTS publications (
    period INTEGER,
    provider_id VARCHAR,
    published_at TIMESTAMP    -- UTC
);

INSERT INTO publications
SELECT DISTINCT i.period, i.provider_id, $now::TIMESTAMP
FROM invitations AS i
WHERE NOT EXISTS (
    SELECT 1 FROM publications AS p WHERE p.period = i.period AND p.provider_id = i.provider_id
);
