"""The study: ask/tell over its storage, one transaction a write, refusals change nothing.

The behaviour tests run over both backends (the ``study`` fixture is parametrised over SQLite
and memory); the tests of the file itself (schema, concurrent processes, a killed write) use
``stored``, an SQLite study.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocate.curves import Curve
from allocate.errors import InputError, StudyFileError
from allocate.sources import SyntheticSource
from allocate.study import Study
from allocate.study_file import GroupSpec, StudySpec, read_study
from allocate.study_sqlite import SCHEMA_VERSION, SQLiteStorage
from allocate.study_storage import InMemoryStorage
from tests.allocate.study_helpers import snapshot

TRUTH = {"CEU": Curve(a=2.0, b=0.5, c=0.05), "YRI": Curve(a=5.0, b=0.35, c=0.1)}
SOURCE = SyntheticSource(TRUTH, noise=0.02)

STUDY_TOML = """\
budget = 1000.0
utility = "maximin"

[[groups]]
name = "CEU"
cost = 1.0
weight = 0.8
max = 5000
curve = { a = 1.0, b = 0.5 }

[[groups]]
name = "YRI"
cost = 2.0
weight = 0.2
have = 10
max = 300
target = 0.2
curve = { a = 1.0, b = 0.5, c = 0.01, t = 0.5, q = 0.3 }
"""


def make_spec(budget=1000.0) -> StudySpec:
    return StudySpec(
        groups=(
            GroupSpec("CEU", Curve(a=1.0, b=0.5), cost=1.0, weight=0.8, max=5000),
            GroupSpec("YRI", Curve(a=1.0, b=0.5, c=0.01, t=0.5, q=0.3), cost=2.0, weight=0.2,
                      have=10, max=300),
        ),
        budget=budget,
        utility="maximin",
    )


@pytest.fixture(params=["sqlite", "memory"])
def study(request, tmp_path) -> Study:
    path = tmp_path / "study.sqlite" if request.param == "sqlite" else None
    return Study.create(path, make_spec(), strategy="adaptive", seed=7, batch=0.5)


@pytest.fixture
def stored(tmp_path) -> Study:
    return Study.create(tmp_path / "study.sqlite", make_spec(), strategy="adaptive", seed=7,
                        batch=0.5)


def untouched(study: Study):
    """Every stored table, and for a file its bytes and SQL dump: what 'unchanged' means."""
    with study.storage.reading() as reader:
        tables = {name: plain(frame).to_dict("records") for name, frame in
                  reader.tables().items()}
    return tables, None if study.path is None else snapshot(study.path)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with missing values as None, so two copies compare equal (NaN != NaN)."""
    return frame.astype(object).where(frame.notna(), None)


def reopened(study: Study) -> Study:
    """The same study as another process would see it (the object itself in memory)."""
    return study if study.path is None else Study.load(study.path)




def measure(study: Study, counts: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """The synthetic source's measurements once ``counts`` are collected."""
    state = study.state()
    totals = {g: int(n) + counts.get(g, 0) for g, n in zip(state.names, state.totals,
                                                          strict=True)}
    return SOURCE.measure(totals, seed=seed)


def run_rounds(study: Study, rounds: int) -> None:
    for number in range(rounds):
        batch = study.ask()
        if batch.finished:
            return
        study.tell(batch.counts, measure(study, batch.counts, seed=number))


# ---- creating and loading -------------------------------------------------------------------


def test_load_rebuilds_the_study_definition_settings_and_provenance(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY_TOML)
    spec = read_study(path)
    Study.create(tmp_path / "s.sqlite", spec, strategy="optimistic", seed=11,
                 study_text=STUDY_TOML, study_path=path, batch=[0.2, 0.3], damping=1.0)
    path.unlink()  # the study lives on without its file
    loaded = Study.load(tmp_path / "s.sqlite")
    assert loaded.spec == spec
    assert loaded.spec.groups[1].curve == Curve(a=1.0, b=0.5, c=0.01, t=0.5, q=0.3)
    assert loaded.strategy_name == "optimistic"
    assert loaded.strategy_settings["batch"] == [0.2, 0.3]
    assert loaded.strategy_settings["damping"] == 1.0
    assert loaded.seed == 11
    assert loaded.study_text == STUDY_TOML
    assert loaded.make_strategy().settings() == loaded.strategy_settings
    assert {"fairalloc", "python", "numpy", "platform", "created"} <= set(loaded.provenance)
    meta = dict(sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT key, value FROM meta"))
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["study_sha256"] == hashlib.sha256(STUDY_TOML.encode()).hexdigest()


def test_an_unlimited_pool_survives_the_round_trip(tmp_path):
    spec = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=0.5)),
                             GroupSpec("B", Curve(a=2.0, b=0.5), cost=3.0)), budget=50.0)
    assert Study.load(Study.create(tmp_path / "s.sqlite", spec, strategy="equal").path).spec \
        == spec


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"strategy": "oracle"}, "oracle strategy needs the true curves"),
        ({"strategy": "adaptve"}, "unknown strategy 'adaptve'"),
        ({"strategy": "equal", "batch": 0.5}, "takes no settings"),
        ({"strategy": "adaptive", "batch": 1.5}, "batch must be a fraction"),
        ({"strategy": "adaptive", "batch": 0.5, "speed": 2},
         "strategy 'adaptive' has no setting\\(s\\) speed; its settings are batch, pilot"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"seed": 1.5}, "seed must be a whole number >= 0"),
    ],
)
def test_create_refuses_bad_settings_and_writes_nothing(tmp_path, arguments, message):
    with pytest.raises(InputError, match=message):
        Study.create(tmp_path / "s.sqlite", make_spec(), **arguments)
    assert list(tmp_path.iterdir()) == []


