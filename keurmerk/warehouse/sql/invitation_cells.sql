-- Invitations counted per cell, plus their reminder and status.
-- {cell} is the cell's key columns (keurmerk.metrics.source.CELLS): every dimension a filter can select on for the
-- cube, or `own` and the split columns for one selection, with the answering mode either way. {filters} is a
-- WHERE clause from keurmerk.filters.Filters.to_sql(alias="i"): placeholders only, values bound.
SELECT
    {cell},
    i.reminded,
    i.status,
    i.completed AND i.status = 'delivered' AS completed,
    count(*) AS n
FROM invitations AS i
WHERE {filters}
GROUP BY ALL
