"""Learning curves: how a group's loss falls with more training samples.

The family (docs/method.md, "Learning curves"), per group ``g`` with pooled size ``N``::

    L_g(n) = c + a * n_g**(-b) + t * N**(-q)

Every curve is stored in the *loss* sense (lower is better). A score ``S`` (R^2, AUC, a utility)
is described by ``L = score_max - S``; :class:`Curve` converts back with :meth:`Curve.predict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from allocate.errors import InputError

__all__ = ["Curve", "Family", "Sense", "FAMILIES", "FAMILY_PARAMETERS", "size_for_own_term"]

Family = Literal["power", "power-offset", "transfer"]
Sense = Literal["loss", "score"]

#: The free parameters of each family, in the order the fitter uses.
FAMILY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "power": ("a", "b"),
    "power-offset": ("a", "b", "c"),
    "transfer": ("a", "b", "c", "t", "q"),
}
FAMILIES: tuple[str, ...] = tuple(FAMILY_PARAMETERS)


def size_for_own_term(a: ArrayLike, b: ArrayLike, room: ArrayLike) -> np.ndarray:
    """The size ``n`` whose own term ``a n^-b`` equals ``room``: ``(a / room)^(1/b)``.

    The inverse of the curve: with ``room = level - c`` (less any pooled term) it is the least
    size whose loss is at most ``level``. ``inf`` where ``room <= 0`` (no size gets there).

    Examples
    --------
    >>> size_for_own_term(1.0, 0.5, [0.1, 0.0]).tolist()
    [100.0, inf]
    """
    a, b, room = (np.asarray(x, dtype=float) for x in (a, b, room))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(room > 0, (a / np.where(room > 0, room, 1.0)) ** (1 / b), np.inf)


@dataclass(frozen=True)
class Curve:
    """One group's learning curve ``L(n) = c + a n^-b + t N^-q`` in the loss sense.

    Parameters
    ----------
    a, b : float
        Scale and exponent of the group's own learning rate (``a > 0``, ``b > 0``).
    c : float
        Irreducible loss, the asymptote (``c >= 0``).
    t, q : float
        Gain from the pooled training size ``N`` (``t >= 0``, ``q > 0``); ``t = 0`` makes the
        groups separable.
    sense : {"loss", "score"}
        The sense of the metric the curve describes. For a score, the curve is of
        ``score_max - S``.
    score_max : float
        The best possible score (1 for R^2 or AUC); only used when ``sense == "score"``.

    Examples
    --------
    >>> curve = Curve(a=1.0, b=0.5)
    >>> float(curve.loss(100))
    0.1
    >>> Curve(a=1.0, b=0.5, sense="score").predict(100).round(3).item()
    0.9
    """

    a: float
    b: float
    c: float = 0.0
    t: float = 0.0
    q: float = 0.5
    sense: Sense = "loss"
    score_max: float = 1.0

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "t", "q", "score_max"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise InputError(f"curve parameter {name} must be finite; got {value}")
        if self.a <= 0 or self.b <= 0:
            raise InputError(f"curve needs a > 0 and b > 0; got a={self.a}, b={self.b}")
        if self.c < 0 or self.t < 0:
            raise InputError(f"curve needs c >= 0 and t >= 0; got c={self.c}, t={self.t}")
        if self.q <= 0:
            raise InputError(f"curve needs q > 0; got q={self.q}")
        if self.sense not in ("loss", "score"):
            raise InputError(f"sense must be 'loss' or 'score'; got {self.sense!r}")

    @property
    def separable(self) -> bool:
        """True when the curve ignores other groups' data (``t == 0``)."""
        return self.t == 0.0

    def loss(self, n: ArrayLike, n_total: ArrayLike | None = None) -> np.ndarray:
        """The loss at own-group size ``n`` and pooled size ``n_total`` (default ``n``)."""
        n = np.asarray(n, dtype=float)
        value = self.c + self.a * n ** (-self.b)
        if self.t:
            pooled = n if n_total is None else np.asarray(n_total, dtype=float)
            value = value + self.t * pooled ** (-self.q)
        return value

    def to_metric(self, loss: ArrayLike) -> np.ndarray:
        """Convert a loss value of this curve to the metric's own sense."""
        loss = np.asarray(loss, dtype=float)
        return self.score_max - loss if self.sense == "score" else loss

    def from_metric(self, value: ArrayLike) -> np.ndarray:
        """Convert a value in the metric's own sense to this curve's loss."""
        return self.to_metric(value)  # the map is its own inverse

    def predict(self, n: ArrayLike, n_total: ArrayLike | None = None) -> np.ndarray:
        """The metric at ``n`` in its own sense (loss, or score for score curves)."""
        return self.to_metric(self.loss(n, n_total))

    def params(self) -> dict[str, float]:
        """The five shape parameters as a plain dict ``{a, b, c, t, q}``."""
        return {k: float(v) for k, v in asdict(self).items() if k in "abctq"}
