"""The association scan against ``plink2 --glm``: same .bed, same individuals, one thread each.

Run from the repository root (plink2 on the PATH; Debian package ``plink2``)::

    .venv/bin/python benchmarks/bench_scan_vs_plink2.py --cache bench-quick/cache
    .venv/bin/python benchmarks/bench_scan_vs_plink2.py --individuals 6000 --target 1.5

The cohort is the quick preset's (simulated into ``--cache`` if absent). Its genotype store
(``genotypes.bed``) is the one file both tools read: ``--individuals`` CEU members, every
variant. Our scan is timed end to end (the sufficient statistics of those rows taken from the
store's packed bytes, ``ScanStatistics.add_store``, then every variant tested); plink2 is timed
as a process (``--keep`` the same people, ``--glm allow-no-covars``, ``no-firth`` for the
logistic test because ours is a plain Wald test, ``--threads 1``). Each is timed after a run
that warms the page cache. The two scans' p-values are compared too (within 1%: plink2 prints
six digits). Exits 1 when our scan is more than ``--target`` times slower than plink2 in either
test, or when the p-values disagree.
"""

from __future__ import annotations

import argparse
import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # one thread for our scan too, before numpy starts its pool

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _cohort(cache: str):
    from simulate.benchmark import _make_source, preset_config

    config = preset_config("quick", replicates=1)
    source, _, _ = _make_source(config, 0, "own", cache)
    return source.cohort, source.phenotype


def _ours(cohort, rows: np.ndarray, y: np.ndarray, test: str) -> tuple[list[float], np.ndarray]:
    """Seconds to take the rows' statistics from the store and to test; p."""
    from simulate.association import ScanStatistics

    marks = [time.perf_counter()]
    empty = ScanStatistics.empty(("CEU",), cohort.num_variants)
    statistics = empty.add_store("CEU", cohort.store, rows, y)
    marks.append(time.perf_counter())
    p = statistics.scan(test).p
    marks.append(time.perf_counter())
    return list(np.diff(marks)), p


def _plink2(plink2: str, prefix: Path, keep: Path, pheno: Path, out: Path, test: str):
    firth = ["no-firth"] if test == "logistic" else []
    command = [plink2, "--bfile", str(prefix), "--keep", str(keep), "--pheno", str(pheno),
               "--glm", "allow-no-covars", "omit-ref", *firth, "--threads", "1",
               "--memory", "2000", "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)  # warm the page cache
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    table = pd.read_csv(next(out.parent.glob(f"{out.name}.*.glm.*")), sep="\t")
    return seconds, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-quick/cache")
    parser.add_argument("--individuals", type=int, default=6000)
    parser.add_argument("--target", type=float, default=1.5, help="allowed ours / plink2")
    args = parser.parse_args()
    plink2 = shutil.which("plink2")
    if plink2 is None:
        print("plink2 is not on the PATH (Debian: apt-get install plink2)")
        return 2
    cohort, trait = _cohort(args.cache)
    rows = np.sort(np.random.default_rng(0).choice(cohort.individuals_of("CEU"),
                                                   args.individuals, replace=False))  # fmt: skip
    names = [f"CEU_{i}" for i in rows]  # CEU individuals are first: index = index in group
    tests = {"logistic": trait.values[rows], "linear": trait.liability[rows]}
    failed = False
    print(f"{rows.size} individuals x {cohort.num_variants} variants, one thread each (load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n")  # fmt: skip
    print("| test | ours (s): read and accumulate + test | plink2 (s) | ours / plink2 | "
          "p-values: max relative difference |\n| --- | --- | --- | --- | --- |")  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        keep = folder / "keep.txt"
        keep.write_text("".join(f"{n}\t{n}\n" for n in names))
        for test, y in tests.items():
            pheno = folder / f"{test}.pheno"
            values = np.where(y == 1, 2, 1) if test == "logistic" else y  # plink: 2 = case
            frame = pd.DataFrame({"#FID": names, "IID": names, "PHENO": values})
            frame.to_csv(pheno, sep="\t", index=False)
            _ours(cohort, rows, y.astype(float), test)  # warm the page cache
            parts, p = _ours(cohort, rows, y.astype(float), test)
            ours = sum(parts)
            theirs, table = _plink2(plink2, cohort.store.prefix, keep, pheno,
                                    folder / test, test)  # fmt: skip
            both = table["P"].notna().to_numpy() & np.isfinite(p)
            difference = np.max(np.abs(table["P"][both] - p[both]) / p[both])
            ratio = ours / theirs
            split = " + ".join(f"{part:.2f}" for part in parts)
            print(f"| {test} | {ours:.2f}: {split} | {theirs:.2f} | {ratio:.2f} | "
                  f"{difference:.1e} |")  # fmt: skip
            failed |= ratio > args.target or difference > 1e-2  # plink2 prints 6 digits
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
