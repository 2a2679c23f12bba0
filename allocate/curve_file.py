"""Writing fitted curves as a study file's ``[[groups]]`` tables, which ``fairalloc plan`` reads.

Each group carries what the points say about it: its fitted curve, the samples already measured
(``have``: the largest own-group size among its points), the range of sizes the curve was fitted
on (``fitted_sizes``) and the fit's warnings. What the points cannot say (the cost of a sample,
the group's weight, the budget) is written as a marked default for the user to edit.
"""

from __future__ import annotations

from allocate.fitting import CurveFits

__all__ = ["curves_to_toml", "ASSUMED_DEFAULTS"]

#: Fields a curves file fills with a default because the points do not give them.
ASSUMED_DEFAULTS: dict[str, float] = {"cost": 1.0, "weight": 1.0}


def curves_to_toml(fits: CurveFits) -> str:
    """The groups' fitted curves as TOML ``[[groups]]`` tables of a study file.

    Per group: ``name``, ``sense`` (and ``score_max``), ``have`` (the largest own-group size
    measured, taken as the samples in hand), ``cost`` and ``weight`` (the defaults of
    :data:`ASSUMED_DEFAULTS`, marked as assumed), ``fitted_sizes``, ``fit_warnings`` and the
    ``curve``. The text has no budget: add ``budget = ...`` at the top or give one when planning.

    Examples
    --------
    >>> import pandas as pd
    >>> from allocate.fitting import fit_curves
    >>> points = pd.DataFrame({"group": "A", "n": [10, 100, 1000], "value": [0.3, 0.1, 0.03]})
    >>> text = curves_to_toml(fit_curves(points, family="power"))
    >>> [line for line in text.splitlines() if line.startswith(("have", "fitted"))]
    ['have = 1000', 'fitted_sizes = [10.0, 1000.0]']
    """
    defaults = ", ".join(f"{key} = {value:g}" for key, value in ASSUMED_DEFAULTS.items())
    lines = [
        f"# Learning curves fitted by `fairalloc fit` ({fits.family} family, {fits.sense}).",
        "# have = the largest size measured in each group, taken as the samples in hand.",
        f"# ASSUMED defaults, not measured: {defaults} for every group; edit them.",
        "# No budget: add budget = ... here, or give one when planning.",
        "",
    ]
    for fit in fits:
        curve = fit.curve
        params = ", ".join(f"{k} = {_toml_float(v)}" for k, v in curve.params().items())
        lines += ["[[groups]]", f"name = {_toml_string(fit.group)}", f'sense = "{curve.sense}"']
        if curve.sense == "score":
            lines.append(f"score_max = {_toml_float(curve.score_max)}")
        if fit.fitted_sizes is None:
            lines.append("have = 0  # the measured sizes are not known")
        else:
            lines.append(f"have = {int(fit.fitted_sizes[1])}")
        lines += [f"{key} = {_toml_float(value)}  # assumed" for key, value in
                  ASSUMED_DEFAULTS.items()]
        if fit.fitted_sizes is not None:
            low, high = fit.fitted_sizes
            lines.append(f"fitted_sizes = [{_toml_float(low)}, {_toml_float(high)}]")
        if fit.warnings:
            notes = [f"    {_toml_string(note)}," for note in fit.warnings]
            lines += ["fit_warnings = [", *notes, "]"]
        else:
            lines.append("fit_warnings = []")
        lines += [f"curve = {{ {params} }}", ""]
    return "\n".join(lines)


def _toml_float(value: float) -> str:
    return repr(float(value))


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
