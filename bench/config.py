"""Experiment configs: a YAML grid, validated, with ``key.sub=value`` overrides.

An experiment is the grid datasets × methods × strategies × seeds under one
budget.  Each grid cell resolves to a :class:`RunConfig` whose plugin
parameters are filled with their defaults; its hash is the run id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from altbench import plugin_params
from altbench.loop import Budget
from altbench.registry import DATASETS, METHODS, STRATEGIES, PluginError, Registry
from altbench.strict import (ConfigError, check_path, check_seeds, error_path, load_yaml, plain_error, short,
                          unknown_key)

__all__ = ["ConfigError", "Experiment", "PluginSpec", "RunConfig", "build_plugin", "load_experiment",
           "resolve_plugin"]

QUICKSTART = Path(__file__).parent / "configs" / "quickstart.yaml"


class BudgetModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    initial: PositiveInt = 20
    initial_per_class: PositiveInt | None = None
    initial_all_classes: bool = False  # random initial set holding every class (Zhan et al. 2021)
    query: PositiveInt = 10
    total: PositiveInt = 200
    schedule: tuple[PositiveInt, ...] | None = Field(None, strict=False)  # YAML gives a list
    initial_strategy: str | dict = "random"  # cold-start selector: a name or {name: ..., params} (altbench.coldstart)
    validation: int = Field(0, ge=0)  # labelled validation rows bought from the pool, charged (altbench.validation)
    cost_model: str | dict | None = None  # annotation cost per example: a name or {name: ..., params} (altbench.cost)
    cost_total: float | None = Field(None, gt=0, allow_inf_nan=False)  # a budget in cost units (altbench.purchase)
    cost_query: float | None = Field(None, gt=0, allow_inf_nan=False)  # cost allowance per round, with cost_total
    cost_schedule: tuple[PositiveFloat, ...] | None = Field(None, strict=False)  # cumulative cost targets


class ExperimentModel(BaseModel):
    """The YAML file's schema (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    datasets: list[Any] = Field(min_length=1)  # entries: a plugin name or {name: ..., params}
    methods: list[Any] = Field(min_length=1)
    strategies: list[Any] = Field(min_length=1)
    seeds: Any = 5  # a list, or n = 0..n-1 (checked by altbench.strict.check_seeds)
    budget: BudgetModel = BudgetModel()
    results_dir: str | None = None  # default results/<name>
    n_jobs: PositiveInt = 2  # worker processes


@dataclass(frozen=True)
class PluginSpec:
    """A plugin by name plus its fully resolved parameters."""

    name: str
    params: dict
    label: str = ""  # name plus the parameters set away from their defaults
    # the label plus parameters at an ID_UNLESS legacy value (left out of params and label); never hashed
    shown: str = dataclasses.field(default="", metadata={"id": "never"})
    # SHA-256 of a user dataset's data (altbench.datasets.user): in the run id when set (= ID_IF_SET)
    content_hash: str = dataclasses.field(default="", metadata={"id": "if_set"})

    def key(self) -> str:
        return self.shown or self.label or self.name


ID_IF_SET = {"id": "if_set"}  # field metadata: hash the field into run ids only when away from its default


def ID_UNLESS(legacy: Any) -> dict:  # noqa: N802 (reads like the ID_IF_SET constant)
    """Field metadata for a changed default: hash the field into run ids unless it equals ``legacy``.

    When a default changes (e.g. ``head: "torch"`` → ``"logreg"``), declare
    ``field(default=NEW, metadata=ID_UNLESS(OLD))``.  Runs with the old value
    keep the run ids they had before the field existed (their results stay
    valid once a config pins ``OLD``); the new default hashes into new ids, so
    old results are never reused under it.  A field missing from a run's
    parameters (an old run record) means ``legacy``: :func:`build_plugin` fills it.
    """
    return {"id": "unless", "legacy": legacy}


def legacy_values(plugin: Any) -> dict:
    """{field: legacy value} of a dataclass plugin's top-level ``ID_UNLESS`` fields ({} otherwise)."""
    if not (dataclasses.is_dataclass(plugin) and isinstance(plugin, type)):
        return {}
    return {f.name: f.metadata["legacy"] for f in dataclasses.fields(plugin) if f.metadata.get("id") == "unless"}


