"""Norms and policies: one frozen settings object that every figure reads (DESIGN §5).

The defaults below are DESIGN §5. Staff change a policy in one place, a TOML file, and every figure follows.

Lookup order of :func:`load_policy`:

1. the ``path`` argument, when given;
2. the file named by the environment variable ``KEURMERK_POLICY``, when set;
3. the defaults in :class:`Policy`.

The file holds top-level keys with the names of the fields of :class:`Policy`; keys it leaves out keep their
default, an unknown key or a value of the wrong type is an error that names the file and the key. Example::

    # policy.toml
    norm_total = 6.0
    publish_min_response_pct = 20.0
    min_n = 3
    results_min_success_pct = 55.0

    [results_min_success_pct_per_service]   # dienst code = its own threshold (the others keep the one above)
    9 = 45.0

The ``completed_*`` fields are the definition of a completed questionnaire (DESIGN §5). It is applied once,
where ``invitations.completed`` is stored (keurmerk.ingest, warehouse/sql/refresh_completed.sql); every figure
reads that flag, so a change takes effect when the warehouse is next published.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["POLICY_ENV", "Policy", "load_policy"]

POLICY_ENV = "KEURMERK_POLICY"

_MEAN_INTERVALS = ("t", "normal")
_SHARE_INTERVALS = ("wilson", "wald")
_BENCHMARKS = ("pooled", "providers")


@dataclass(frozen=True)
class Policy:
    """Every rule of DESIGN §5 that the seeds leave open, with its default."""

    # --- completed questionnaire: in the net sample and the aspect block answered (applied at ingest) -------
    completed_aspect_share: float = 1.0        # share of the form's aspect questions that must be answered
    completed_no_opinion_answers: bool = True  # 'geen mening' and 'n.v.t.' count as answered

    # --- the norm of the Keurmerk (table 1.1) ---------------------------------------------------------------
    norm_total: float = 6.5        # seed: the clients' total grade must reach this
    norm_service: float = 5.5      # seed: and the grade of every dienst this
    correction_floor: float = 5.0  # corrected mean: every grade below this counts as this ("een 1 of een 5")
    # Choices of Blik op Werk, not of the seeds (DESIGN §5): the seed states 6,5 for the clients' total only.
    # The totals of the commissioners and of the inburgering clients are judged against these.
    norm_total_commissioner: float = 6.5
    norm_total_inburgering: float = 6.5

    # --- publication (table 1.1, zoekmachine) --------------------------------------------------------------
    publish_min_completed: int = 10
    publish_min_response_pct: float = 25.0
    publish_always: tuple[str, ...] = ("commissioner",)  # audiences whose grade is always published
    # The public site shows a provider's published client total beside its published diensten only when the
    # diensten it does not show rest on at least this many grades (or on none): the total, the shown diensten and
    # their n together give away the mean of the hidden ones, and a mean of fewer grades than a published grade
    # needs (publish_min_completed) must not come out that way.
    public_total_min_hidden_n: int = 10

    # --- actuele promotor score ------------------------------------------------------------------------------
    promoter_question: str = "recommended"
    promoter_answers: tuple[str, ...] = ("ja",)

    # --- relatief goed / relatief minder goed (front page) ---------------------------------------------------
    strength_min_diff: float = 5.0  # percentage points of share satisfied above/below the benchmark
    strength_min_n: int = 5         # respondents with an opinion on the aspect
    strength_max_items: int = 0     # at most this many per list, largest difference first; 0: all (the seed)

    # --- the benchmark ("alle deelnemers") -------------------------------------------------------------------
    # A choice of Blik op Werk: the seed compares with "het gemiddelde van alle deelnemers" without saying how.
    # "pooled": every respondent of every provider weighs the same (today's default; every provider view);
    # "providers": the mean of the providers' own means, every provider weighs the same (the staff explorer's
    # headline benchmark; provider views hold no per-provider cells and stay pooled).
    benchmark: str = "pooled"

    # --- the results norm (seed 000: trajectories completed, and completed successfully) -------------------
    # A choice of Blik op Werk: seed 000 names the norm for results, not its threshold.
    results_min_success_pct: float = 50.0  # success rate (successful / completed trajectories, %) per dienst
    # per dienst exceptions to the threshold above, as (dienst code, %) pairs; in TOML a table {"9" = 45.0}
    results_min_success_pct_per_service: tuple[tuple[int, float], ...] = ()

    # --- staff view: watch list and trend arrows (benchmarkverkenner) ----------------------------------------
    watch_grade_margin: float = 0.3    # a grade at most this far above its norm is "near the norm"
    watch_success_margin: float = 5.0  # a success rate at most this many points above its threshold is "near"
    trend_min_diff: float = 0.3        # a grade change of at least this (up or down) shows an arrow

    # --- small groups ----------------------------------------------------------------------------------------
    min_n: int = 5  # a base below this shows "te weinig respondenten" in provider and public views

    # --- uncertainty -----------------------------------------------------------------------------------------
    confidence: float = 0.95
    mean_interval: str = "t"          # t | normal
    share_interval: str = "wilson"    # wilson | wald

    # --- rounding: half away from zero, after computing on unrounded values ---------------------------------
    decimals: int = 1

    # --- who answers questions about the survey: the report's contact chapter (the seed names the research
    # bureau's helpdesk; who that is, is the foundation's choice, not the code's) ------------------------------
    contact_organisation: str = "Stichting Blik op Werk"
    contact_details: str = "www.blikopwerk.nl"

    # --- hoor en wederhoor (seed 004 §5: "de eerste drie weken na publicatie"; keurmerk.reactions) -----------
    reaction_window_days: int = 21    # a provider may react this long after a period's results are published
    reaction_max_chars: int = 4000    # longest reaction (and staff answer) accepted
    reaction_daily_limit: int = 20    # reactions one provider may send per calendar day (stops floods)

    def __post_init__(self) -> None:
        if self.mean_interval not in _MEAN_INTERVALS:
            raise ValueError(f"mean_interval moet een van {_MEAN_INTERVALS} zijn, niet {self.mean_interval!r}")
        if self.benchmark not in _BENCHMARKS:
            raise ValueError(f"benchmark moet een van {_BENCHMARKS} zijn, niet {self.benchmark!r}")
        if self.share_interval not in _SHARE_INTERVALS:
            raise ValueError(f"share_interval moet een van {_SHARE_INTERVALS} zijn, niet {self.share_interval!r}")
        if not 0 < self.completed_aspect_share <= 1:
            raise ValueError(f"completed_aspect_share moet in (0, 1] liggen, niet {self.completed_aspect_share!r}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence moet tussen 0 en 1 liggen, niet {self.confidence!r}")
        if self.public_total_min_hidden_n < 0:
            raise ValueError("public_total_min_hidden_n is minstens 0")
        if self.min_n < 1 or self.strength_min_n < 1 or self.strength_max_items < 0 or self.decimals < 0:
            raise ValueError("min_n en strength_min_n zijn minstens 1, strength_max_items en decimals minstens 0")
        thresholds = [self.results_min_success_pct, *(pct for _, pct in self.results_min_success_pct_per_service)]
        if not all(0 <= pct <= 100 for pct in thresholds):
            raise ValueError("een drempel voor het resultaat (results_min_success_pct…) ligt tussen 0 en 100")
        per_service = tuple(sorted((int(code), float(pct)) for code, pct in self.results_min_success_pct_per_service))
        object.__setattr__(self, "results_min_success_pct_per_service", per_service)

    def norm_total_of(self, form: str) -> float:
        """The total grade form ``form`` must reach: the seed's 6,5 for clients, the policy's for the others."""
        return {"commissioner": self.norm_total_commissioner,
                "inburgering": self.norm_total_inburgering}.get(form, self.norm_total)

    def results_threshold(self, service: int) -> float:
        """The success rate (%) that dienst ``service`` must reach for the results norm."""
        return dict(self.results_min_success_pct_per_service).get(int(service), self.results_min_success_pct)

    def replace(self, **changes: Any) -> Policy:
        """A new policy with these fields changed."""
        return replace(self, **changes)


_PAIR_FIELDS = ("results_min_success_pct_per_service",)  # a TOML table {"dienst code" = number}


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    """The TOML value as the field's type (lists become tuples, ints are accepted for floats)."""
    if name in _PAIR_FIELDS:
        ok = isinstance(value, dict) and all(
            str(k).isdigit() and isinstance(v, int | float) and not isinstance(v, bool) for k, v in value.items()
        )
        if not ok:
            raise ValueError(f"{source}: '{name}' moet een tabel zijn van dienstcode = percentage, "
                             f"bijvoorbeeld [{name}] met 9 = 45.0; niet {value!r}")
        return tuple((int(k), float(v)) for k, v in value.items())
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"{source}: '{name}' heeft een waarde van het verkeerde type ({value!r}); "
                         f"verwacht zoiets als {default!r}")
    return value


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in force: ``path``, else the file in ``$KEURMERK_POLICY``, else the defaults."""
    path = path or os.environ.get(POLICY_ENV)
    if not path:
        return Policy()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"Beleidsbestand {path} bestaat niet (zie {POLICY_ENV}).") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: geen geldige TOML ({error})") from None
    defaults = {f.name: f.default for f in fields(Policy)}
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise ValueError(f"{path}: onbekende sleutel(s) {', '.join(unknown)}; bekend zijn {', '.join(defaults)}")
    return Policy(**{k: _coerce(k, v, defaults[k], str(path)) for k, v in raw.items()})
