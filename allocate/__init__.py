"""fairalloc's planning library: learning curves, allocation, adaptive collection.

Everything a notebook needs is importable from here::

    from allocate import fit_curves, read_points, Curve
"""

from allocate.curve_file import curves_to_toml
from allocate.curves import FAMILIES, Curve
from allocate.errors import FairallocError, FitError, InfeasibleStudy, InputError, StudyFileError
from allocate.fitting import CurveFit, CurveFits, fit_curves, fit_group
from allocate.plan import Plan, plan
from allocate.points import read_points, validate_points
from allocate.study_file import GroupSpec, StudySpec, read_study, study_from_dict
from allocate.study_store import Batch, Study, StudyStatus, read_results

__all__ = [
    "Curve",
    "CurveFit",
    "CurveFits",
    "FAMILIES",
    "FairallocError",
    "FitError",
    "InfeasibleStudy",
    "InputError",
    "StudyFileError",
    "curves_to_toml",
    "fit_curves",
    "fit_group",
    "read_points",
    "validate_points",
    "GroupSpec",
    "StudySpec",
    "read_study",
    "study_from_dict",
    "plan",
    "Plan",
    "Study",
    "Batch",
    "StudyStatus",
    "read_results",
]
