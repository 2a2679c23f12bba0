"""Write examples/pilot.csv: a made-up pilot table for `fairalloc measure` (three sites).

Each row is one patient with five numeric measurements and a binary outcome that depends on the
first three. The outcome is noisier at the "south" and "coast" sites, so a model learns them
more slowly: the learning curves `fairalloc measure` then finds differ by site.

    python examples/make_pilot.py            # rewrites examples/pilot.csv (seeded: same file)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SITES = {"north": (600, 0.6), "south": (400, 1.4), "coast": (300, 1.0)}  # rows, noise
WEIGHTS = np.array([1.0, -0.8, 0.6, 0.0, 0.0])


def pilot_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for site, (rows, noise) in SITES.items():
        x = rng.normal(size=(rows, len(WEIGHTS)))
        outcome = (x @ WEIGHTS + noise * rng.normal(size=rows) > 0.3).astype(int)
        part = pd.DataFrame(x.round(3), columns=[f"x{i + 1}" for i in range(len(WEIGHTS))])
        parts.append(part.assign(site=site, outcome=outcome))
    return pd.concat(parts, ignore_index=True)


if __name__ == "__main__":
    path = Path(__file__).with_name("pilot.csv")
    pilot_table().to_csv(path, index=False)
    print(f"wrote {path}")
