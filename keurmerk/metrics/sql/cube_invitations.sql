-- Invitations counted per cell: every dimension a filter can select on, plus what the figures split by.
-- {filters} is a WHERE clause from keurmerk.filters.Filters.to_sql(alias="i"): placeholders only, values bound.
SELECT
    i.period,
    i.form,
    i.audience,
    i.service,
    i.province,
    i.questionnaire,
    i.mode,
    i.reminded,
    i.status,
    i.completed AND i.status = 'delivered' AS completed,
    count(*) AS n
FROM invitations AS i
WHERE {filters}
GROUP BY ALL
