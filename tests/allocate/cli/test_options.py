"""said_with_flags: a library error said in a command's options, everything else untouched."""

from __future__ import annotations

import inspect

import pytest

from allocate.cli.options import said_with_flags
from allocate.errors import FairallocError, InfeasibleStudy, InputError

FLAGS = {"raise budgets or lower pilot": "raise --budgets", "out '": "--out '"}


@pytest.mark.parametrize("kind", [InputError, InfeasibleStudy, FairallocError])
def test_a_library_error_keeps_its_kind_and_names_the_options(kind):
    with pytest.raises(kind) as refusal, said_with_flags(FLAGS):
        raise kind("budget 10 is below the pilot's cost 24; raise budgets or lower pilot")
    assert type(refusal.value) is kind
    assert str(refusal.value) == "budget 10 is below the pilot's cost 24; raise --budgets"
    assert refusal.value.__cause__ is None and refusal.value.__suppress_context__


def test_every_phrase_is_said_and_a_message_without_one_is_kept_word_for_word():
    with pytest.raises(InputError, match=r"^--out 'x' is a file; raise --budgets$"), \
            said_with_flags(FLAGS):
        raise InputError("out 'x' is a file; raise budgets or lower pilot")
    with pytest.raises(InputError, match=r"^budgets must be > 0; got \[0\]$"), \
            said_with_flags(FLAGS):
        raise InputError("budgets must be > 0; got [0]")


def test_other_errors_pass_through_unchanged():
    original = ValueError("raise budgets or lower pilot")
    with pytest.raises(ValueError) as raised, said_with_flags(FLAGS):
        raise original
    assert raised.value is original


def test_as_a_decorator_it_says_each_call_s_error_and_keeps_the_signature():
    @said_with_flags(FLAGS)
    def command(budget: float = 10.0) -> float:
        """The command's help."""
        raise InputError(f"budget {budget:g} is below the pilot's cost; raise budgets or lower"
                         " pilot")

    for budget in (10.0, 20.0):  # a fresh context each call
        with pytest.raises(InputError, match=f"^budget {budget:g} .*; raise --budgets$"):
            command(budget)
    assert command.__doc__ == "The command's help."
    assert list(inspect.signature(command).parameters) == ["budget"]