def identity(obj) -> dict:
    """``dataclasses.asdict(obj)`` without the fields marked ``metadata=ID_IF_SET``
    that hold their default, nor those marked ``ID_UNLESS(v)`` that equal ``v``
    (at any depth, dataclasses inside dicts included).

    Fields added to :class:`~altbench.loop.Budget` (or to a plugin config) after
    results exist are declared ``field(default=..., metadata=ID_IF_SET)``: runs
    that leave them at the default keep their run id, so finished results stay
    valid; setting them gives a new id.
    """
    return _drop_unset(obj, dataclasses.asdict(obj))


def _drop_unset(obj, d):
    """Remove from ``d`` (``asdict`` of ``obj``) the ID_IF_SET fields at their default; recurse."""
    if isinstance(obj, dict):
        for k, item in obj.items():
            _drop_unset(item, d[k])
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            marker = f.metadata.get("id")
            if (marker == "if_set" and v == f.default) or marker == "never" or (
                    marker == "unless" and v == f.metadata["legacy"]):
                del d[f.name]
            else:
                _drop_unset(v, d[f.name])
    return d


@dataclass(frozen=True)
class RunConfig:
    """One grid cell: everything that determines a run's results."""

    dataset: PluginSpec
    method: PluginSpec
    strategy: PluginSpec
    seed: int
    budget: Budget

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def run_id(self) -> str:
        """16 hex digits of the SHA-256 of the canonical JSON of :func:`identity`."""
        blob = json.dumps(identity(self), sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Experiment:
    name: str
    runs: tuple[RunConfig, ...]
    results_dir: Path
    n_jobs: int
    resolved: dict  # the validated YAML, defaults filled


# ---------------------------------------------------------------- parsing
PLUGIN_LISTS = ("datasets", "methods", "strategies")
EXAMPLES = {  # what to write, for messages about a top-level or budget key
    "name": "my_experiment", "datasets": "[digits]", "methods": "[logreg]", "strategies": "[random, margin]",
    "seeds": "5", "n_jobs": "2", "results_dir": "results/my_experiment", "budget": "{total: 200}",
    "budget.initial": "20", "budget.initial_per_class": "2", "budget.initial_all_classes": "true",
    "budget.query": "10", "budget.total": "200", "budget.schedule": "[50, 100, 200]",
    "budget.initial_strategy": "kmeans", "budget.validation": "20", "budget.cost_model": "text_length",
    "budget.cost_total": "500", "budget.cost_query": "50", "budget.cost_schedule": "[100, 200, 400]",
}


def parse_overrides(items: list[str]) -> list[tuple[list[str], Any]]:
    out = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"override {item!r} is not key=value (e.g. budget.total=300)")
        try:
            out.append((key.split("."), load_yaml(value)))
        except ConfigError as exc:
            raise ConfigError(f"override {item!r}: {exc}") from None
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: value is not valid YAML") from None
    return out


def _child(node: Any, part: str, path: list[str]) -> Any:
    """``node[part]`` for descending an override path; a plugin given by name becomes ``{name: ...}``."""
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        if isinstance(node[int(part)], str) and path[0] in PLUGIN_LISTS:
            node[int(part)] = {"name": node[int(part)]}  # methods.0.C=0.5 on `methods: [logreg]`
        return node[int(part)]
    if isinstance(node, dict):
        return node.setdefault(part, {})
    raise ConfigError(f"override {'.'.join(path)}: {part!r} is not a mapping key or list index")


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for path, value in parse_overrides(overrides):
        node: Any = raw
        for part in path[:-1]:
            node = _child(node, part, path)
        last = path[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"override {'.'.join(path)}: cannot set {last!r} here")
    return raw


def read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; pass an existing YAML file")
    try:
        raw = load_yaml(path.read_text())
    except ConfigError as exc:
        raise ConfigError(f"{path} {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: malformed YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping with keys name, datasets, methods, strategies")
    return raw


