-- One selection's invitation cells in one scan: `own` marks the provider's rows ($own; NULL = all providers),
-- the benchmark is the sum over all rows. {filters}: the benchmark's WHERE clause (Filters.benchmark()).
SELECT
    coalesce(i.provider_id = $own, TRUE) AS own,
    i.form,
    i.audience,
    i.service,
    i.province,
    i.mode,
    i.reminded,
    i.status,
    i.completed AND i.status = 'delivered' AS completed,
    count(*) AS n
FROM invitations AS i
WHERE {filters}
GROUP BY ALL