def test_create_refuses_a_study_without_budget(tmp_path):
    with pytest.raises(InputError, match="needs a budget"):
        Study.create(tmp_path / "s.sqlite", make_spec(budget=None))


def test_create_never_replaces_an_existing_file(tmp_path, stored):
    before = snapshot(stored.path)
    with pytest.raises(InputError, match="already exists"):
        Study.create(stored.path, make_spec())
    assert snapshot(stored.path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.sqlite"]


def test_load_refuses_missing_foreign_and_newer_files(tmp_path, stored):
    with pytest.raises(InputError, match="does not exist; create a study there first"):
        Study.load(tmp_path / "nothing.sqlite")
    (tmp_path / "notes.txt").write_text("not a database at all " * 100)
    with pytest.raises(InputError, match="is not a fairalloc study database"):
        Study.load(tmp_path / "notes.txt")
    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(InputError, match="is not a fairalloc study database"):
        Study.load(tmp_path / "other.sqlite")
    with sqlite3.connect(stored.path) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="schema version 99, newer"):
        Study.load(stored.path)


def test_load_warns_when_another_fairalloc_version_made_the_study(stored):
    with sqlite3.connect(stored.path) as connection:
        connection.execute("UPDATE meta SET value = '0.0.1' WHERE key = 'provenance.fairalloc'")
    with pytest.warns(UserWarning, match="created by fairalloc 0.0.1"):
        Study.load(stored.path)


# ---- ask ----------------------------------------------------------------------------------------


def test_asking_twice_without_telling_returns_the_same_batch(study):
    first = study.ask()
    before = untouched(study)
    again = reopened(study).ask()
    assert again == first
    assert first.number == 1 and first.note.startswith("pilot")
    assert untouched(study) == before
    assert len(before[0]["batches"]) == 1


def test_batches_are_numbered_and_each_tell_opens_the_next(study):
    first = study.ask()
    assert study.open_batch() == first
    study.tell(first.counts, measure(study, first.counts))
    assert study.open_batch() is None
    second = study.ask()
    assert second.number == 2 and second != first
    assert second.note == "adaptive" and second.target_totals is not None


@dataclass
class RecordingStrategy:
    """Proposes one sample per group and remembers the random numbers it was given."""

    name: str = "recording"
    draws: list = field(default_factory=list)

    def settings(self) -> dict:
        return {}

    def propose(self, state, *, rng):
        from allocate.sequential import Proposal

        self.draws.append(rng.integers(0, 2**62, size=3).tolist())
        return Proposal(counts=np.ones(len(state.names), dtype=np.int64), note="one each")


def test_each_batch_draws_from_the_seed_and_its_number(study, monkeypatch):
    strategy = RecordingStrategy()
    monkeypatch.setattr(Study, "make_strategy", lambda self: strategy)
    for _ in range(3):
        batch = study.ask()
        study.tell(batch.counts)
    expected = [
        np.random.default_rng(np.random.SeedSequence(7, spawn_key=(number,)))
        .integers(0, 2**62, size=3).tolist()
        for number in (1, 2, 3)
    ]
    assert strategy.draws == expected
    assert len({tuple(d) for d in strategy.draws}) == 3


