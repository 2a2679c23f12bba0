"""Clumping on dosage r^2 against haplotype r^2, and both against ``plink1.9 --clump``.

Run from the repository root (plink 1.9 on the PATH as ``plink1.9``; Debian package
``plink1.9``)::

    .venv/bin/python benchmarks/bench_clumping_ld.py --seeds 1,2,3 --cache ld-cache

Each seed is one world of the simulation preset ``quick`` (two groups, CEU and YRI, a binary
trait at ``--prevalence``). In each group the association scan runs on the largest training
set's discovery members (what :class:`simulate.prs.ScoreTrainer` scans), and the variants at
the MAF floor with p <= 0.01 are clumped at r^2 0.2 within 1 Mb against the group's reference
panel three ways: our clumping on dosage r^2 (``ld="dosage"``, the default), ours on the
true-phase haplotype r^2 (``ld="haplotype"``), and plink 1.9 on the panel exported as PLINK 1
files with the same p-values. It prints, per world and group, the index variants each keeps,
the Jaccard index of each pair of sets, the correlation of the dosage and haplotype r^2 over
the candidate pairs within the window, and the test AUC of the scores the trainer builds with
either measure (threshold 0.01, the paper's).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def _jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 1.0


def _plink_clump(plink: str, cohort, panel_rows, candidates, p, folder: Path) -> np.ndarray:
    """Index variants (cohort indices) ``plink --clump`` keeps on the panel's dosages."""
    from simulate.export import write_plink

    prefix = folder / "panel"
    write_plink(cohort, prefix, individuals=panel_rows)
    ids = pd.read_csv(f"{prefix}.bim", sep="\t", header=None)[1].to_numpy()
    pd.DataFrame({"SNP": ids[candidates], "P": p}).to_csv(folder / "p.txt", sep=" ",
                                                          index=False)  # fmt: skip
    subprocess.run(
        [plink, "--bfile", str(prefix), "--clump", str(folder / "p.txt"), "--clump-p1", "0.01",
         "--clump-p2", "0.01", "--clump-r2", "0.2", "--clump-kb", "1000", "--threads", "1",
         "--out", str(folder / "clumped")],
        check=True, capture_output=True,
    )  # fmt: skip
    kept = pd.read_csv(folder / "clumped.clumped", sep=r"\s+")["SNP"]
    where = {sid: i for i, sid in enumerate(ids)}
    return np.array(sorted(where[s] for s in kept))


def _r2_agreement(dosage, haplotype, position, chromosome) -> float:
    """Correlation of the two r^2 over candidate pairs on one chromosome within 1 Mb."""
    upper = np.triu_indices(dosage.shape[1], k=1)
    near = (chromosome[upper[0]] == chromosome[upper[1]]) & (
        np.abs(position[upper[0]] - position[upper[1]]) <= 1e6
    )
    a = ((dosage.T @ dosage)[upper] ** 2)[near]
    b = ((haplotype.T @ haplotype)[upper] ** 2)[near]
    return float(np.corrcoef(a, b)[0, 1])


def _one_group(world, group, plink, folder):
    from simulate.clumping import clump
    from simulate.prs import ScoreTrainer, evaluate_score
    from simulate.training_data import TrainingData

    cohort, trait, split = world.cohort, world.phenotype, world.split
    n = split.max_training(group, trait)
    data = TrainingData(cohort, trait, split)
    discovery = data.prefix(group, n)[0]
    frequency = discovery.allele_frequency()
    common = np.flatnonzero(np.minimum(frequency, 1 - frequency) >= cohort.parameters.maf)
    p = discovery.scan("logistic" if trait.binary else "linear", common).p[common]
    candidates, p = common[p <= 0.01], p[p <= 0.01]
    chromosome = cohort.variants["chromosome"].to_numpy()[candidates]
    position = cohort.variants["position"].to_numpy()[candidates]
    panels = {ld: data.panel((group,), ld)[:, candidates] for ld in ("dosage", "haplotype")}
    ours = {ld: candidates[clump(p, chromosome, position, panel, r2=0.2, window=1e6,
                                 p_max=0.01)] for ld, panel in panels.items()}  # fmt: skip
    theirs = _plink_clump(plink, cohort, split.reference[group], candidates, p, folder)
    test = {}
    for ld in ("dosage", "haplotype"):
        score = ScoreTrainer(cohort, trait, split, ld=ld, thresholds=(0.01,)).fit({group: n})
        table = evaluate_score(score, cohort, trait, split, groups=(group,)).table
        test[ld] = float(table["auc"].item())
    return {
        "group": group, "training": n, "candidates": candidates.size,
        "dosage": ours["dosage"].size, "haplotype": ours["haplotype"].size,
        "plink": theirs.size,
        "J dosage-haplotype": _jaccard(ours["dosage"], ours["haplotype"]),
        "J dosage-plink": _jaccard(ours["dosage"], theirs),
        "J haplotype-plink": _jaccard(ours["haplotype"], theirs),
        "corr r2": _r2_agreement(panels["dosage"], panels["haplotype"], position, chromosome),
        "AUC dosage": test["dosage"], "AUC haplotype": test["haplotype"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3", help="Worlds, one per seed.")
    parser.add_argument("--prevalence", type=float, default=0.2)
    parser.add_argument("--cache", default=None, help="Cohort cache folder.")
    args = parser.parse_args()
    from simulate.config import simulation_config
    from simulate.world import build_world

    plink = shutil.which("plink1.9") or shutil.which("plink")
    if plink is None:
        raise SystemExit("plink 1.9 is not on the PATH")
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        config = simulation_config("quick", groups=("CEU", "YRI"), prevalence=args.prevalence,
                                   seed=seed)  # fmt: skip
        world = build_world(config, cache_dir=args.cache)
        for group in config.groups:
            with tempfile.TemporaryDirectory() as folder:
                rows.append({"seed": seed, **_one_group(world, group, plink, Path(folder))})
    table = pd.DataFrame(rows)
    table["AUC difference"] = table["AUC haplotype"] - table["AUC dosage"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.round(3).to_string(index=False))
        means = table.drop(columns=["seed", "group"]).mean()
        print("\nmean over worlds and groups:")
        print(means.round(3).to_string())
        print(f"mean |AUC difference|: {table['AUC difference'].abs().mean():.4f}")


if __name__ == "__main__":
    main()
