"""`fairalloc study` end to end: init, next, record over several rounds, status, export; and
every refusal as one line, exit 2, with the database untouched."""

from __future__ import annotations

import json
import sqlite3

import click
import pandas as pd
import pytest
import typer

from allocate.cli import app
from allocate.curves import Curve
from allocate.sources import SyntheticSource
from tests.allocate.cli.running import run
from tests.allocate.study_helpers import snapshot

TRUTH = {"CEU": Curve(a=2.0, b=0.5, c=0.05), "YRI": Curve(a=5.0, b=0.35, c=0.1),
         "CHB": Curve(a=3.0, b=0.45, c=0.07)}
SOURCE = SyntheticSource(TRUTH, noise=0.02)

STUDY_TOML = """\
budget = 1500.0
utility = "maximin"

[[groups]]
name = "CEU"
cost = 1.0
weight = 0.6
curve = { a = 1.0, b = 0.5 }

[[groups]]
name = "YRI"
cost = 2.0
weight = 0.2
have = 12
max = 400
curve = { a = 1.0, b = 0.5 }

[[groups]]
name = "CHB"
cost = 1.5
weight = 0.2
curve = { a = 1.0, b = 0.5 }
"""


@pytest.fixture
def files(tmp_path):
    study_file = tmp_path / "study.toml"
    study_file.write_text(STUDY_TOML)
    return study_file, tmp_path / "study.sqlite"




def results_csv(path, batch: dict, totals: dict, seed: int, *, unmeasured=()) -> None:
    """The source's measurements after collecting ``batch``, as a `study record` file."""
    after = {g: totals[g] + batch[g] for g in batch}
    points = SOURCE.measure(after, seed=seed)
    points = points[~points["group"].isin(unmeasured)]
    points.insert(1, "collected", points["group"].map(batch))
    blank = [{"group": g, "collected": batch[g]} for g in unmeasured]
    pd.concat([points, pd.DataFrame(blank)], ignore_index=True).to_csv(path, index=False)


def initialised(capsys, files, *extra):
    study_file, db = files
    code, out, err = run(capsys, "study", "init", study_file, "--db", db, *extra)
    assert code == 0, err
    return db


def next_batch(capsys, db) -> dict:
    code, out, err = run(capsys, "study", "next", "--db", db, "--json")
    assert code == 0, err
    return json.loads(out)