def test_a_finished_study_asks_for_nothing_and_refuses_results(study):
    run_rounds(study, 12)
    before_finish = untouched(study)
    batch = study.ask()
    assert batch.finished and batch.counts == {"CEU": 0, "YRI": 0}
    state = study.state()
    assert state.remaining < min(g.cost for g in state.study.groups)
    assert untouched(study) == before_finish  # asking a finished study records nothing
    again = study.ask()
    assert again == batch and batch.asked_at is None  # answered, never recorded
    assert untouched(study) == before_finish
    with pytest.raises(InputError, match="the study is finished"):
        study.tell({"CEU": 0, "YRI": 0})
    assert untouched(study) == before_finish
    assert study.status().finished and study.status().open_batch is None


CONCURRENT_ASK = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from allocate.study import Study

    original = Study.make_strategy

    class Slow:  # hold the write transaction open long enough for the other process to try
        def __init__(self, inner):
            self.inner, self.name = inner, inner.name
        def settings(self):
            return self.inner.settings()
        def propose(self, state, *, rng):
            time.sleep(1.0)
            return self.inner.propose(state, rng=rng)

    Study.make_strategy = lambda self: Slow(original(self))
    study = Study.load(sys.argv[1])
    go = Path(sys.argv[2])
    Path(sys.argv[3]).touch()  # ready: imported and loaded
    while not go.exists():
        time.sleep(0.01)
    batch = study.ask()
    print(json.dumps({"number": batch.number, "counts": dict(batch.counts)}))
