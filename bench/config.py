"""Experiment configs: a YAML grid, validated, with ``key.sub=value`` overrides.

An experiment is the grid datasets × methods × strategies × seeds under one
budget.  Each grid cell resolves to a :class:`RunConfig` whose plugin
parameters are filled with their defaults; its hash is the run id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from bench.loop import Budget
from bench.registry import DATASETS, METHODS, STRATEGIES, PluginError, Registry

QUICKSTART = Path(__file__).parent / "configs" / "quickstart.yaml"


class ConfigError(ValueError):
    """A config problem; the message is one line saying what to fix."""


class BudgetModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    initial: PositiveInt = 20
    initial_per_class: PositiveInt | None = None
    initial_all_classes: bool = False  # random initial set holding every class (Zhan et al. 2021)
    query: PositiveInt = 10
    total: PositiveInt = 200
    schedule: tuple[PositiveInt, ...] | None = Field(None, strict=False)  # YAML gives a list


class ExperimentModel(BaseModel):
    """The YAML file's schema (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    datasets: list[str | dict[str, Any]] = Field(min_length=1)
    methods: list[str | dict[str, Any]] = Field(min_length=1)
    strategies: list[str | dict[str, Any]] = Field(min_length=1)
    seeds: Annotated[list[NonNegativeInt], Field(min_length=1)] | PositiveInt = 5  # a list, or n = 0..n-1
    budget: BudgetModel = BudgetModel()
    results_dir: str | None = None  # default results/<name>
    n_jobs: PositiveInt = 2  # worker processes


@dataclass(frozen=True)
class PluginSpec:
    """A plugin by name plus its fully resolved parameters."""

    name: str
    params: dict
    label: str = ""  # name plus the parameters set away from their defaults

    def key(self) -> str:
        return self.label or self.name


ID_IF_SET = {"id": "if_set"}  # field metadata: hash the field into run ids only when away from its default


def identity(obj) -> dict:
    """``dataclasses.asdict(obj)`` without the fields marked ``metadata=ID_IF_SET``
    that hold their default (at any depth, dataclasses inside dicts included).

    Fields added to :class:`~bench.loop.Budget` (or to a plugin config) after
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
            if f.metadata.get("id") == "if_set" and v == f.default:
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
def parse_overrides(items: list[str]) -> list[tuple[list[str], Any]]:
    out = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"override {item!r} is not key=value (e.g. budget.total=300)")
        try:
            out.append((key.split("."), yaml.safe_load(value)))
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: value is not valid YAML") from None
    return out


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for path, value in parse_overrides(overrides):
        node: Any = raw
        for part in path[:-1]:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                raise ConfigError(f"override {'.'.join(path)}: {part!r} is not a mapping key or list index")
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
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: malformed YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping with keys name, datasets, methods, strategies")
    return raw


def _pydantic_message(exc: pydantic.ValidationError, source: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key {loc!r}; remove it or check its spelling"
    return f"{source}: {loc}: {err['msg']} (got {err.get('input')!r}); fix it in the file or with {loc}=VALUE"


def resolve_plugin(registry: Registry, item: str | dict, where: str) -> PluginSpec:
    """Look up a plugin and fill its parameters with their defaults."""
    if isinstance(item, str):
        name, params = item, {}
    else:
        params = dict(item)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"{where}: a mapping entry needs 'name: <plugin>' (got {item!r})")
    try:
        plugin = registry.get(name)
    except PluginError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    resolved = _resolve_params(plugin, params, f"{where} {name!r}")
    defaults = _resolve_params(plugin, {}, f"{where} {name!r}")
    changed = {k: v for k, v in resolved.items() if v != defaults.get(k)}
    label = name + ("(" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(changed.items())) + ")" if changed else "")
    return PluginSpec(name, resolved, label)


def _resolve_params(plugin: Any, params: dict, where: str) -> dict:
    if dataclasses.is_dataclass(plugin) and isinstance(plugin, type):
        known = {f.name for f in dataclasses.fields(plugin)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown parameter {unknown[0]!r}; known: {', '.join(sorted(known))}")
        try:
            obj = pydantic.TypeAdapter(plugin).validate_python(params)
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{where}: parameter {loc}: {err['msg']} (got {err.get('input')!r})") from None
        return json.loads(json.dumps(dataclasses.asdict(obj), default=list))
    sig = inspect.signature(plugin)
    free = {n for n, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY or (
        p.default is not p.empty and n not in ("data_dir", "rng"))}
    unknown = sorted(set(params) - free)
    if unknown:
        raise ConfigError(f"{where}: takes no parameter {unknown[0]!r}" +
                          (f"; known: {', '.join(sorted(free))}" if free else ""))
    return {n: params.get(n, sig.parameters[n].default) for n in sorted(free)}


def build_plugin(registry: Registry, spec: PluginSpec) -> Any:
    """The callable/object a spec describes (dataclass plugins are constructed)."""
    plugin = registry.get(spec.name)
    if dataclasses.is_dataclass(plugin) and isinstance(plugin, type):
        return pydantic.TypeAdapter(plugin).validate_python(spec.params)
    return plugin


def load_experiment(path: Path | None = None, overrides: list[str] = ()) -> Experiment:
    """Read, override, validate and expand an experiment file into runs."""
    path = Path(path) if path else QUICKSTART
    raw = apply_overrides(read_yaml(path), list(overrides))
    try:
        model = ExperimentModel.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigError(_pydantic_message(exc, path.name)) from None
    b = model.budget
    if b.initial_per_class is None and b.initial > b.total and not b.schedule:
        raise ConfigError(f"{path.name}: budget.initial={b.initial} exceeds budget.total={b.total}; raise total")
    budget = Budget(**b.model_dump())
    datasets = [resolve_plugin(DATASETS, d, "datasets") for d in model.datasets]
    methods = [resolve_plugin(METHODS, m, "methods") for m in model.methods]
    strats = [resolve_plugin(STRATEGIES, s, "strategies") for s in model.strategies]
    seeds = list(range(model.seeds)) if isinstance(model.seeds, int) else model.seeds
    runs = tuple(RunConfig(d, m, s, seed, budget)
                 for d in datasets for m in methods for s in strats for seed in seeds)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path.name}: the grid lists the same run twice; remove duplicate entries")
    resolved = model.model_dump(mode="json")
    results_dir = Path(model.results_dir or f"results/{model.name}")
    return Experiment(model.name, runs, results_dir, model.n_jobs, resolved)
