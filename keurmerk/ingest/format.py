"""The columns of the import format (DESIGN §4): the only fields the warehouse, its quarantine and the CLI hold."""

from __future__ import annotations

__all__ = ["INVITATION_COLUMNS", "ANSWER_COLUMNS", "RESULT_COLUMNS", "FORMAT_COLUMNS", "OPTIONAL_COLUMNS"]

INVITATION_COLUMNS = (
    "period",
    "provider_id",
    "provider_name",
    "respondent_id",
    "audience",
    "service",
    "province",
    "questionnaire",
    "mode",
    "reminded",
    "status",
)
ANSWER_COLUMNS = ("respondent_id", "question_id", "value", "answered_at")
RESULT_COLUMNS = ("period", "provider_id", "service", "completed_trajectories", "successful_trajectories")
OPTIONAL_COLUMNS = {"answered_at", "province"}
# Every column name any kind of file may hold; anything else (names, e-mail addresses, notes) is dropped on read.
FORMAT_COLUMNS = frozenset(INVITATION_COLUMNS + ANSWER_COLUMNS + RESULT_COLUMNS)