""")


def test_two_processes_asking_at_once_get_the_same_batch(stored, tmp_path):
    script = tmp_path / "ask.py"
    script.write_text(CONCURRENT_ASK)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{index}" for index in range(2)]
    processes = [
        subprocess.Popen([sys.executable, str(script), str(stored.path), str(go), str(flag)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for flag in ready
    ]
    deadline = time.monotonic() + 30
    while not all(flag.exists() for flag in ready):  # both loaded the study; start together
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        assert time.monotonic() < deadline, "the processes never got ready"
        time.sleep(0.01)
    go.touch()
    outputs = [process.communicate(timeout=60) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    answers = [json.loads(out) for out, _ in outputs]
    assert answers[0] == answers[1]
    assert answers[0]["number"] == 1
    rows = sqlite3.connect(stored.path).execute("SELECT count(*) FROM batches").fetchone()[0]
    assert rows == 1


# ---- tell ---------------------------------------------------------------------------------------


def test_tell_records_collected_counts_and_measurements(study):
    batch = study.ask()
    collected = {"CEU": batch.counts["CEU"] - 3, "YRI": batch.counts["YRI"]}  # 3 fewer came
    points = measure(study, collected, seed=5)
    study.tell(collected, points, batch=batch.number)
    state = study.state()
    assert state.collected.tolist() == [collected["CEU"], collected["YRI"]]
    assert state.totals.tolist() == [collected["CEU"], 10 + collected["YRI"]]
    assert state.spent == pytest.approx(collected["CEU"] * 1.0 + collected["YRI"] * 2.0)
    assert state.rounds == 1
    pd.testing.assert_frame_equal(
        state.measurements[["group", "n", "n_total", "value"]],
        points[["group", "n", "n_total", "value"]],
    )
    assert state.measurements["seed"].tolist() == [5] * len(points)


def test_tell_without_measurements_and_for_groups_the_batch_did_not_ask(study, monkeypatch):
    monkeypatch.setattr(Study, "make_strategy", lambda self: OnlyFirstGroup())
    batch = study.ask()
    assert batch.counts == {"CEU": 4, "YRI": 0}
    study.tell({"CEU": 4})  # YRI was not asked for, so it may be left out
    assert study.state().collected.tolist() == [4, 0]
    batch = study.ask()
    study.tell({"CEU": 4, "YRI": 2}, pd.DataFrame())  # more groups than asked is fine
    assert study.state().collected.tolist() == [8, 2]


class OnlyFirstGroup(RecordingStrategy):
    def propose(self, state, *, rng):
        from allocate.sequential import Proposal

        return Proposal(counts=np.array([4, 0]), target_totals=np.array([40.0, 10.0]), note="x")


def points(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["group", "n", "value"])


BAD_TELLS = [
    ({"CEU": 10, "YRl": 5}, None, "unknown group 'YRl' \\(did you mean 'YRI'\\?\\)"),
    ({"CEU": -1, "YRI": 5}, None, "CEU has -1; counts must be whole numbers >= 0"),
    ({"CEU": 2.5, "YRI": 5}, None, "CEU has 2.5; counts must be whole"),
    ({"CEU": True, "YRI": 5}, None, "CEU has True; counts must be whole"),
    ({"CEU": "4", "YRI": 5}, None, "CEU has '4'; counts must be whole"),
    ({"CEU": 10}, None, "no count for YRI, which batch 1 asked for"),
    ({"CEU": 10, "YRI": 291}, None, "YRI would reach 301 samples, above its pool max = 300;"
     " at most 290 more"),
    ({"CEU": 900, "YRI": 51}, None, "this batch costs 1002 but only 1000 of the budget"),
    ({"CEU": 10, "YRI": 5}, points(("CEU", 5, 0.5), ("CHB", 5, 0.5)),
     "measurements: unknown group 'CHB'"),
    ({"CEU": 10, "YRI": 5}, points(("CEU", 11, 0.5)),
     "CEU is measured at n = 11, but only 10 of its samples are in hand"),
    ({"CEU": 10, "YRI": 5}, points(("YRI", 15, 0.5)).assign(n_total=26),
     "n_total = 26, more than the 25 samples in hand"),
    ({"CEU": 10, "YRI": 5}, points(("CEU", 0, 0.5)), "training sizes must be positive"),
    ({"CEU": 10, "YRI": 5}, points(("CEU", 5, "high")), "'high' is not a number"),
    ({"CEU": 10, "YRI": 5}, pd.DataFrame({"group": ["CEU"], "n": [5]}),
     "missing column\\(s\\) value"),
    ({"CEU": 10, "YRI": 5}, points(("CEU", 5, 0.5)).assign(seed=[1.5]),
     "seed 1.5 of a CEU measurement must be a whole number"),
    ([("CEU", 10)], None, "collected must map group names to counts"),
]


@pytest.mark.parametrize("collected, measured, message", BAD_TELLS)
def test_every_bad_tell_is_refused_in_words_and_changes_nothing(study, collected, measured,
                                                                message):
    study.ask()
    before = untouched(study)
    with pytest.raises(InputError, match=message):
        study.tell(collected, measured)
    assert untouched(study) == before


def test_tell_needs_the_open_batch(study):
    before = untouched(study)
    with pytest.raises(InputError, match="no batch is open; ask for the next one first"):
        study.tell({"CEU": 1})
    assert untouched(study) == before
    study.ask()
    with pytest.raises(InputError, match="batch 3 is not the open batch; the open batch is 1"):
        study.tell({"CEU": 1, "YRI": 1}, batch=3)


def test_budget_is_checked_against_what_earlier_batches_spent(study):
    batch = study.ask()
    study.tell({"CEU": 600, "YRI": 0})  # far more than asked, but within the budget
    study.ask()
    with pytest.raises(InputError, match="costs 402 but only 400 of the budget 1000 is left"):
        study.tell({"CEU": 2, "YRI": 200})
    assert batch.counts != {"CEU": 600, "YRI": 0}


KILLED_TELL = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import pandas as pd
    import allocate.study_sqlite as store

    original = store._insert_measurements

    def stalled(connection, number, table):
        original(connection, number, table)
        connection.execute("PRAGMA cache_size = 1")  # push the pages to the file, unfinished
        connection.execute("UPDATE batches SET note = note || ' (dirty)'")
        Path(sys.argv[2]).write_text("inside the transaction")
        time.sleep(60)

    store._insert_measurements = stalled
    from allocate.study import Study
    study = Study.load(sys.argv[1])
    batch = study.ask()
    points = pd.DataFrame({"group": ["CEU"] * 300, "n": [5.0] * 300, "value": [0.5] * 300})
    study.tell(batch.counts, points)
""")