def test_the_study_walked_end_to_end(capsys, files, tmp_path):
    db = initialised(capsys, files, "--batch", 0.4, "--seed", 3)
    totals = {"CEU": 0, "YRI": 12, "CHB": 0}
    costs = {"CEU": 1.0, "YRI": 2.0, "CHB": 1.5}
    asked = []
    for round_number in range(20):
        batch = next_batch(capsys, db)
        assert batch == next_batch(capsys, db)  # asking again gives the same batch
        if batch["finished"]:
            break
        asked.append(batch)
        assert batch["number"] == round_number + 1
        results = tmp_path / f"results{batch['number']}.csv"
        # the first round, CHB's lab had no model yet: its row carries only the collected count
        results_csv(results, batch["counts"], totals, seed=round_number,
                    unmeasured=("CHB",) if round_number == 0 else ())
        code, out, err = run(capsys, "study", "record", "--db", db, results)
        assert code == 0, err
        assert f"Recorded batch {batch['number']}" in out
        totals = {g: totals[g] + batch["counts"][g] for g in totals}
    assert 3 <= len(asked) < 20
    assert asked[0]["note"].startswith("pilot")
    assert asked[1]["note"] == "equal fallback: 'CHB' has no measurements yet"
    assert asked[2]["note"] == "expected" and asked[2]["target_totals"] is not None
    spent = sum(costs[g] * (totals[g] - (12 if g == "YRI" else 0)) for g in totals)
    assert 1500.0 - 2.0 < spent <= 1500.0

    code, out, err = run(capsys, "study", "status", "--db", db, "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["finished"] and status["rounds"] == len(asked)
    assert status["spent"] == pytest.approx(spent)
    assert status["left"] == pytest.approx(1500.0 - spent)
    assert {g["name"]: g["total"] for g in status["groups"]} == totals
    assert status["fitted_at"] == len(asked)  # the last batch with a plan was fitted
    fitted = {g["group"]: g["curve"] for g in status["fits"]["groups"]}
    assert fitted["YRI"]["b"] == pytest.approx(0.35, abs=0.1)  # the truth, roughly

    figure = tmp_path / "curves.png"
    code, out, err = run(capsys, "study", "status", "--db", db, "--plot", figure)
    assert code == 0, err
    assert "spent" in out.lower() and "YRI" in out and figure.stat().st_size > 1000

    code, out, err = run(capsys, "study", "export", "--db", db, "-o", tmp_path / "export")
    assert code == 0, err
    exported = {p.name for p in (tmp_path / "export").iterdir()}
    assert exported == {"meta.csv", "batches.csv", "asked.csv", "collected.csv",
                        "measurements.csv", "fits.csv", "study.toml"}
    assert (tmp_path / "export" / "study.toml").read_text() == STUDY_TOML
    collected = pd.read_csv(tmp_path / "export" / "collected.csv")
    by_group = collected.groupby("group_name")["count"].sum().to_dict()
    assert by_group == {"CEU": totals["CEU"], "YRI": totals["YRI"] - 12, "CHB": totals["CHB"]}
    asked_rows = pd.read_csv(tmp_path / "export" / "asked.csv")
    assert asked_rows.query("batch == 2").set_index("group_name")["count"].to_dict() == \
        asked[1]["counts"]


def test_next_and_status_print_tables_for_people(capsys, files):
    db = initialised(capsys, files)
    code, out, _ = run(capsys, "study", "next", "--db", db)
    assert code == 0
    assert "Batch 1" in out and "CEU" in out and "study record" in out
    code, out, _ = run(capsys, "study", "status", "--db", db)
    assert code == 0
    assert "batch 1 open" in out and "1500 left" in out


def test_every_option_of_every_study_command_has_help():
    group = typer.main.get_command(app).commands["study"]
    assert set(group.commands) == {"init", "next", "record", "status", "export"}
    for name, command in group.commands.items():
        assert command.help, name
        for parameter in command.params:
            if isinstance(parameter, click.Option) and parameter.name == "help":
                continue
            assert getattr(parameter, "help", None), f"{name} {parameter.name}"


# ---- refusals: one line, exit 2, nothing changed ------------------------------------------------


def refused(capsys, db, *args, match: str) -> None:
    before = snapshot(db)
    code, out, err = run(capsys, *args)
    assert code == 2, out
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert match in err, err
    assert snapshot(db) == before


def test_init_refuses_an_existing_database_and_bad_settings(capsys, files, tmp_path):
    study_file, db = files
    db = initialised(capsys, files)
    refused(capsys, db, "study", "init", study_file, "--db", db, match="already exists")
    other = tmp_path / "other.sqlite"
    for args, message in [
        (("--strategy", "equal", "--batch", 0.5), "takes no settings"),
        (("--batch", 2), "batch must be a fraction"),
        (("--strategy", "oracle"), "'oracle' is not one of"),
        (("--seed", -1), "Input should be greater than or equal to 0"),
    ]:
        code, _, err = run(capsys, "study", "init", study_file, "--db", other, *args)
        assert code == 2 and message in err and err.count("\n") == 1, err
        assert not other.exists()
    code, _, err = run(capsys, "study", "init", tmp_path / "none.toml", "--db", other)
    assert code == 2 and "does not exist" in err and not other.exists()


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("CEU", 8, 8, 0.5), ("YRl", 9, 8, 0.5), ("CHB", 9, 8, 0.5)],
         "unknown group 'YRl' (did you mean 'YRI'?)"),
        ([("CEU", -8, 8, 0.5), ("YRI", 9, 8, 0.5), ("CHB", 9, 8, 0.5)],
         "row 1: collected = -8 for CEU"),
        ([("CEU", 8, 8, 0.5), ("CEU", 7, 4, 0.6), ("YRI", 9, 8, 0.5), ("CHB", 9, 8, 0.5)],
         "row 2: collected for CEU is 7 here but 8 on an earlier row"),
        ([("CEU", 8, 8, 0.5), ("YRI", 9, 8, None), ("CHB", 9, 8, 0.5)],
         "row 2 has n but no value"),
        ([("CEU", 8, None, None), ("YRI", 9, 8, 0.5), ("CHB", 9, 8, "abc")],
         "row 3, column value: 'abc' is not a number"),
        ([("CEU", 8, 8, 0.5), ("YRI", 389, 8, 0.5), ("CHB", 9, 8, 0.5)],
         "YRI would reach 401 samples, above its pool max = 400; at most 388 more"),
        ([("CEU", 1480, 8, 0.5), ("YRI", 9, 8, 0.5), ("CHB", 9, 8, 0.5)],
         "this batch costs 1511.5 but only 1500 of the budget 1500 is left"),
        ([("CEU", 8, 8, 0.5), ("YRI", 9, 8, 0.5)], "no count for CHB, which batch 1 asked for"),
        ([("CEU", 8, 9, 0.5), ("YRI", 9, 8, 0.5), ("CHB", 9, 8, 0.5)],
         "CEU is measured at n = 9, but only 8 of its samples are in hand"),
    ],
)
def test_record_refuses_bad_results(capsys, files, tmp_path, rows, message):
    db = initialised(capsys, files)
    next_batch(capsys, db)
    results = tmp_path / "results.csv"
    pd.DataFrame(rows, columns=["group", "collected", "n", "value"]).to_csv(results, index=False)
    refused(capsys, db, "study", "record", "--db", db, results, match=message)


