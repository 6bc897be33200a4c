-- Recompute `completed` for every invitation after a load (answers may arrive in a later file than their
-- invitation). DESIGN §5: completed = in the net sample and every aspect question of the form answered
-- ('geen mening' and 'n.v.t.' count as answered).
CREATE OR REPLACE TABLE invitations AS
WITH required AS (
    SELECT form, count(*) AS n_required FROM questions WHERE aspect GROUP BY form
),
answered AS (
    SELECT a.respondent_id, count(DISTINCT a.question_id) AS n_answered
    FROM answers AS a
    JOIN invitations AS i USING (respondent_id)
    JOIN questions AS q ON q.form = i.form AND q.question_id = a.question_id AND q.aspect
    GROUP BY a.respondent_id
),
final AS (
    SELECT i.* REPLACE (i.status = 'delivered' AND coalesce(answered.n_answered, 0) = required.n_required AS completed)
    FROM invitations AS i
    LEFT JOIN answered USING (respondent_id)
    LEFT JOIN required USING (form)
)
SELECT * FROM final ORDER BY period, provider_id, respondent_id;
