"""``altbench list KIND --params`` and ``altbench show NAME``: every parameter with its type,
default and meaning, taken from the plugin; whole docstrings; summaries never cut mid-sentence."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from altbench.cli import main
from altbench.describe import params
from altbench.plugin_source import field_comments
from altbench.registry import METHODS, REGISTRIES, STRATEGIES, first_paragraph


@dataclass(frozen=True)
class Example:
    """An example config.

    Second paragraph: only ``show`` prints it.
    """

    alpha: float = 0.5  # weight of the first term
    # the comment above a field
    # spans two lines
    beta: int = 3
    gamma: str = "x"  # starts here,
    # and goes on here
    delta: tuple[int, ...] = field(default=(1, 2))  # trailing wins over the lines above
    epsilon: bool = True
    """An attribute docstring."""
    zeta: int | None = None


def test_field_meanings_come_from_comments_and_attribute_docstrings():
    assert field_comments(Example) == {
        "alpha": "weight of the first term",
        "beta": "the comment above a field spans two lines",
        "gamma": "starts here, and goes on here",
        "delta": "trailing wins over the lines above",
        "epsilon": "An attribute docstring.",
    }


def test_params_give_name_type_default_and_meaning():
    got = {p.name: (p.type, p.default, p.meaning) for p in params(Example)}
    assert got["alpha"] == ("float", "0.5", "weight of the first term")
    assert got["delta"] == ("tuple[int, ...]", "[1, 2]", "trailing wins over the lines above")
    assert got["zeta"] == ("int | None", "null", "")


def test_nested_config_fields_are_listed_with_the_parents_defaults():
    from altbench.methods.finetune import Finetune

    got = {p.name: p for p in params(Finetune)}
    assert got["train.lr"].default == repr(Finetune().train.lr)  # the method's own default, not TrainConfig's
    assert got["train.epochs"].meaning and "train" not in got


def test_function_plugins_list_their_keyword_parameters_only():
    def loader(*, data_dir, rng, size: int = 5, source: str | None = None):
        """A dataset loader."""

    def strategy(view, pool, budget, rng):
        """No parameters."""

    assert [(p.name, p.type, p.default) for p in params(loader)] == [("size", "int", "5"),
                                                                      ("source", "str | None", "null")]
    assert params(strategy) == []


def _sections(out: str) -> dict[str, list[str]]:
    """``list --params`` output → {plugin name: its indented parameter lines}."""
    sections: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = sections.setdefault(line.split()[0], [])
        else:
            current.append(line.strip())
    return sections


@pytest.mark.parametrize("kind", ["methods", "strategies", "backbones"])
def test_list_params_prints_every_field_of_every_plugin(kind, capsys):
    assert main(["list", kind, "--params"]) == 0
    sections = _sections(capsys.readouterr().out)
    registry = REGISTRIES[kind]
    assert set(sections) == set(registry.names())
    for name, plugin in registry.load_all().items():
        ps = params(plugin)
        assert len(sections[name]) == max(1, len(ps)), name
        for p, line in zip(ps, sections[name]):
            assert line.startswith(f"{p.name}: {p.type} = {p.default}"), (name, line)
            assert line.endswith(f"— {p.meaning}" if p.meaning else p.default), (name, line)


def test_svm_rbf_parameters_read_as_documented(capsys):
    assert main(["list", "methods", "svm_rbf", "--params"]) == 0
    out = capsys.readouterr().out
    assert 'gamma: str | float = "scale"' in out and "RBF width" in out
    assert "calibration_cv: int = 5" in out and 'folds of "platt"' in out


@pytest.mark.parametrize("registry", [STRATEGIES, METHODS], ids=["strategies", "methods"])
def test_list_summaries_are_whole_first_paragraphs(registry, capsys):
    assert main(["list", registry.kind]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(registry.names())  # one line per plugin, however long its summary
    for line, name in zip(lines, registry.names()):
        plugin = registry.get(name)
        if not getattr(plugin, "__module__", "").startswith("altbench."):
            continue  # registered by another test, maybe without a docstring
        summary = first_paragraph(inspect.getdoc(plugin) or "")
        assert line.split(None, 1)[1] == summary
        assert summary.endswith((".", ")")), f"{name}: summary cut mid-sentence: {summary!r}"


def test_show_prints_the_whole_docstring_and_every_parameter(capsys):
    from altbench.methods.sklearn_models import SvmRbf

    assert main(["show", "svm_rbf"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("svm_rbf — method (altbench.methods.sklearn_models:SvmRbf)")
    for line in inspect.getdoc(SvmRbf).splitlines():
        assert line.strip() in out
    for f in dataclasses.fields(SvmRbf):
        assert f"{f.name}: " in out


def test_show_finds_any_kind_and_references(capsys):
    assert main(["show", "tfidf"]) == 0
    assert "backbone (altbench.backbones.text:Tfidf)" in capsys.readouterr().out
    assert main(["show", "altbench.strategies.uncertainty:margin"]) == 0
    out = capsys.readouterr().out
    assert "strategy" in out and "(no parameters)" in out


def test_show_unknown_name_is_one_line_with_suggestions(capsys):
    assert main(["show", "margn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean margin" in err and "altbench list KIND" in err


def test_cli_choices_come_from_the_registries():
    import argparse

    from altbench.cli import build_parser
    from altbench.executors import EXECUTORS

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))

    def choices(command: str, dest: str) -> list:
        return list(next(a for a in sub.choices[command]._actions if a.dest == dest).choices)

    assert choices("run", "executor") == choices("reproduce", "executor") == sorted(EXECUTORS)
    assert choices("list", "kind") == sorted(REGISTRIES)