def _pydantic_message(exc: pydantic.ValidationError, source: str) -> str:
    err = exc.errors()[0]
    loc = error_path(err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        *parent, key = loc.split(".")
        model = BudgetModel if parent == ["budget"] else ExperimentModel
        prefix = "budget." if parent == ["budget"] else ""
        return str(unknown_key(source, key, model.model_fields, prefix))
    key = loc if loc in EXAMPLES else loc.rsplit(".", 1)[0]  # budget.schedule.0 → budget.schedule
    write = f"write e.g. `{key}={EXAMPLES[key]}`" if key in EXAMPLES else f"fix it in the file or with `{loc}=VALUE`"
    return f"{source}: {loc} {plain_error(err)}; {write}"


def resolve_plugin(registry: Registry, item: Any, where: str) -> PluginSpec:
    """Look up a plugin and fill its parameters with their defaults."""
    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, dict):
        params = dict(item)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"{where}: a mapping entry needs 'name: <plugin>' (got {short(item)}); "
                              f"write e.g. `{{name: NAME, PARAM: VALUE}}`")
    else:
        raise ConfigError(f"{where}: an entry is a {registry.singular} name or a mapping with 'name:' "
                          f"(got {short(item)}); write e.g. `{registry.kind}: [NAME]`")
    try:
        plugin = registry.get(name)
    except PluginError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    resolved = plugin_params.resolve_params(plugin, params, where, name)
    defaults = plugin_params.default_params(plugin, where, name)
    changed = {k: v for k, v in resolved.items() if v != defaults.get(k)}
    legacy = {k: v for k, v in legacy_values(plugin).items() if k not in resolved}  # pinned old values
    shown = _label(name, {**changed, **legacy}) if legacy else ""
    return PluginSpec(name, resolved, _label(name, changed), shown=shown)


def _label(name: str, changed: dict) -> str:
    return name + ("(" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(changed.items())) + ")" if changed else "")


def build_plugin(registry: Registry, spec: PluginSpec) -> Any:
    """The object a spec describes: a dataclass plugin constructed from ``spec.params``
    (``ID_UNLESS`` fields it lacks set to their legacy value), a function plugin with
    ``spec.params`` bound (``functools.partial``)."""
    plugin = registry.get(spec.name)
    if registry is METHODS and "tune" in spec.params:  # a per-round grid on validation labels
        from altbench.methods.tuning import build_tuned

        return build_tuned(plugin, {**legacy_values(plugin), **spec.params})
    return plugin_params.build(plugin, {**legacy_values(plugin), **spec.params})


def load_experiment(path: Path | None = None, overrides: list[str] = ()) -> Experiment:
    """Read, override, validate and expand an experiment file into runs."""
    path = Path(path) if path else QUICKSTART
    raw = apply_overrides(read_yaml(path), list(overrides))
    try:
        model = ExperimentModel.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigError(_pydantic_message(exc, path.name)) from None
    seeds = check_seeds(model.seeds, path.name)
    if model.results_dir is not None:
        check_path(model.results_dir, "results_dir", path.name)
    b = model.budget
    from altbench.purchase import is_cost_budget, resolve_cost_budget  # budgets in cost units

    budget = resolve_cost_budget(Budget(**b.model_dump()), b.model_fields_set, path.name)
    if b.initial_per_class is None and b.initial > b.total and not b.schedule and not is_cost_budget(budget):
        raise ConfigError(f"{path.name}: budget.initial={b.initial} exceeds budget.total={b.total}; raise total")
    if budget.initial_strategy != "random":  # late import: the selectors load scipy
        from altbench.coldstart import resolve_initial

        budget = resolve_initial(budget, path.name)
    from altbench.datasets.user import dataset_specs  # shorthands; user data: label and content hash

    datasets = dataset_specs(model.datasets, path.name)
    from altbench.methods.tuning import resolve_method  # `tune` grids (altbench.validation checks the budget)
    from altbench.validation import check_budget, check_early_stop

    check_budget(budget, path.name)
    methods = [resolve_method(m, f"methods.{i}", budget.validation) for i, m in enumerate(model.methods)]
    check_early_stop(methods, budget.validation, path.name)  # val_loss early stopping needs validation labels
    strats = [resolve_plugin(STRATEGIES, s, f"strategies.{i}") for i, s in enumerate(model.strategies)]
    runs = tuple(RunConfig(d, m, s, seed, budget)
                 for d in datasets for m in methods for s in strats for seed in seeds)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path.name}: the grid lists the same run twice; remove duplicate entries")
    resolved = model.model_dump(mode="json")
    results_dir = Path(f"results/{model.name}" if model.results_dir is None else model.results_dir)
    return Experiment(model.name, runs, results_dir, model.n_jobs, resolved)
