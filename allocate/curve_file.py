"""Writing fitted curves as a study file's ``[[groups]]`` tables, which ``fairalloc plan`` reads."""

from __future__ import annotations

from allocate.fitting import CurveFits

__all__ = ["curves_to_toml"]


def curves_to_toml(fits: CurveFits) -> str:
    """The groups' fitted curves as TOML ``[[groups]]`` tables (name, sense, curve).

    The text has no budget: give one with ``fairalloc plan CURVES.toml --budget B`` or add
    ``budget = ...`` and the groups' costs to the file.

    Examples
    --------
    >>> import pandas as pd
    >>> from allocate.fitting import fit_curves
    >>> points = pd.DataFrame({"group": "A", "n": [10, 100, 1000], "value": [0.3, 0.1, 0.03]})
    >>> print(curves_to_toml(fit_curves(points, family="power")).splitlines()[2])
    [[groups]]
    """
    lines = [
        f"# Learning curves fitted by `fairalloc fit` ({fits.family} family, {fits.sense}).",
        "# Add budget = ... and each group's cost, or pass --budget to `fairalloc plan`.",
    ]
    for fit in fits:
        curve = fit.curve
        params = ", ".join(f"{k} = {_toml_float(v)}" for k, v in curve.params().items())
        lines += ["[[groups]]", f"name = {_toml_string(fit.group)}", f'sense = "{curve.sense}"']
        if curve.sense == "score":
            lines.append(f"score_max = {_toml_float(curve.score_max)}")
        lines += [f"curve = {{ {params} }}", ""]
    return "\n".join(lines)


def _toml_float(value: float) -> str:
    return repr(float(value))


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
