"""run_simulation's refusals name its parameters (the command line names its options)."""

from __future__ import annotations

import pytest

from allocate.errors import InputError
from simulate.pipeline import run_simulation, simulation_config


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"plink": True}, "vcf=True or plink=True needs out, the folder the files go in"),
        ({"vcf": True, "out": "FILE"}, "the out folder 'FILE' is a file; give a folder"),
    ],
)
def test_bad_outputs_are_refused_in_the_library_words_before_any_work(
    tmp_path, outputs, message
):
    file, cache = tmp_path / "file.txt", tmp_path / "cache"
    file.write_text("kept")
    outputs = {k: str(file) if v == "FILE" else v for k, v in outputs.items()}
    config = simulation_config("quick", groups=("CEU", "YRI"), n_per_group=150, chromosomes=1)
    with pytest.raises(InputError) as refusal:
        run_simulation(config, cache_dir=cache, **outputs)
    assert str(refusal.value) == message.replace("FILE", str(file))
    assert "--" not in str(refusal.value)
    assert file.read_text() == "kept" and not cache.exists()


def test_a_bad_setting_names_the_parameter():
    with pytest.raises(InputError, match=r"^p_threshold must be in \(0, 1\]; got 0"):
        simulation_config("quick", p_threshold=0)
