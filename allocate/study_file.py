"""Study specifications: the groups, their curves and costs, the budget and the utility.

A study is read from a TOML file (:func:`read_study`) or a plain dict (:func:`study_from_dict`),
checked once at the door, and handed to :func:`allocate.planning.plan` as a frozen
:class:`StudySpec`. The file form::

    budget = 600.0
    utility = "maximin"          # weighted | maximin | power-mean | target
    p = 2.0                      # power-mean exponent (p >= 1)
    integer = true               # whole samples

    [[groups]]
    name = "YRI"
    cost = 1.5
    weight = 0.2
    have = 120
    min = 0
    max = 20000
    target = 0.05
    sense = "loss"
    score_max = 1.0
    curve = { a = 1.0, b = 0.5, c = 0.0, t = 0.0, q = 0.5 }
    fitted_sizes = [50, 3200]    # written by `fairalloc fit`: the n range the curve was fitted on
    fit_warnings = []            # written by `fairalloc fit`: what the fit warned about

``fitted_sizes`` and ``fit_warnings`` are optional and describe where the curve came from; they
do not change a plan, but :func:`extrapolation_warnings` and the command line report them.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocate.curves import Curve
from allocate.errors import InfeasibleStudy, InputError, StudyFileError
from allocate.utilities import UTILITY_NAMES as UTILITIES

__all__ = [
    "GroupSpec",
    "StudySpec",
    "Utility",
    "UTILITIES",
    "EXTRAPOLATION_FACTOR",
    "extrapolation_warnings",
    "read_study",
    "study_from_dict",
]

#: A utility's name, one of :data:`UTILITIES` (defined in :mod:`allocate.utilities`).
Utility = str

_STUDY_FIELDS = ("budget", "utility", "p", "integer", "groups")
_GROUP_FIELDS = (
    "name", "cost", "weight", "have", "min", "max", "target", "sense", "score_max", "curve",
    "fitted_sizes", "fit_warnings",
)
#: A plan is reported as extrapolating when a group's total exceeds this many times the
#: largest size its curve was fitted on.
EXTRAPOLATION_FACTOR = 10.0
#: The curve a group gets in a sequential study file that gives none; never planned on.
UNFITTED_CURVE: dict[str, float] = {"a": 1.0, "b": 0.5}
_CURVE_FIELDS = ("a", "b", "c", "t", "q")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and float(value).is_integer()


@dataclass(frozen=True)
class GroupSpec:
    """One group of a study: its learning curve, sample cost, stake and bounds.

    Parameters
    ----------
    name : str
        The group's label, unique within a study.
    curve : Curve
        The group's learning curve (it carries the metric's sense and ``score_max``).
    cost : float
        Cost of one new sample (> 0).
    weight : float
        Population share or stakeholder weight (>= 0), used by the weighted and power-mean
        utilities and as the shares of the proportional baseline.
    have : int
        Samples already in hand.
    min : int
        Quota on the group's total ``have + collect``.
    max : float
        The group's pool: the most it can ever have (``math.inf`` when unlimited).
    target : float or None
        A level the group's metric must reach, in the metric's own sense (a loss, or a score
        for score curves).
    fitted_sizes : tuple of (float, float) or None
        The smallest and largest own-group size the curve was fitted on, when known.
    fit_warnings : tuple of str
        What the curve's fit warned about. Neither of these last two takes part in comparisons
        of studies: they describe the curve's origin, not the study.
    """

    name: str
    curve: Curve
    cost: float = 1.0
    weight: float = 1.0
    have: int = 0
    min: int = 0
    max: float = math.inf
    target: float | None = None
    fitted_sizes: tuple[float, float] | None = field(default=None, compare=False)
    fit_warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        where = f"group {self.name!r}"
        object.__setattr__(self, "fit_warnings", tuple(self.fit_warnings))
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"group name must be a non-empty string; got {self.name!r}")
        if not isinstance(self.curve, Curve):
            raise InputError(f"{where}: curve must be a Curve; got {type(self.curve).__name__}")
        if not (_is_number(self.cost) and math.isfinite(self.cost) and self.cost > 0):
            raise InputError(f"{where}: cost must be a positive number; got {self.cost!r}")
        if not (_is_number(self.weight) and math.isfinite(self.weight) and self.weight >= 0):
            raise InputError(f"{where}: weight must be a number >= 0; got {self.weight!r}")
        for name in ("have", "min"):
            value = getattr(self, name)
            if not (_is_whole(value) and value >= 0):
                raise InputError(f"{where}: {name} must be a whole number >= 0; got {value!r}")
        if not (self.max == math.inf or (_is_whole(self.max) and self.max >= 1)):
            raise InputError(f"{where}: max must be a whole number >= 1; got {self.max!r}")
        if self.target is not None and not (
            _is_number(self.target) and math.isfinite(self.target)
        ):
            raise InputError(f"{where}: target must be a finite number; got {self.target!r}")
        if self.fitted_sizes is not None:
            object.__setattr__(self, "fitted_sizes", _checked_sizes(self.fitted_sizes, where))
        if not all(isinstance(note, str) for note in self.fit_warnings):
            raise InputError(f"{where}: fit_warnings must be strings; got {self.fit_warnings!r}")
        if self.have > self.max:
            raise InfeasibleStudy(
                f"{where} already has {self.have} samples, more than its pool max = {self.max:g};"
                " raise max or lower have"
            )
        if self.min > self.max:
            raise InfeasibleStudy(
                f"{where} has quota min = {self.min} above its pool max = {self.max:g};"
                " lower min or raise max"
            )

    @property
    def target_loss(self) -> float | None:
        """The target converted to the curve's loss sense (``None`` without a target)."""
        return None if self.target is None else float(self.curve.from_metric(self.target))


