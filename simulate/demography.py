"""The three-population out-of-Africa model of Gutenkunst et al. (2009).

The model stdpopsim catalogues as ``HomSap/OutOfAfrica_3G09``: an ancestral African population
grows, the out-of-Africa bottleneck population (OOA) splits from the Yoruba (YRI), and OOA later
splits into the growing European (CEU) and Han Chinese (CHB) populations, with symmetric
migration between the contemporary populations. Parameters are the maximum-likelihood values
of Gutenkunst et al. (2009), Table 1, as stdpopsim states them (times in years, 25-year
generations).
"""

from __future__ import annotations

import math

import msprime

__all__ = [
    "GENERATION_TIME",
    "MUTATION_RATE",
    "SAMPLED_POPULATIONS",
    "out_of_africa_3g09",
]

#: Years per generation used to convert the published times.
GENERATION_TIME = 25
#: Per-base, per-generation mutation rate the model was fitted with.
MUTATION_RATE = 2.35e-8
#: The contemporary populations a cohort can be sampled from.
SAMPLED_POPULATIONS: tuple[str, ...] = ("YRI", "CEU", "CHB")

_N_ANCESTRAL = 7300
_N_BOTTLENECK = 2100
_N_AFRICA = 12300
_N_EUROPE_FOUNDERS = 1000
_N_ASIA_FOUNDERS = 510
_T_AFRICA_GROWTH = 220e3 / GENERATION_TIME
_T_OUT_OF_AFRICA = 140e3 / GENERATION_TIME
_T_EUROPE_ASIA_SPLIT = 21.2e3 / GENERATION_TIME
_GROWTH_EUROPE = 0.004
_GROWTH_ASIA = 0.0055
_M_AFRICA_BOTTLENECK = 25e-5
_M_AFRICA_EUROPE = 3e-5
_M_AFRICA_ASIA = 1.9e-5
_M_EUROPE_ASIA = 9.6e-5


def out_of_africa_3g09() -> msprime.Demography:
    """Build the Gutenkunst et al. (2009) out-of-Africa demography.

    Returns
    -------
    msprime.Demography
        Populations ``YRI``, ``CEU``, ``CHB`` (sampled, present day) and the ancestral
        ``OOA`` (bottleneck), ``AMH`` (anatomically modern humans) and ``ANC`` (before the
        African expansion), connected by population splits.

    Examples
    --------
    >>> demography = out_of_africa_3g09()
    >>> [population.name for population in demography.populations][:3]
    ['YRI', 'CEU', 'CHB']
    >>> round(demography["CEU"].initial_size)
    29725
    """
    size_europe = _N_EUROPE_FOUNDERS * math.exp(_GROWTH_EUROPE * _T_EUROPE_ASIA_SPLIT)
    size_asia = _N_ASIA_FOUNDERS * math.exp(_GROWTH_ASIA * _T_EUROPE_ASIA_SPLIT)
    demography = msprime.Demography()
    demography.add_population(
        name="YRI", description="Yoruba in Ibadan, Nigeria", initial_size=_N_AFRICA
    )
    demography.add_population(
        name="CEU",
        description="Utah residents with Northern and Western European ancestry",
        initial_size=size_europe,
        growth_rate=_GROWTH_EUROPE,
    )
    demography.add_population(
        name="CHB",
        description="Han Chinese in Beijing, China",
        initial_size=size_asia,
        growth_rate=_GROWTH_ASIA,
    )
    demography.add_population(
        name="OOA", description="Out-of-Africa bottleneck population", initial_size=_N_BOTTLENECK
    )
    demography.add_population(
        name="AMH", description="Anatomically modern humans", initial_size=_N_AFRICA
    )
    demography.add_population(
        name="ANC", description="Ancestral equilibrium population", initial_size=_N_ANCESTRAL
    )
    demography.set_symmetric_migration_rate(["CEU", "CHB"], _M_EUROPE_ASIA)
    demography.set_symmetric_migration_rate(["YRI", "CEU"], _M_AFRICA_EUROPE)
    demography.set_symmetric_migration_rate(["YRI", "CHB"], _M_AFRICA_ASIA)
    demography.add_population_split(
        time=_T_EUROPE_ASIA_SPLIT, derived=["CEU", "CHB"], ancestral="OOA"
    )
    # OOA exists only from the split on: its migration must start then, or lineages
    # could move into a population that is not yet active.
    demography.add_symmetric_migration_rate_change(
        time=_T_EUROPE_ASIA_SPLIT, populations=["YRI", "OOA"], rate=_M_AFRICA_BOTTLENECK
    )
    demography.add_population_split(time=_T_OUT_OF_AFRICA, derived=["YRI", "OOA"], ancestral="AMH")
    demography.add_population_split(time=_T_AFRICA_GROWTH, derived=["AMH"], ancestral="ANC")
    return demography
