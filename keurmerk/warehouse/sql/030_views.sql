-- Researcher views: stable names and labels on top of the tidy tables. Only these are documented for SQL use.

-- Each provider name with the periods it holds for: from valid_from up to (not including) valid_until.
CREATE OR REPLACE VIEW v_provider_names AS
SELECT
    provider_id,
    provider_name,
    valid_from,
    lead(valid_from) OVER (PARTITION BY provider_id ORDER BY valid_from, load_id) AS valid_until
FROM provider_names;

-- Every invitation with its labels and the two flags every figure starts from.
CREATE OR REPLACE VIEW v_respondents AS
SELECT
    i.respondent_id,
    i.period,
    i.provider_id,
    coalesce(n.provider_name, p.provider_name) AS provider_name,  -- the name of the invitation's period
    i.audience,
    i.form,
    i.service,
    s.label AS service_label,
    i.province,
    pv.name AS province_name,
    i.questionnaire,
    i.mode,
    i.reminded,
    i.status,
    i.status = 'delivered' AS in_net_sample,
    i.completed
FROM invitations AS i
LEFT JOIN providers AS p USING (provider_id)
LEFT JOIN v_provider_names AS n
    ON n.provider_id = i.provider_id AND i.period >= n.valid_from AND (n.valid_until IS NULL OR i.period < n.valid_until)
LEFT JOIN services AS s USING (service)
LEFT JOIN provinces AS pv USING (province);

-- Answers of completed questionnaires only (DESIGN §5: only completed questionnaires enter any figure).
CREATE OR REPLACE VIEW v_answers AS
SELECT
    r.period,
    r.provider_id,
    r.audience,
    r.form,
    r.service,
    r.province,
    r.questionnaire,
    r.mode,
    a.respondent_id,
    a.question_id,
    a.value,
    a.value_num,
    c.position AS category_position,
    a.answered_at,
    a.routing_flag            -- set: the routing question is missing or says otherwise; not in any figure's base
FROM answers AS a
JOIN invitations AS r USING (respondent_id)
LEFT JOIN categories AS c ON c.form = r.form AND c.question_id = a.question_id AND c.label = a.value
WHERE r.completed;

-- Net sample, completed and response per period, provider, audience and dienst (the counts of table 1.1).
CREATE OR REPLACE VIEW v_response AS
SELECT
    period,
    provider_id,
    audience,
    service,
    count(*) FILTER (WHERE status = 'delivered') AS net_sample,
    count(*) FILTER (WHERE completed) AS completed,
    round(100.0 * count(*) FILTER (WHERE completed) / nullif(count(*) FILTER (WHERE status = 'delivered'), 0), 1)
        AS response_pct
FROM invitations
GROUP BY ALL;

-- The results norm (seed 000) per period, provider and dienst: trajectories completed, completed successfully, and
-- the success rate in %, one decimal. The threshold a dienst must reach is policy (keurmerk.policy), not data.
CREATE OR REPLACE VIEW v_results AS
SELECT
    r.period,
    r.provider_id,
    coalesce(n.provider_name, p.provider_name) AS provider_name,  -- the name of the row's period
    r.service,
    s.label AS service_label,
    r.completed_trajectories,
    r.successful_trajectories,
    round(100.0 * r.successful_trajectories / nullif(r.completed_trajectories, 0), 1) AS success_pct
FROM results AS r
LEFT JOIN providers AS p USING (provider_id)
LEFT JOIN v_provider_names AS n
    ON n.provider_id = r.provider_id AND r.period >= n.valid_from AND (n.valid_until IS NULL OR r.period < n.valid_until)
LEFT JOIN services AS s USING (service);
