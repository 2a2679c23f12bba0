"""Reading a user's table and choosing a scikit-learn model by name, for ``fairalloc measure``.

The named models are the field's usual first choices, each for a class target or a continuous
one; ``module:factory`` names any callable that returns an estimator or pipeline. scikit-learn
is imported inside the functions.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from allocate.errors import InputError

__all__ = ["MODELS", "ModelData", "make_model", "read_model_data", "read_table", "select_columns",
           "default_metric"]

#: The named models: name -> (classifier, regressor) as "module:class" of scikit-learn.
MODELS: dict[str, tuple[str | None, str | None]] = {
    "logistic": ("sklearn.linear_model:LogisticRegression", None),
    "ridge": ("sklearn.linear_model:RidgeClassifier", "sklearn.linear_model:Ridge"),
    "random-forest": (
        "sklearn.ensemble:RandomForestClassifier",
        "sklearn.ensemble:RandomForestRegressor",
    ),
    "hist-gradient-boosting": (
        "sklearn.ensemble:HistGradientBoostingClassifier",
        "sklearn.ensemble:HistGradientBoostingRegressor",
    ),
}
_SCALED = ("logistic", "ridge")  # linear models: standardise features first
_OPTIONS = {"logistic": {"max_iter": 2000}}
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}


def read_table(path: str | Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table; ``text_columns`` are read as text where present."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"data file {str(path)!r}: expected {', '.join(TABLE_SUFFIXES)}; got {suffix!r}"
        )
    try:
        if TABLE_SUFFIXES[suffix] is None:
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, sep=TABLE_SUFFIXES[suffix], skipinitialspace=True,
                                dtype={c: str for c in text_columns})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
            ValueError) as error:
        lines = str(error).strip().splitlines()
        raise InputError(f"cannot read {str(path)!r}: {lines[0] if lines else 'empty file'}"
                         ) from None
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise InputError(f"data file {str(path)!r} has no rows")
    return table


def select_columns(table: pd.DataFrame, *, target: str, group: str,
                   features: list[str] | None) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Features, target and group label of a table, with every named column checked."""
    for role, name in (("target", target), ("group", group)):
        _check_column(table, name, role)
    if features:
        for name in features:
            _check_column(table, name, "feature")
        clash = [c for c in features if c in (target, group)]
        if clash:
            raise InputError(f"feature {clash[0]!r} is the target or the group column")
        columns = list(dict.fromkeys(features))
    else:
        columns = [c for c in table.columns if c not in (target, group)]
        if not columns:
            raise InputError("the table has no column besides the target and the group")
    return table[columns], table[target], table[group]


@dataclass(frozen=True)
class ModelData:
    """A table's features, target and group labels, with the model and scorer to measure by."""

    X: pd.DataFrame
    y: pd.Series
    labels: pd.Series
    estimator: object
    scoring: str
    model: str


def read_model_data(
    path: str | Path, *, target: str, group: str, features: list[str] | None = None,
    model: str = "", scoring: str = "",
) -> ModelData:  # fmt: skip
    """Read the table at ``path`` and choose its model, as ``fairalloc measure`` does.

    Parameters
    ----------
    path : path
        A CSV, TSV or Parquet table, one row each.
    target, group : str
        The column the model predicts and the column of each row's group label.
    features : list of str, optional
        Feature columns (default: every other column).
    model : str
        A name of :data:`MODELS` or ``module:factory``; by default logistic for a class target
        and ridge for a continuous one.
    scoring : str
        A scikit-learn scorer name; by default :func:`default_metric` of the target.

    Raises
    ------
    InputError
        A missing file or column, an unknown model, or non-numeric features a named model
        cannot take.
    """
    from allocate.measure import resolve_metric

    table = read_table(path, text_columns=(group,))
    X, y, labels = select_columns(table, target=target, group=group, features=features)
    scoring = scoring or default_metric(y)
    classification = resolve_metric(scoring).classification
    model = model or ("logistic" if classification else "ridge")
    estimator = make_model(model, classification=classification, metric=scoring)
    text = [str(c) for c, t in X.dtypes.items()
            if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))]
    if text and ":" not in model:
        shown = ", ".join(text[:5]) + (" ..." if len(text) > 5 else "")
        raise InputError(
            f"feature column(s) {shown} are not numeric and model {model!r} needs numbers; "
            "encode them first, leave them out of features, or give model as module:factory "
            "with a pipeline that encodes them"
        )
    return ModelData(X, y, labels, estimator, scoring, model)


def default_metric(y: pd.Series) -> str:
    """roc_auc for a two-class target, accuracy for more classes, r2 for a continuous one."""
    from sklearn.utils.multiclass import type_of_target

    try:
        kind = type_of_target(y.dropna().to_numpy())
    except ValueError:
        return "accuracy"
    return {"binary": "roc_auc", "multiclass": "accuracy"}.get(kind, "r2")


def make_model(name: str, *, classification: bool, metric: str = ""):
    """The estimator called ``name``: a named model for the task, or ``module:factory``.

    Raises
    ------
    InputError
        An unknown name (with a did-you-mean), a model that does not suit the task, or a
        factory that cannot be imported or returns no estimator.
    """
    if ":" in name:
        return _from_factory(name)
    if name not in MODELS:
        close = difflib.get_close_matches(name, list(MODELS), n=1, cutoff=0.4)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"unknown model {name!r}; {hint}(choose {', '.join(MODELS)}, or module:factory for "
            "a function returning a scikit-learn estimator)"
        )
    classifier, regressor = MODELS[name]
    where = classifier if classification else regressor
    if where is None:
        raise InputError(
            f"model {name!r} is a classifier, but metric {metric!r} scores a continuous "
            "target; choose ridge, random-forest or hist-gradient-boosting, or a class metric"
        )
    module, attribute = where.split(":")
    model = getattr(importlib.import_module(module), attribute)(**_OPTIONS.get(name, {}))
    if name in _SCALED:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), model)
    return model


def _from_factory(spec: str):
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InputError(f"model {spec!r}: write module:factory, e.g. my_models:make_model")
    sys.path.insert(0, str(Path.cwd()))  # a module beside the data, as Python itself would
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module may fail in any way while importing
        raise InputError(f"model {spec!r}: cannot import {module_name!r}: "
                         f"{type(error).__name__}: {error}") from None
    finally:
        sys.path.remove(str(Path.cwd()))
    if not hasattr(module, attribute):
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attribute, names, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"model {spec!r}: module {module_name!r} has no {attribute!r}{hint}")
    factory = getattr(module, attribute)
    try:
        instance = hasattr(factory, "fit") and not isinstance(factory, type)
        model = factory if instance else factory()
    except Exception as error:
        raise InputError(f"model {spec!r}: calling {attribute}() failed: "
                         f"{type(error).__name__}: {error}") from None
    if isinstance(model, type) or not (hasattr(model, "fit") and hasattr(model, "get_params")):
        raise InputError(
            f"model {spec!r}: {attribute} must return a scikit-learn estimator or pipeline; "
            f"got {type(model).__name__}"
        )
    return model


def _check_column(table: pd.DataFrame, name: str, role: str) -> None:
    if name in table.columns:
        return
    close = difflib.get_close_matches(name, list(table.columns), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(list(table.columns)[:12]) + (" ..." if len(table.columns) > 12 else "")
    raise InputError(f"the data have no {role} column {name!r}; {hint}(columns: {shown})")
