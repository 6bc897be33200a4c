-- Free-text answers ("anders, namelijk") of completed questionnaires, verbatim, for one provider's own view.
-- {cell}: see invitation_cells.sql. {filters} must include the provider (Filters.to_sql(alias="i") with a provider set), except for staff views.
SELECT
    {cell},
    q.parent,
    a.question_id,
    a.value
FROM answers AS a
JOIN invitations AS i USING (respondent_id)
JOIN questions AS q ON q.form = i.form AND q.question_id = a.question_id
WHERE i.completed AND i.status = 'delivered' AND q.kind = 'text' AND {filters}
ORDER BY q.parent, a.value
