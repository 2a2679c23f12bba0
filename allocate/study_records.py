"""What a study hands back: a numbered batch to collect, and where the study stands.

These records are the study's answers to :meth:`allocate.study.Study.ask` and
:meth:`allocate.study.Study.status`, whichever storage holds the study. They are frozen, print a
``summary()`` for a person, and turn into plain data with ``to_dict()`` and ``to_frame()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from allocate.fitting import CurveFits

__all__ = ["Batch", "GroupStatus", "StudyStatus", "json_number", "json_ready"]


@dataclass(frozen=True)
class Batch:
    """One numbered request for samples: how many to collect from each group now.

    Attributes
    ----------
    number : int
        The batch's number, from 1.
    counts : dict of str to int
        New samples to collect per group, in study order. All zero means the study is finished.
    target_totals : dict of str to float, or None
        The strategy's plan for the whole remaining budget (totals per group), if it has one.
    cost : float
        What collecting ``counts`` costs.
    note : str
        The strategy's note ("pilot", "adaptive", "equal fallback: ...").
    asked_at : str or None
        When the batch was first asked for (UTC, ISO 8601); None for a finished batch, which
        is answered but never recorded.
    warnings : tuple of str
        What the curve fits behind this batch warned about (each prefixed by its group), e.g.
        a score that falls as samples grow: the plan rests on those curves.
    """

    number: int
    counts: dict[str, int]
    target_totals: dict[str, float] | None
    cost: float
    note: str
    asked_at: str | None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:  # the batch's own copies, not the caller's dicts
        object.__setattr__(self, "counts", dict(self.counts))
        if self.target_totals is not None:
            object.__setattr__(self, "target_totals", dict(self.target_totals))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    @property
    def finished(self) -> bool:
        """True when the batch asks for nothing: the strategy has spent what it can."""
        return not any(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready)."""
        return {
            "number": self.number,
            "finished": self.finished,
            "counts": dict(self.counts),
            "target_totals": None if self.target_totals is None else dict(self.target_totals),
            "cost": json_number(self.cost),
            "note": self.note,
            "asked_at": self.asked_at,
            "warnings": list(self.warnings),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per group: ``collect`` and ``target_total``."""
        frame = pd.DataFrame({"group": list(self.counts), "collect": list(self.counts.values())})
        if self.target_totals is not None:
            frame["target_total"] = [self.target_totals[g] for g in self.counts]
        return frame.set_index("group")

    def summary(self) -> str:
        """A plain-text line per group for a person."""
        if self.finished:
            return f"Batch {self.number}: nothing more to collect; the study is finished."
        lines = [f"Batch {self.number} ({self.note}): collect, costing {self.cost:.6g}"]
        lines += [f"  {group}: {count}" for group, count in self.counts.items()]
        lines += [f"warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class GroupStatus:
    """One group's line of :class:`StudyStatus`.

    ``predicted_now`` and ``predicted_at_plan`` are the latest fitted curve's metric (in its own
    sense) at the group's current total and at the plan's total (``None`` without a fit or plan).
    """

    name: str
    cost: float
    pool: float
    have: int
    collected: int
    total: int
    asked: int
    planned_total: float | None
    predicted_now: float | None
    predicted_at_plan: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready)."""
        return {
            "name": self.name,
            "cost": self.cost,
            "pool": None if math.isinf(self.pool) else self.pool,
            "have": self.have,
            "collected": self.collected,
            "total": self.total,
            "asked": self.asked,
            "planned_total": json_number(self.planned_total),
            "predicted_now": json_number(self.predicted_now),
            "predicted_at_plan": json_number(self.predicted_at_plan),
        }


@dataclass(frozen=True, eq=False)
class StudyStatus:
    """Where a study stands: budget spent and left, per-group counts, curves and plan.

    Attributes
    ----------
    strategy : str
        The strategy's name.
    utility : str
        The study's utility.
    sense : str
        The metric's sense, ``"loss"`` or ``"score"``: what the ``predicted_*`` columns are.
    budget, spent, left : float
        The collection budget, what the told batches cost, and the rest.
    rounds : int
        Batches told so far.
    open_batch : Batch or None
        The batch asked for and not yet told.
    finished : bool
        The budget left buys no sample of any group with room (a strategy may also finish
        earlier: :meth:`allocate.study.Study.ask` then answers with a finished batch).
    groups : tuple of GroupStatus
        In study order.
    fits : CurveFits or None
        The curves fitted for the latest batch the strategy proposed (``fitted_at``).
    fitted_at : int or None
        That batch's number.
    plan_from : int or None
        The batch whose proposal gave ``planned_total`` (the latest one with a plan).
    """

    strategy: str
    utility: str
    sense: str
    budget: float
    spent: float
    left: float
    rounds: int
    open_batch: Batch | None
    finished: bool
    groups: tuple[GroupStatus, ...]
    fits: CurveFits | None
    fitted_at: int | None
    plan_from: int | None

    @property
    def warnings(self) -> list[str]:
        """What the latest curve fits warned about, each prefixed by its group."""
        return [] if self.fits is None else list(self.fits.warnings)

    def to_frame(self) -> pd.DataFrame:
        """One row per group."""
        return pd.DataFrame([group.to_dict() for group in self.groups]).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready), as printed by ``fairalloc study status --json``."""
        return {
            "strategy": self.strategy,
            "utility": self.utility,
            "sense": self.sense,
            "budget": json_number(self.budget),
            "spent": json_number(self.spent),
            "left": json_number(self.left),
            "rounds": self.rounds,
            "finished": self.finished,
            "open_batch": None if self.open_batch is None else self.open_batch.to_dict(),
            "groups": [group.to_dict() for group in self.groups],
            "fitted_at": self.fitted_at,
            "fits": None if self.fits is None else json_ready(self.fits.to_dict()),
            "plan_from": self.plan_from,
            "warnings": self.warnings,
        }

    def summary(self) -> str:
        """A plain-text report for a person."""
        state = "finished" if self.finished else (
            f"batch {self.open_batch.number} open" if self.open_batch else "no batch open")
        lines = [
            f"Study ({self.strategy} strategy, {self.utility} utility): {self.rounds} round(s)"
            f" recorded, {state}",
            f"spent {self.spent:.6g} of {self.budget:.6g}; {self.left:.6g} left",
            f"{'group':<16}{'have':>8}{'collected':>11}{'total':>9}{'asked':>8}{'plan':>10}",
        ]
        for g in self.groups:
            plan = "" if g.planned_total is None else f"{g.planned_total:.6g}"
            lines.append(f"{g.name[:15]:<16}{g.have:>8}{g.collected:>11}{g.total:>9}"
                         f"{g.asked:>8}{plan:>10}")
        if self.fits is not None:
            lines.append(f"curves fitted for batch {self.fitted_at}:")
            lines += ["  " + line for line in self.fits.summary().splitlines()]
        return "\n".join(lines)


def json_number(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not finite (JSON has no inf/NaN)."""
    return None if value is None or not math.isfinite(float(value)) else float(value)


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars and arrays made plain, and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return json_number(value)
    return value