def test_record_refuses_a_file_without_the_collected_column_or_no_file(capsys, files, tmp_path):
    db = initialised(capsys, files)
    next_batch(capsys, db)
    results = tmp_path / "results.csv"
    pd.DataFrame({"group": ["CEU"], "n": [5], "value": [0.3]}).to_csv(results, index=False)
    refused(capsys, db, "study", "record", "--db", db, results,
            match="missing column(s) collected")
    refused(capsys, db, "study", "record", "--db", db, tmp_path / "nothing.csv",
            match="results file")


def test_record_without_an_open_batch_is_refused(capsys, files, tmp_path):
    db = initialised(capsys, files)
    results = tmp_path / "results.csv"
    pd.DataFrame({"group": ["CEU"], "collected": [1], "n": [1], "value": [0.3]}).to_csv(
        results, index=False)
    refused(capsys, db, "study", "record", "--db", db, results, match="no batch is open")


def test_a_changed_study_file_is_refused_until_restored(capsys, files, tmp_path):
    study_file, db = files
    db = initialised(capsys, files)
    batch = next_batch(capsys, db)
    results = tmp_path / "results.csv"
    results_csv(results, batch["counts"], {"CEU": 0, "YRI": 12, "CHB": 0}, seed=1)
    study_file.write_text(STUDY_TOML.replace("max = 400", "max = 4000"))
    for command in (("next",), ("status",), ("record", results)):
        refused(capsys, db, "study", *command, "--db", db,
                match=f"study file {str(study_file.resolve())!r} changed since")
    refused(capsys, db, "study", "next", "--db", db,  # the command's way out, not the library's
            match=f"restore it (`fairalloc study export --db {db} -o DIR` writes the original")
    study_file.write_text(STUDY_TOML)
    assert run(capsys, "study", "record", "--db", db, results)[0] == 0


def test_status_refuses_a_bad_figure_or_one_without_curves(capsys, files, tmp_path):
    db = initialised(capsys, files)
    refused(capsys, db, "study", "status", "--db", db, "--plot", tmp_path / "f.txt",
            match="--plot must end in .png")
    refused(capsys, db, "study", "status", "--db", db, "--plot", tmp_path / "f.png",
            match="no curves have been fitted yet")
    assert not (tmp_path / "f.png").exists()


def test_commands_on_a_missing_database_say_how_to_make_one(capsys, tmp_path):
    for command in ("next", "status"):
        code, _, err = run(capsys, "study", command, "--db", tmp_path / "none.sqlite")
        assert code == 2 and "fairalloc study init" in err and err.count("\n") == 1
    assert not (tmp_path / "none.sqlite").exists()


