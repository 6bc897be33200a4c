"""The researcher views over a generated and ingested warehouse reproduce the seed's table 1.1 counts."""

from __future__ import annotations

from pathlib import Path

from keurmerk.formatting import round_half_away
from keurmerk.warehouse import open_readonly


def test_partner_in_werk_2021_counts_from_views(tiny_db: Path) -> None:
    with open_readonly(tiny_db) as con:
        per_service = con.execute(
            "SELECT service, net_sample, completed, response_pct FROM v_response "
            "WHERE provider_id = 'P0000' AND period = 2021 AND audience = 'client' ORDER BY service"
        ).fetchall()
        totals = dict(
            (audience, (net, completed))
            for audience, net, completed in con.execute(
                "SELECT audience, sum(net_sample), sum(completed) FROM v_response "
                "WHERE provider_id = 'P0000' AND period = 2021 GROUP BY audience"
            ).fetchall()
        )
        grades = con.execute(
            "SELECT service, avg(value_num) FROM v_answers WHERE provider_id = 'P0000' AND period = 2021 "
            "AND form = 'client' AND question_id = 'grade' GROUP BY ROLLUP (service) ORDER BY service NULLS LAST"
        ).fetchall()
        commissioner_grade = con.execute(
            "SELECT avg(value_num) FROM v_answers WHERE provider_id = 'P0000' AND period = 2021 "
            "AND form = 'commissioner' AND question_id = 'grade'"
        ).fetchall()[0][0]
    assert per_service == [(3, 4, 1, 25.0), (7, 10, 2, 20.0), (8, 29, 15, 51.7)]
    assert totals == {"client": (43, 18), "commissioner": (38, 9)}
    assert [(s, round_half_away(g)) for s, g in grades] == [(3, 9.0), (7, 8.3), (8, 7.9), (None, 8.0)]
    assert round_half_away(commissioner_grade) == 8.2


def test_views_only_count_completed_questionnaires(tiny_db: Path) -> None:
    with open_readonly(tiny_db) as con:
        incomplete_in_view = con.execute(
            "SELECT count(*) FROM v_answers JOIN v_respondents USING (respondent_id) WHERE NOT v_respondents.completed"
        ).fetchall()[0][0]
        partial_answers = con.execute(
            "SELECT count(*) FROM answers JOIN invitations USING (respondent_id) WHERE NOT completed"
        ).fetchall()[0][0]
    assert incomplete_in_view == 0
    assert partial_answers > 0  # the generator makes partial questionnaires, and the view leaves them out
