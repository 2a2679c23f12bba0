"""fairalloc's planning library: learning curves, allocation, adaptive collection.

Everything a notebook needs is importable from here::

    from allocate import fit_curves, read_points, read_study, plan, Study, run_strategy

Names are loaded on first use, so ``fairalloc plan`` does not pay for SciPy, pandas or cvxpy
when the problem does not need them.
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    # learning curves
    "Curve": "allocate.curves",
    "FAMILIES": "allocate.curves",
    "CurveFit": "allocate.fitting",
    "CurveFits": "allocate.fitting",
    "fit_curves": "allocate.fitting",
    "fit_group": "allocate.fitting",
    "read_points": "allocate.points",
    "validate_points": "allocate.points",
    "curves_to_toml": "allocate.curve_file",
    "sizes_from_fractions": "allocate.measure",
    "measure_curves": "allocate.measure",
    "MeasuredCurves": "allocate.measure",
    "read_model_data": "allocate.measure_models",
    # allocation
    "GroupSpec": "allocate.study_file",
    "StudySpec": "allocate.study_file",
    "read_study": "allocate.study_file",
    "study_from_dict": "allocate.study_file",
    "plan": "allocate.planning",
    "Plan": "allocate.planning",
    "UTILITY_NAMES": "allocate.utilities",
    "BUDGETED_UTILITY_NAMES": "allocate.utilities",
    # adaptive collection
    "StudyState": "allocate.strategies",
    "Proposal": "allocate.strategies",
    "make_strategy": "allocate.strategies",
    "STRATEGIES": "allocate.strategies",
    "damp": "allocate.strategies",
    "Expected": "allocate.uncertain_curves",
    "Cautious": "allocate.uncertain_curves",
    "CurveDraws": "allocate.uncertain_curves",
    "run_strategy": "allocate.sequential",
    "Trajectory": "allocate.sequential",
    "evaluate_totals": "allocate.sequential",
    "measured_objective": "allocate.sequential",
    "SyntheticSource": "allocate.sources",
    "random_synthetic_study": "allocate.sources",
    "PoolSource": "allocate.pool_source",
    "replay_collection": "allocate.pool_source",
    "WaterFilling": "allocate.water_filling",
    "water_filling_counts": "allocate.water_filling",
    "Study": "allocate.study",
    "Batch": "allocate.study_records",
    "GroupStatus": "allocate.study_records",
    "StudyStatus": "allocate.study_records",
    "StudyStorage": "allocate.study_storage",
    "InMemoryStorage": "allocate.study_storage",
    "SQLiteStorage": "allocate.study_sqlite",
    "read_results": "allocate.study_results",
    # files and figures, written atomically
    "atomic_path": "allocate.files",
    "write_text_atomically": "allocate.files",
    "plot_curves": "allocate.plotting",
    "save_figure_atomically": "allocate.plotting",
    # errors
    "FairallocError": "allocate.errors",
    "FitError": "allocate.errors",
    "InfeasibleStudy": "allocate.errors",
    "InputError": "allocate.errors",
    "StudyFileError": "allocate.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'allocate' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