@dataclass(frozen=True)
class StudySpec:
    """A whole study: groups, budget and the stakeholders' utility.

    Parameters
    ----------
    groups : tuple of GroupSpec
        At least one group; names unique; every curve in the same sense.
    budget : float or None
        Budget in cost units (>= 0). May be ``None`` when it is supplied at planning time, or
        for the target utility (then no budget limit applies).
    utility : {"weighted", "maximin", "power-mean", "target"}
        How per-group performance is aggregated (docs/method.md, "Utilities").
    p : float
        Power-mean exponent (>= 1), used only by ``utility = "power-mean"``.
    integer : bool
        Whole samples (default) or the continuous optimum.
    """

    groups: tuple[GroupSpec, ...]
    budget: float | None
    utility: Utility = "weighted"
    p: float = 2.0
    integer: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        if not self.groups:
            raise InputError("a study needs at least one group")
        for group in self.groups:
            if not isinstance(group, GroupSpec):
                raise InputError(f"groups must be GroupSpec objects; got {type(group).__name__}")
        _check_budget(self.budget)
        _check_utility(self.utility)
        _check_p(self.p)
        if not isinstance(self.integer, bool):
            raise InputError(f"integer must be true or false; got {self.integer!r}")
        names = [group.name for group in self.groups]
        seen: set[str] = set()  # (set.add returns None: a name is kept when seen before)
        duplicates = sorted({name for name in names if name in seen or seen.add(name)})
        if duplicates:
            raise InputError(f"group names must be unique; repeated: {', '.join(duplicates)}")
        senses = {group.curve.sense for group in self.groups}
        if len(senses) > 1:
            raise InputError(
                "all groups must use one metric sense (all 'loss' or all 'score');"
                f" got {', '.join(sorted(senses))}"
            )
        if sum(group.weight for group in self.groups) <= 0:
            raise InputError("at least one group needs a positive weight")

    @property
    def sense(self) -> str:
        """The metric sense shared by every group (``"loss"`` or ``"score"``)."""
        return self.groups[0].curve.sense

    @property
    def names(self) -> tuple[str, ...]:
        """The group names in file order."""
        return tuple(group.name for group in self.groups)


def _checked_sizes(sizes: Any, where: str) -> tuple[float, float]:
    if not (
        isinstance(sizes, Sequence) and len(sizes) == 2 and all(map(_is_number, sizes))
        and 0 < sizes[0] <= sizes[1] < math.inf
    ):
        raise InputError(
            f"{where}: fitted_sizes must be [smallest, largest] positive sizes; got {sizes!r}"
        )
    return float(sizes[0]), float(sizes[1])


