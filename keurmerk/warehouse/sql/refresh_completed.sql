-- Recompute `completed` after a load (answers may arrive in a later file than their invitation). DESIGN §5:
-- completed = in the net sample and the aspect block of the form answered. The policy (keurmerk.policy.Policy, bound
-- as parameters) says how much of it: $min_share of the aspect questions, and whether 'geen mening' / 'n.v.t.'
-- ($no_opinion_values, from the catalogue) count as answered ($no_opinion_counts). Ingest keeps (respondent_id,
-- question_id) unique, so a count of a respondent's aspect answers is the number of aspect questions answered.
--
-- Only the respondents that load $load touched (their invitation or an answer) are recomputed, unless $everyone
-- (the policy changed since the last refresh: keurmerk.warehouse.refresh_completed), and only rows whose value
-- changes are written, so that the cost follows the delivery, not the warehouse.
UPDATE invitations AS i
SET completed = x.completed
FROM (
    WITH touched AS (
        SELECT respondent_id FROM invitations WHERE $everyone OR load_id = $load
        UNION
        SELECT respondent_id FROM answers WHERE NOT $everyone AND load_id = $load
    ),
    required AS (
        SELECT form, question_id, count(*) OVER (PARTITION BY form) AS n_required FROM questions WHERE aspect
    ),
    answered AS (
        SELECT a.respondent_id, q.form, count(*) AS n_answered, any_value(q.n_required) AS n_required
        FROM answers AS a
        SEMI JOIN touched USING (respondent_id)
        JOIN required AS q ON q.question_id = a.question_id
        WHERE $no_opinion_counts OR NOT list_contains($no_opinion_values, a.value)
        GROUP BY a.respondent_id, q.form
    )
    SELECT
        t.respondent_id,
        t.status = 'delivered' AND coalesce(answered.n_answered >= $min_share * answered.n_required, false)
            AS completed
    FROM invitations AS t
    SEMI JOIN touched USING (respondent_id)
    LEFT JOIN answered ON answered.respondent_id = t.respondent_id AND answered.form = t.form
) AS x
WHERE i.respondent_id = x.respondent_id AND i.completed IS DISTINCT FROM x.completed;