def test_init_takes_measurements_of_the_samples_in_hand(capsys, files, tmp_path):
    study_file, db = files
    study_file.write_text(STUDY_TOML.replace('cost = 1.0\n', 'cost = 1.0\nhave = 300\n')
                          .replace('cost = 1.5\n', 'cost = 1.5\nhave = 100\n')
                          .replace('have = 12\n', 'have = 40\n'))
    points = tmp_path / "in_hand.csv"
    SOURCE.measure({"CEU": 300, "YRI": 40, "CHB": 100}, seed=4).to_csv(points, index=False)
    initialised(capsys, files, "--points", points)
    batch = next_batch(capsys, db)
    assert batch["number"] == 1 and batch["note"] == "expected"
    other = tmp_path / "other.sqlite"
    pd.DataFrame({"group": ["CEU"], "n": [301], "value": [0.2]}).to_csv(points, index=False)
    code, _, err = run(capsys, "study", "init", study_file, "--db", other, "--points", points)
    assert code == 2 and "only 300 of its samples are in hand" in err and not other.exists()


def test_a_study_made_by_another_version_is_opened_with_a_one_line_warning(capsys, files):
    db = initialised(capsys, files)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE meta SET value = '0.0.1' WHERE key = 'provenance.fairalloc'")
    code, out, err = run(capsys, "study", "status", "--db", db)
    assert code == 0
    assert err.startswith("warning: study study.sqlite was created by fairalloc 0.0.1")
    assert err.count("\n") == 1


def test_a_study_file_without_curves_starts_a_sequential_study(capsys, tmp_path):
    study_file = tmp_path / "study.toml"
    study_file.write_text(STUDY_TOML.replace("curve = { a = 1.0, b = 0.5 }\n", ""))
    database = tmp_path / "study.sqlite"
    code, _, err = run(capsys, "study", "init", study_file, "--db", database)
    assert code == 0, err
    code, out, err = run(capsys, "study", "next", "--db", database, "--json")
    assert code == 0, err
    assert json.loads(out)["note"].startswith("pilot")
    code, _, err = run(capsys, "plan", study_file)
    assert code == 2 and "curve must be a table" in err


# ---- what a person sees: finished studies, folders, the sense, fit warnings --------------------


def test_next_on_a_finished_study_says_so_and_changes_nothing(capsys, files, tmp_path):
    db = initialised(capsys, files, "--strategy", "equal")
    batch = next_batch(capsys, db)
    results = tmp_path / "results.csv"
    results_csv(results, batch["counts"], {"CEU": 0, "YRI": 12, "CHB": 0}, seed=1)
    assert run(capsys, "study", "record", "--db", db, results)[0] == 0
    before = snapshot(db)
    code, out, err = run(capsys, "study", "next", "--db", db)
    assert code == 0 and err == ""
    assert "The study is finished" in out and "nothing was recorded" in out
    finished = next_batch(capsys, db)
    assert finished["finished"] and finished["number"] == 2
    assert snapshot(db) == before
    code, _, err = run(capsys, "study", "record", "--db", db, results)
    assert code == 2 and err.count("\n") == 1 and "no batch is open; run `fairalloc study" \
        " next" in err
    assert snapshot(db) == before


def test_a_folder_given_as_the_database_is_called_a_folder(capsys, files, tmp_path):
    study_file, _ = files
    folder = tmp_path / "studies"
    folder.mkdir()
    results = tmp_path / "results.csv"
    results.write_text("group,collected,n,value\nCEU,1,1,0.5\n")
    for command in (("next",), ("status",), ("record", results), ("export", "-o", tmp_path / "o"),
                    ("init", study_file)):
        code, out, err = run(capsys, "study", *command, "--db", folder)
        assert code == 2, (command, out)
        assert err.startswith("error: --db") and "is a folder" in err, err
        assert "does not exist" not in err and err.count("\n") == 1
        assert list(folder.iterdir()) == [] and not (tmp_path / "o").exists()