def extrapolation_warnings(
    study: StudySpec, totals: Sequence[float], *, factor: float = EXTRAPOLATION_FACTOR
) -> list[str]:
    """Say which groups a plan takes beyond ``factor`` times the largest size they were fitted on.

    Parameters
    ----------
    study : StudySpec
        The planned study; groups without ``fitted_sizes`` are not checked.
    totals : sequence of float
        Planned totals per group, in study order (e.g. ``plan.totals``).
    factor : float
        How far beyond the largest fitted size a total may go before it is reported.

    Returns
    -------
    list of str
        One sentence per extrapolated group (empty when none is).

    Examples
    --------
    >>> study = study_from_dict({"budget": 10, "groups": [
    ...     {"name": "A", "curve": {"a": 1.0, "b": 0.5}, "fitted_sizes": [10, 100]}]})
    >>> extrapolation_warnings(study, [5000])[0][:59]
    "group 'A' is planned at 5,000 samples, 50x the largest size"
    """
    if len(totals) != len(study.groups):
        raise InputError(
            f"totals needs one value per group ({len(study.groups)}); got {len(totals)}"
        )
    notes = []
    for group, total in zip(study.groups, totals, strict=True):
        if group.fitted_sizes is None:
            continue
        largest = group.fitted_sizes[1]
        if total > factor * largest:
            notes.append(
                f"group {group.name!r} is planned at {total:,.0f} samples, {total / largest:.3g}x "
                f"the largest size its curve was fitted on ({largest:,.0f}); beyond "
                f"{factor:g}x the curve is an extrapolation: measure at larger sizes first"
            )
    return notes


def _check_budget(budget: Any) -> None:
    if budget is None:
        return
    if not (_is_number(budget) and math.isfinite(budget) and budget >= 0):
        raise InputError(f"budget must be a number >= 0; got {budget!r}")


def _check_utility(utility: Any) -> None:
    if utility not in UTILITIES:
        raise InputError(
            f"utility must be one of {', '.join(UTILITIES)}; got {utility!r}"
            + _did_you_mean(str(utility), UTILITIES)
        )


