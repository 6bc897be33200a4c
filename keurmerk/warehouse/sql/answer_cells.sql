-- Answers of completed questionnaires counted per cell (DESIGN §5: only completed questionnaires enter a figure).
-- Grades are counted in tenths (integers: exact sums); free text never enters a cell, so a benchmark cannot carry
-- another provider's words. {cell}, {filters}: see invitation_cells.sql.
SELECT
    {cell},
    a.question_id,
    CASE WHEN a.value_num IS NULL THEN a.value END AS value,
    CAST(round(a.value_num * 10) AS INTEGER) AS tenths,
    count(*) AS n
FROM answers AS a
JOIN invitations AS i USING (respondent_id)
WHERE i.completed AND i.status = 'delivered' AND {filters}
    AND a.routing_flag IS NULL  -- bases follow the catalogue's routing; flagged answers are kept, not counted
    -- a semi-join, not a join: DuckDB then joins answers to invitations first (national: 1,2 s instead of 2,5-3,4 s,
    -- which built a hash table of every completed invitation × every question of its form)
    AND EXISTS (SELECT 1 FROM questions AS q WHERE q.form = i.form AND q.question_id = a.question_id AND q.kind <> 'text')
GROUP BY ALL