def test_record_refuses_a_folder_as_the_results_file(capsys, files, tmp_path):
    db = initialised(capsys, files)
    next_batch(capsys, db)
    (tmp_path / "results").mkdir()
    refused(capsys, db, "study", "record", "--db", db, tmp_path / "results",
            match="is a folder; give the CSV file")


SCORE_TOML = STUDY_TOML.replace('utility = "maximin"\n', 'utility = "maximin"\n').replace(
    "curve = { a = 1.0, b = 0.5 }", 'sense = "score"\ncurve = { a = 1.0, b = 0.5 }')


@pytest.mark.parametrize(("text", "sense"), [(STUDY_TOML, "loss"), (SCORE_TOML, "score")])
def test_status_names_the_studys_own_sense_before_and_after_a_fit(capsys, tmp_path, text,
                                                                  sense):
    study_file, db = tmp_path / "study.toml", tmp_path / "study.sqlite"
    study_file.write_text(text)
    initialised(capsys, (study_file, db), "--strategy", "adaptive", "--pilot", 20)
    other = "score" if sense == "loss" else "loss"
    code, out, _ = run(capsys, "study", "status", "--db", db)  # nothing fitted yet
    out = " ".join(out.split())  # rich may wrap a title
    assert code == 0 and f"predicted {sense}" in out and f"predicted {other}" not in out
    assert json.loads(run(capsys, "study", "status", "--db", db, "--json")[1])["sense"] == sense
    totals = {"CEU": 0, "YRI": 12, "CHB": 0}
    for round_number in range(2):
        batch = next_batch(capsys, db)
        results = tmp_path / f"results{round_number}.csv"
        results_csv(results, batch["counts"], totals, seed=round_number)
        if sense == "score":  # the score of a loss L is 1 - L (score_max 1)
            table = pd.read_csv(results)
            table["value"] = 1.0 - table["value"]
            table.to_csv(results, index=False)
        assert run(capsys, "study", "record", "--db", db, results)[0] == 0
        totals = {g: totals[g] + batch["counts"][g] for g in totals}
    next_batch(capsys, db)
    code, out, _ = run(capsys, "study", "status", "--db", db)
    status = json.loads(run(capsys, "study", "status", "--db", db, "--json")[1])
    assert status["fits"] is not None and status["fits"]["sense"] == sense
    out = " ".join(out.split())
    assert code == 0 and f"predicted {sense}" in out and f"predicted {other}" not in out


RISING = [(n, 0.3 + n / 2000) for n in (50, 100, 150, 200)]  # a loss that grows with n
EXACT = [(n, 2.0 * n ** -0.5 + 0.05) for n in (50, 100, 200)]  # 3 points, 3 parameters


@pytest.mark.parametrize(("measured", "expected"), [
    (RISING, "the measured loss rises as n grows"),
    (EXACT, "no residual degrees of freedom"),
])
def test_fit_warnings_are_shown_in_next_and_status_not_only_in_json(capsys, files, tmp_path,
                                                                    measured, expected):
    study_file, db = files
    study_file.write_text(STUDY_TOML.replace('cost = 1.0\n', 'cost = 1.0\nhave = 200\n')
                          .replace('cost = 1.5\n', 'cost = 1.5\nhave = 200\n')
                          .replace('have = 12\n', 'have = 200\n'))
    points = tmp_path / "in_hand.csv"
    pd.DataFrame([(g, n, value) for g in ("CEU", "YRI", "CHB") for n, value in measured],
                 columns=["group", "n", "value"]).to_csv(points, index=False)
    initialised(capsys, files, "--points", points)
    batch = next_batch(capsys, db)
    assert any(w.startswith("YRI: ") and expected in w for w in batch["warnings"])
    code, out, err = run(capsys, "study", "next", "--db", db)
    assert code == 0, err
    assert all(f"warning: {warning}" in out for warning in batch["warnings"])
    status = json.loads(run(capsys, "study", "status", "--db", db, "--json")[1])
    assert status["warnings"] == batch["warnings"]
    code, out, err = run(capsys, "study", "status", "--db", db)
    assert code == 0, err
    assert all(f"warning: {warning}" in out for warning in status["warnings"])
