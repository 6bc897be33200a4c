-- Recompute `completed` for every invitation after a load (answers may arrive in a later file than their
-- invitation). DESIGN §5: completed = in the net sample and the aspect block of the form answered. The policy
-- (keurmerk.policy.Policy, bound as parameters) says how much of it: $min_share of the aspect questions, and
-- whether 'geen mening' / 'n.v.t.' ($no_opinion_values, from the catalogue) count as answered ($no_opinion_counts). Ingest keeps (respondent_id,
-- question_id) unique, so a count of a respondent's aspect answers is the number of aspect questions answered.
CREATE OR REPLACE TABLE invitations AS
WITH required AS (
    SELECT form, question_id, count(*) OVER (PARTITION BY form) AS n_required FROM questions WHERE aspect
),
answered AS (
    SELECT a.respondent_id, any_value(q.form) AS form, count(*) AS n_answered, any_value(q.n_required) AS n_required
    FROM answers AS a
    JOIN required AS q ON q.question_id = a.question_id
    WHERE $no_opinion_counts OR NOT list_contains($no_opinion_values, a.value)
    GROUP BY a.respondent_id, q.form
),
final AS (
    SELECT i.* REPLACE (
        i.status = 'delivered'
        AND coalesce(answered.n_answered >= $min_share * answered.n_required, false) AS completed
    )
    FROM invitations AS i
    LEFT JOIN answered ON answered.respondent_id = i.respondent_id AND answered.form = i.form
)
SELECT * FROM final ORDER BY period, provider_id, respondent_id;
