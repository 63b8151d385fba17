"""A plugin described for people: ``altbench list KIND --params`` and ``altbench show NAME``
(``altbench show RUN_ID`` describes a run instead: :mod:`altbench.runinfo`).

Every parameter comes from the plugin itself: a frozen dataclass's fields
(nested dataclass fields as ``train.epochs``) or a function's keyword
parameters, each with its type, default and meaning.  The meaning is the
field's ``# comment`` in the source (:func:`altbench.plugin_source.field_comments`).
Docstrings are printed whole by ``show``; ``list`` prints their first
paragraph, never a line cut mid-sentence.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from dataclasses import dataclass
from typing import Any

from altbench.plugin_source import field_comments
from altbench.registry import REGISTRIES, PluginError, Registry


@dataclass(frozen=True)
class Param:
    """One parameter of a plugin, as a YAML entry would set it."""

    name: str  # dotted path, e.g. "train.epochs"
    type: str  # the annotation as written, e.g. "int | None"
    default: str  # JSON of the default, or "required"
    meaning: str  # from the source's comment ("" when it has none)


def params(plugin: Any) -> list[Param]:
    """Every parameter of ``plugin`` (a config dataclass or a function), in declaration order."""
    from altbench.plugin_params import is_config_class  # pydantic: only when parameters are shown

    if is_config_class(plugin):
        return _dataclass_params(plugin, "")
    if callable(plugin) and not isinstance(plugin, type):
        return _function_params(plugin)
    return []


def _dataclass_params(cls: type, prefix: str, defaults: Any = None) -> list[Param]:
    """Fields of ``cls``; ``defaults``: the instance a parent field holds by default (its values win)."""
    from altbench.plugin_params import field_hints, nested_class

    hints, notes, out = field_hints(cls), _inherited_comments(cls), []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = _default(f) if defaults is None else getattr(defaults, f.name)
        nested = nested_class(hints.get(f.name))
        if nested is not None and dataclasses.is_dataclass(default) and not isinstance(default, type):
            out += _dataclass_params(nested, f"{prefix}{f.name}.", default)
            continue
        out.append(Param(prefix + f.name, _type_text(f.type), _default_text(default), notes.get(f.name, "")))
    return out


def _inherited_comments(cls: type) -> dict[str, str]:
    """Field meanings of ``cls`` and its dataclass bases (a subclass's own comment wins)."""
    notes: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            notes.update(field_comments(klass))
    return notes


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _function_params(fn: Any) -> list[Param]:
    from altbench.plugin_params import HARNESS_ARGS

    out = []
    for name, p in inspect.signature(fn).parameters.items():
        if name in HARNESS_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty:
            continue  # the harness's positional arguments (view, pool, budget, ...)
        default = dataclasses.MISSING if p.default is p.empty else p.default
        out.append(Param(name, _type_text(p.annotation), _default_text(default), ""))
    return out


def _type_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    if isinstance(annotation, str):  # postponed annotation: exactly as written
        return annotation
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _default_text(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def param_lines(plugin: Any, indent: str = "    ") -> list[str]:
    """``name: type = default  — meaning`` lines (one per parameter, or a note that there are none)."""
    ps = params(plugin)
    if not ps:
        return [f"{indent}(no parameters)"]
    width = max(len(f"{p.name}: {p.type} = {p.default}") for p in ps)
    return [f"{indent}{f'{p.name}: {p.type} = {p.default}':{width}}" + (f"  — {p.meaning}" if p.meaning else "")
            for p in ps]


def list_lines(registry: Registry, pattern: str, with_params: bool) -> list[str]:
    """``altbench list``: one line per plugin (name, first paragraph), plus its parameters."""
    lines = []
    for name in registry.names(pattern):
        try:
            lines.append(f"{name:24s} {registry.summary(name)}".rstrip())
            if with_params:
                lines += param_lines(registry.get(name))
        except PluginError as exc:
            lines.append(f"{name:24s} (broken: {exc})")
    return lines


def show_text(name: str) -> str:
    """``altbench show NAME``: kind, where it lives, the whole docstring and every parameter,
    for each plugin kind that has ``name``; a one-line PluginError when none has."""
    kinds = [r for r in REGISTRIES.values() if name in r and (":" not in name or r is _guess(name))]
    if not kinds:
        every = [n for r in REGISTRIES.values() for n in r.names()]
        import difflib

        close = difflib.get_close_matches(name, every, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise PluginError(f"no plugin named {name!r}; {hint}run `altbench list KIND` "
                          f"(KIND: {', '.join(REGISTRIES)}) to see them")
    return "\n\n".join(_one(r, name) for r in kinds)


def show_any(name: str, results=None) -> str:
    """``altbench show NAME``: a plugin (:func:`show_text`), else a run id or run file, looked up in
    ``results`` or under ``results/`` (:func:`altbench.runinfo.show_run`)."""
    from altbench.runinfo import find_run, is_run_ref, show_run

    is_plugin = any(name in r for r in REGISTRIES.values())
    if not is_plugin and (is_run_ref(name) or results is not None):
        return show_run(*find_run(name, results))
    return show_text(name)


def _guess(ref: str) -> Registry:
    """The registry a ``module:attr`` reference belongs to (by its module's package)."""
    module = ref.partition(":")[0]
    for r in REGISTRIES.values():
        if f".{r.kind}." in f".{module}.":
            return r
    return REGISTRIES["strategies"]


def _one(registry: Registry, name: str) -> str:
    plugin = registry.get(name)
    where = f"{getattr(plugin, '__module__', '?')}:{getattr(plugin, '__qualname__', type(plugin).__name__)}"
    doc = registry.doc(name) or "(no docstring)"
    body = "\n".join("    " + line if line else "" for line in doc.splitlines())
    return (f"{name} — {registry.singular} ({where})\n\n{body}\n\n  parameters (YAML: {{name: {name}, ...}}):\n"
            + "\n".join(param_lines(plugin)))
