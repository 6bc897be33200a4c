-- One selection's answer cells in one scan (see select_invitations.sql and cube_answers.sql).
SELECT
    coalesce(i.provider_id = $own, TRUE) AS own,
    i.form,
    i.service,
    a.question_id,
    CASE WHEN a.value_num IS NULL THEN a.value END AS value,
    CAST(round(a.value_num * 10) AS INTEGER) AS tenths,
    count(*) AS n
FROM answers AS a
JOIN invitations AS i USING (respondent_id)
JOIN questions AS q ON q.form = i.form AND q.question_id = a.question_id
WHERE i.completed AND i.status = 'delivered' AND q.kind <> 'text' AND {filters}
GROUP BY ALL