def test_a_tell_killed_mid_write_leaves_the_study_as_it_was(stored, tmp_path):
    batch = stored.ask()
    before = snapshot(stored.path)
    script, marker = tmp_path / "tell.py", tmp_path / "marker"
    script.write_text(KILLED_TELL)
    process = subprocess.Popen([sys.executable, str(script), str(stored.path), str(marker)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the subprocess never reached the insert"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    hot_journal = stored.path.with_name(stored.path.name + "-journal")
    assert hot_journal.exists() and hot_journal.stat().st_size > 0  # the write was under way
    reopened = Study.load(stored.path)
    assert reopened.state().rounds == 0  # reading rolls the hot journal back
    assert snapshot(stored.path) == before
    assert reopened.ask() == batch
    reopened.tell(batch.counts, measure(reopened, batch.counts))
    assert reopened.state().rounds == 1


# ---- reading ------------------------------------------------------------------------------


def test_history_status_and_export_agree_with_what_was_told(study, tmp_path):
    run_rounds(study, 3)
    open_batch = study.ask()
    history = study.history()
    assert set(history) == {"batches", "collected", "measurements", "fits"}
    assert history["batches"]["batch"].unique().tolist() == [1, 2, 3, 4]
    assert history["collected"].groupby("group")["collected"].sum().to_dict() == dict(
        zip(study.spec.names, study.state().collected.tolist(), strict=True))
    assert len(history["measurements"]) == len(study.state().measurements)
    assert sorted(history["fits"]["batch"].unique()) == [2, 3, 4]  # the pilot fits nothing

    status = study.status()
    state = study.state()
    assert status.rounds == 3 and status.open_batch == open_batch and not status.finished
    assert status.spent == pytest.approx(state.spent)
    assert status.left == pytest.approx(1000.0 - state.spent)
    assert [g.total for g in status.groups] == state.totals.tolist()
    assert [g.asked for g in status.groups] == list(open_batch.counts.values())
    assert status.fitted_at == 4 and status.plan_from == 4
    assert [g.planned_total for g in status.groups] == list(open_batch.target_totals.values())
    fitted = status.fits["YRI"].curve
    assert status.groups[1].predicted_now == pytest.approx(
        float(fitted.predict(state.totals[1], state.totals.sum())))
    fits_table = history["fits"].query("batch == 4").set_index("group")
    assert fits_table.loc["YRI", "b"] == pytest.approx(fitted.b)
    assert json.loads(json.dumps(status.to_dict()))["groups"][0]["name"] == "CEU"
    assert "spent" in status.summary()

    written = study.export(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(
        ["meta.csv", "batches.csv", "asked.csv", "collected.csv", "measurements.csv",
         "fits.csv"])
    exported = pd.read_csv(tmp_path / "out" / "measurements.csv")
    assert len(exported) == len(history["measurements"])
    assert exported["value"].tolist() == pytest.approx(history["measurements"]["value"].tolist())
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_a_changed_study_file_stops_the_study_until_restored(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY_TOML)
    study = Study.create(tmp_path / "s.sqlite", read_study(path), study_path=path)
    assert study.study_text == STUDY_TOML  # read from the path
    study.ask()
    before = snapshot(study.path)
    path.write_text(STUDY_TOML.replace("budget = 1000.0", "budget = 2000.0"))
    for call in (study.ask, study.status, lambda: study.tell({"CEU": 1, "YRI": 1})):
        with pytest.raises(StudyFileError, match="changed since the study was created.*restore"):
            call()
    assert snapshot(study.path) == before
    path.write_text(STUDY_TOML)
    study.status()
    path.unlink()  # a study file moved away is no longer checked
    study.status()


def in_hand_spec() -> StudySpec:
    return StudySpec(groups=(GroupSpec("CEU", Curve(a=1.0, b=0.5), have=200),
                             GroupSpec("YRI", Curve(a=1.0, b=0.5), cost=2.0, have=60)),
                     budget=1000.0, utility="maximin")


def test_measurements_of_the_samples_in_hand_let_the_first_batch_be_planned(tmp_path):
    have = {"CEU": 200, "YRI": 60}
    points = SOURCE.measure(have, seed=1)
    study = Study.create(tmp_path / "s.sqlite", in_hand_spec(), measurements=points)
    assert study.state().rounds == 0
    assert len(study.state().measurements) == len(points)
    first = study.ask()
    assert first.number == 1 and first.note == "expected" and first.target_totals is not None
    assert study.history()["batches"].query("batch == 0")["asked"].tolist() == [0, 0]
    assert study.status().fitted_at == 1
    without = Study.create(tmp_path / "t.sqlite", in_hand_spec())
    assert without.ask().note == "equal fallback: 'CEU' has no measurements yet"


def test_measurements_beyond_the_samples_in_hand_are_refused_at_creation(tmp_path):
    points = pd.DataFrame({"group": ["CEU", "YRI"], "n": [200, 61], "value": [0.2, 0.4]})
    with pytest.raises(InputError, match="YRI is measured at n = 61, but only 60 of its"
                                         " samples are in hand; check n"):
        Study.create(tmp_path / "s.sqlite", in_hand_spec(), measurements=points)
    assert list(tmp_path.iterdir()) == []


def _comparable(study: Study) -> dict:
    """What a backend answers, without the clock times it recorded."""
    history = study.history()
    history["batches"] = history["batches"].drop(columns=["asked_at", "told_at"])
    status = study.status().to_dict()
    if status["open_batch"]:
        del status["open_batch"]["asked_at"]
    return {"history": {k: plain(v).to_dict("list") for k, v in history.items()},
            "status": status, "state": plain(study.state().measurements).to_dict("list")}


def test_both_backends_answer_alike_from_the_same_seed_and_results(tmp_path):
    studies = [Study.create(path, make_spec(), strategy="adaptive", seed=7, batch=0.5)
               for path in (tmp_path / "s.sqlite", None)]
    for study in studies:
        run_rounds(study, 4)
        study.ask()
    on_disk, in_memory = (_comparable(study) for study in studies)
    assert on_disk == in_memory
    assert on_disk["status"]["rounds"] == 4 and on_disk["status"]["fitted_at"] == 5
    assert isinstance(studies[1].storage, InMemoryStorage) and studies[1].path is None
    assert isinstance(studies[0].storage, SQLiteStorage)


def test_the_default_strategy_plans_on_curve_draws_to_the_end_of_the_budget(tmp_path):
    studies = [Study.create(path, make_spec(), seed=7) for path in (tmp_path / "s.sqlite", None)]
    for study in studies:
        run_rounds(study, 30)
        assert study.ask().note == "budget spent"
    on_disk, in_memory = (_comparable(study) for study in studies)
    assert on_disk == in_memory
    stored = Study.load(tmp_path / "s.sqlite")
    assert stored.strategy_name == "expected" and stored.strategy_settings["draws"] == 100
    notes = stored.history()["batches"].drop_duplicates("batch")["note"].tolist()
    assert notes[0].startswith("pilot") and len(notes) > 2 and set(notes[1:]) == {"expected"}
    status = stored.status()
    assert status.finished and 1000.0 - 2.0 < status.spent <= 1000.0  # YRI costs 2


def test_a_stored_study_needs_a_strategy_name_and_memory_takes_an_object(tmp_path):
    strategy = RecordingStrategy()
    with pytest.raises(InputError, match="a stored study needs a strategy name"):
        Study.create(tmp_path / "s.sqlite", make_spec(), strategy=strategy)
    assert list(tmp_path.iterdir()) == []
    memory = Study.create(None, make_spec(), strategy=strategy, seed=3)
    assert memory.ask().counts == {"CEU": 1, "YRI": 1} and memory.strategy_name == "recording"
    assert strategy.draws == [np.random.default_rng(np.random.SeedSequence(3, spawn_key=(1,)))
                              .integers(0, 2**62, size=3).tolist()]


OLD_FILE = Path(__file__).parent / "data" / "study_6dc6b87.sqlite"


def test_a_study_file_written_before_the_split_opens_and_goes_on(tmp_path):
    """tests/allocate/data/study_6dc6b87.sqlite was written by commit 6dc6b87's study_store.py:
    make_spec() but with plain curves (a = 1, b = 0.5), strategy adaptive, seed 7, batch 0.5;
    three rounds each told
    SOURCE.measure(totals after the batch, seed=round); then batch 4 asked and left open.
    The numbers below are what 6dc6b87 reported for it."""
    path = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_FILE, path)
    study = Study.load(path)
    assert study.spec.names == ("CEU", "YRI") and study.spec.budget == 1000.0
    assert study.seed == 7 and study.strategy_settings["batch"] == 0.5
    status = study.status()
    assert status.rounds == 3 and status.open_batch.number == 4
    assert status.open_batch.counts == {"CEU": 49, "YRI": 33}
    assert status.open_batch.target_totals == {"CEU": 420.0, "YRI": 300.0}
    assert [g.total for g in status.groups] == [323, 233]
    assert [g.predicted_now for g in status.groups] == [0.1573965385783305, 0.8517091656499807]
    assert [g.predicted_at_plan for g in status.groups] == [0.1428456674083356,
                                                            0.7855019201049117]
    assert status.fits["YRI"].residual_dof is None  # 6dc6b87 did not store it
    batch = study.ask()
    study.tell(batch.counts, measure(study, batch.counts, seed=3))
    assert study.state().rounds == 4 and study.ask().number == 5
