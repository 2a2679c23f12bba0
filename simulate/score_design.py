"""Who each replicate of a measured score curve trains and tests on, and at which sizes.

For each replicate, each group's people are put in a seeded random order; the first
``test_size`` (for a binary trait, as many cases as their share, and controls) are the group's
test people, and the rest, in that order, its training pool. A training size ``n`` is the first
``n`` of the pool (for a binary trait the first ``n/2`` cases and ``n/2`` controls:
:meth:`simulate.prs.CohortSplit.training`), so every smaller training set is a subset of every
larger one. The LD reference panel (genotypes only) is a seeded draw from the pool, never from
the test people. The rules for sizes follow :func:`allocate.measure_curves`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from allocate import InputError, sizes_from_fractions
from simulate.prs import CohortSplit

__all__ = ["replicate_splits", "size_plan", "training_limits", "MINIMUM_SIZE"]

#: The smallest training size measured, as the simulated source's.
MINIMUM_SIZE = 10


def replicate_splits(
    cohort, trait, *, test_size: float | int = 0.25, reference: int = 200,
    replicates: int = 1, seed: int = 0,
) -> list[CohortSplit]:  # fmt: skip
    """One split of ``cohort`` per replicate: test people, training order, reference panel.

    Parameters
    ----------
    cohort, trait
        A cohort (simulated, or a :class:`simulate.plink_cohort.PlinkCohort`) and its trait.
    test_size : float or int
        Test people per group: a fraction in (0, 1) (rounded up) or a number >= 2.
    reference : int
        People per group in the reference panel (at least 10; the whole pool when smaller).
    replicates : int
        Splits to draw.
    seed : int
        Seeds the replicates' seeds (each split's ``seed``).

    Returns
    -------
    list of simulate.prs.CohortSplit
    """
    _check_whole(replicates, "replicates", 1)
    _check_whole(reference, "reference", 10)
    fraction = isinstance(test_size, float) and 0 < test_size < 1
    if not fraction:
        _check_whole(test_size, "test_size", 2, "a fraction in (0, 1) or a number of people")
    children = np.random.SeedSequence(int(seed)).spawn(int(replicates))
    seeds = [int(child.generate_state(1)[0]) for child in children]
    return [_split(cohort, trait, test_size, int(reference), s) for s in seeds]


def _split(cohort, trait, test_size, reference: int, seed: int) -> CohortSplit:
    rng = np.random.default_rng(seed)
    tests, pools, panels = {}, {}, {}
    for group in cohort.groups:
        members = rng.permutation(cohort.individuals_of(group))
        count = int(np.ceil(test_size * members.size)) if test_size < 1 else int(test_size)
        if count >= members.size:
            raise InputError(f"group {group!r} has {members.size} people, no more than its "
                             f"{count} test people; ask for a smaller test_size")  # fmt: skip
        tested = _test_people(members, count, trait)
        pools[group] = members[~tested]
        tests[group] = np.sort(members[tested])
        panel = rng.choice(pools[group], size=min(reference, pools[group].size), replace=False)
        panels[group] = np.sort(panel)
    return CohortSplit(reference=panels, test=tests, pool=pools, seed=int(seed))


def _test_people(members: np.ndarray, count: int, trait) -> np.ndarray:
    """Which of ``members`` (in random order) are test people: the first ``count``, or for a
    binary trait the first cases and controls in their shares of the group."""
    tested = np.zeros(members.size, dtype=bool)
    if not trait.binary:
        tested[:count] = True
        return tested
    is_case = trait.values[members] == 1
    cases = int(round(count * is_case.mean()))
    tested[np.flatnonzero(is_case)[:cases]] = True
    tested[np.flatnonzero(~is_case)[: count - cases]] = True
    return tested


def training_limits(splits: Sequence[CohortSplit], trait) -> dict[str, int]:
    """Each group's largest training set in every split: its pool, or for a binary trait as
    many cases as controls (twice the rarer class; :meth:`CohortSplit.max_training` counts the
    cases only, the rarer class in the simulations)."""
    return {g: min(_largest(split, g, trait) for split in splits) for g in splits[0].pool}


def _largest(split: CohortSplit, group: str, trait) -> int:
    largest = split.max_training(group, trait)
    if trait.binary:
        controls = int((trait.values[split.pool[group]] == 0).sum())
        largest = min(largest, 2 * controls)
    return largest


def size_plan(
    splits: Sequence[CohortSplit], trait, *, sizes=None, fractions=None, training: str = "own"
) -> dict[str, list[int]]:
    """Training sizes per group, within each group's largest training set in every split.

    Parameters
    ----------
    splits : sequence of CohortSplit
        The replicates' splits.
    trait
        The trait (a binary one limits the largest training set: :func:`training_limits`).
    sizes : sequence of int or mapping of group to sequence of int, optional
        The same sizes for every group, or sizes per group: whole, distinct, at least 10.
    fractions : sequence of float, optional
        Instead of ``sizes``: fractions in (0, 1] of each group's largest training set
        (default and sizes as :func:`allocate.sizes_from_fractions`, as ``measure_curves``).
    training : {"own", "pooled"}
        Pooled training needs the same number of sizes in every group.
    """
    groups = list(splits[0].pool)
    largest = training_limits(splits, trait)
    if sizes is not None and fractions is not None:
        raise InputError("give sizes or fractions, not both")
    if sizes is None:
        plan = sizes_from_fractions({g: largest[g] for g in groups}, fractions)
    else:
        plan = _sizes_by_group(sizes, groups)
    for group, wanted in plan.items():
        if wanted[0] < MINIMUM_SIZE:
            raise InputError(
                f"group {group!r}: training size {wanted[0]} is under {MINIMUM_SIZE}, too few "
                "for a scan and a validation split; use larger fractions or explicit sizes"
            )
        if wanted[-1] > largest[group]:
            raise InputError(_too_small(splits[0], group, largest[group], wanted[-1], trait))
    if training == "pooled" and len({len(v) for v in plan.values()}) > 1:
        raise InputError("pooled training trains one score per step on every group's k-th "
                         "size, so every group needs the same number of sizes")  # fmt: skip
    return plan


def _sizes_by_group(sizes, groups: list[str]) -> dict[str, list[int]]:
    if not isinstance(sizes, Mapping):
        return {g: _whole_sizes(sizes) for g in groups}
    named = {str(k): v for k, v in sizes.items()}
    unknown, missing = sorted(set(named) - set(groups)), [g for g in groups if g not in named]
    if unknown or missing:
        raise InputError(f"sizes must name every group ({', '.join(groups)}) and no other; "
                         f"unknown {unknown or 'none'}, missing {missing or 'none'}")
    return {g: _whole_sizes(named[g]) for g in groups}


def _whole_sizes(values) -> list[int]:
    values = list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, int | float) or v != int(v)
                         for v in values):  # fmt: skip
        raise InputError(f"sizes must be whole numbers; got {values}")
    if len(set(values)) != len(values):
        raise InputError(f"sizes must be distinct; got {values}")
    return sorted(int(v) for v in values)


def _too_small(split: CohortSplit, group: str, largest: int, asked: int, trait) -> str:
    pool, tests = split.pool[group].size, split.test[group].size
    message = f"group {group!r} has {pool + tests} people: {tests} test people leave {pool}"
    if trait.binary:
        cases = int(trait.values[split.pool[group]].sum())
        message += (f", {cases} of them cases, so half-case training sets reach at most "
                    f"{largest}")  # fmt: skip
    return (f"{message}, fewer than the largest size asked, {asked}; ask for smaller sizes "
            "or a smaller test_size")


def _check_whole(value, name: str, minimum: int, what: str = "a whole number") -> None:
    if isinstance(value, bool) or float(value) != int(value) or value < minimum:
        raise InputError(f"{name} must be {what} >= {minimum}; got {value}")