def _check_p(p: Any) -> None:
    if not (_is_number(p) and math.isfinite(p) and p >= 1):
        raise InputError(f"p must be a number >= 1; got {p!r}")


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _reject_unknown(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise StudyFileError(
                f"{where}: unknown field {key!r}{_did_you_mean(str(key), allowed)};"
                f" allowed: {', '.join(allowed)}"
            )


def _number(table: dict, key: str, where: str, default: Any) -> Any:
    value = table.get(key, default)
    if value is not default and not _is_number(value):
        raise StudyFileError(f"{where}: {key} must be a number; got {value!r}")
    return value


def _whole(table: dict, key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if not _is_whole(value):
        raise StudyFileError(f"{where}: {key} must be a whole number; got {value!r}")
    return int(value)


def _curve_from_dict(table: dict, where: str, require_curves: bool = True) -> Curve:
    raw = table.get("curve")
    if raw is None and not require_curves:
        raw = dict(UNFITTED_CURVE)
    if not isinstance(raw, dict):
        raise StudyFileError(
            f"{where}: curve must be a table like {{ a = 1.0, b = 0.5 }}; got {raw!r}"
        )
    _reject_unknown(raw, _CURVE_FIELDS, f"{where} curve")
    for key in ("a", "b"):
        if key not in raw:
            raise StudyFileError(f"{where}: curve needs {key}")
    shape = {key: _number(raw, key, f"{where} curve", None) for key in raw}
    sense = table.get("sense", "loss")
    if sense not in ("loss", "score"):
        raise StudyFileError(
            f"{where}: sense must be 'loss' or 'score'; got {sense!r}"
            + _did_you_mean(str(sense), ("loss", "score"))
        )
    score_max = _number(table, "score_max", where, 1.0)
    if score_max < 0 or not math.isfinite(score_max):
        raise StudyFileError(
            f"{where}: score_max must be a number >= 0 (the best possible score); got {score_max!r}"
        )
    return Curve(**{k: float(v) for k, v in shape.items()}, sense=sense,
                 score_max=float(score_max))


def _group_from_dict(table: Any, index: int, require_curves: bool = True) -> GroupSpec:
    if not isinstance(table, dict):
        raise StudyFileError(f"groups[{index}] must be a table; got {table!r}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise StudyFileError(f"groups[{index}]: name must be a non-empty string; got {name!r}")
    where = f"group {name!r}"
    _reject_unknown(table, _GROUP_FIELDS, where)
    try:
        curve = _curve_from_dict(table, where, require_curves)
    except InputError as error:
        raise StudyFileError(f"{where}: {error}") from None
    pool = table.get("max", math.inf)
    if "max" in table and not _is_whole(pool):
        raise StudyFileError(f"{where}: max must be a whole number; got {pool!r}")
    target = _number(table, "target", where, None)
    notes = table.get("fit_warnings", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise StudyFileError(f"{where}: fit_warnings must be a list of strings; got {notes!r}")
    try:
        return GroupSpec(
            name=name,
            curve=curve,
            cost=float(_number(table, "cost", where, 1.0)),
            weight=float(_number(table, "weight", where, 1.0)),
            have=_whole(table, "have", where, 0),
            min=_whole(table, "min", where, 0),
            max=pool if pool == math.inf else int(pool),
            target=None if target is None else float(target),
            fitted_sizes=table.get("fitted_sizes"),
            fit_warnings=tuple(notes),
        )
    except InfeasibleStudy:
        raise
    except InputError as error:
        raise StudyFileError(str(error)) from None


def study_from_dict(data: dict, *, require_curves: bool = True) -> StudySpec:
    """Build a validated :class:`StudySpec` from the dict form of a study file.

    Parameters
    ----------
    data : dict
        Top-level fields ``budget``, ``utility``, ``p``, ``integer`` and ``groups`` (a list of
        group tables; see the module docstring).
    require_curves : bool
        When False, a group without a ``curve`` gets the placeholder :data:`UNFITTED_CURVE`
        (in its ``sense``): sequential studies fit their own curves from what they measure.

    Returns
    -------
    StudySpec

    Raises
    ------
    StudyFileError
        Unknown field (with a did-you-mean), wrong type or out-of-range value.
    InfeasibleStudy
        A group with ``have > max`` or ``min > max``.

    Examples
    --------
    >>> study = study_from_dict({"budget": 100, "groups": [
    ...     {"name": "A", "curve": {"a": 1.0, "b": 0.5}},
    ...     {"name": "B", "cost": 2.0, "curve": {"a": 2.0, "b": 0.5}}]})
    >>> study.names, study.utility, study.budget
    (('A', 'B'), 'weighted', 100)
    """
    if not isinstance(data, dict):
        raise StudyFileError(f"a study must be a table of fields; got {type(data).__name__}")
    _reject_unknown(data, _STUDY_FIELDS, "study")
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise StudyFileError("study: needs at least one [[groups]] table")
    specs = tuple(
        _group_from_dict(table, index, require_curves) for index, table in enumerate(groups)
    )
    budget = _number(data, "budget", "study", None)
    integer = data.get("integer", True)
    if not isinstance(integer, bool):
        raise StudyFileError(f"study: integer must be true or false; got {integer!r}")
    try:
        return StudySpec(
            groups=specs,
            budget=budget,
            utility=data.get("utility", "weighted"),
            p=_number(data, "p", "study", 2.0),
            integer=integer,
        )
    except InputError as error:
        raise StudyFileError(f"study: {error}") from None


def read_study(path: str | Path, *, require_curves: bool = True) -> StudySpec:
    """Read and validate a study TOML file.

    Parameters
    ----------
    path : str or Path
        The study file.
    require_curves : bool
        See :func:`study_from_dict`.

    Returns
    -------
    StudySpec

    Raises
    ------
    StudyFileError
        Missing or unreadable file, invalid TOML, or any error of :func:`study_from_dict`
        (the message names the file).
    InfeasibleStudy
        A group with ``have > max`` or ``min > max``.
    """
    path = Path(path)
    if path.is_dir():
        raise StudyFileError(f"study file {str(path)!r} is a folder; give the TOML file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyFileError(f"study file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StudyFileError(f"cannot read study file {str(path)!r}: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StudyFileError(f"{path.name} is not valid TOML: {error}") from None
    try:
        return study_from_dict(data, require_curves=require_curves)
    except StudyFileError as error:
        raise StudyFileError(f"{path.name}: {error}") from None
