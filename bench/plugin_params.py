"""A plugin's YAML parameters → its resolved parameters → the object a run uses.

Two plugin shapes, one contract: what :func:`resolve_params` returns (and the
run id hashes) is exactly what :func:`build` hands the plugin.

* a frozen dataclass: its fields are its parameters, nested dataclass fields
  included (``train: {epochs: 3}``); unknown keys are refused at every depth;
* a function: its parameters with defaults (and keyword-only ones) are its
  parameters, ``data_dir`` and ``rng`` excepted (the harness passes those);
  :func:`build` binds them with :func:`functools.partial`.

Some dict-valued fields are checked by the registry their keys belong to
(:data:`DICT_FIELD_CHECKS`, e.g. ``backbone_params`` against the backbone).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import typing
from typing import Any, Callable

import pydantic

from altbench.strict import ConfigError, did_you_mean, error_path, plain_error

HARNESS_ARGS = ("data_dir", "rng")  # function parameters the harness fills, never config


def is_config_class(plugin: Any) -> bool:
    return dataclasses.is_dataclass(plugin) and isinstance(plugin, type)


def resolve_params(plugin: Any, params: dict, where: str, name: str) -> dict:
    """Validated parameters with defaults filled (JSON types), or a one-line ConfigError."""
    if is_config_class(plugin):
        check_keys(plugin, params, where, name)
        try:
            obj = pydantic.TypeAdapter(plugin).validate_python(params)
        except pydantic.ValidationError as exc:
            raise _value_error(exc, where, name, _defaults(plugin)) from None
        from altbench.config import identity  # late: altbench.config imports this module

        return json.loads(json.dumps(identity(obj), default=list))  # ID_IF_SET fields at default left out
    return _function_params(plugin, params, where, name)


def default_params(plugin: Any, where: str, name: str) -> dict:
    """The parameters a plugin resolves to when given none (required ones left out)."""
    if is_config_class(plugin):
        try:
            return resolve_params(plugin, {}, where, name)
        except ConfigError:  # a dataclass with required fields
            return {}
    return {n: p.default for n, p in _free_params(inspect.signature(plugin)).items() if p.default is not p.empty}


def build(plugin: Any, params: dict) -> Any:
    """The object a run uses: the dataclass built from ``params``, or the function with them bound."""
    if is_config_class(plugin):
        return pydantic.TypeAdapter(plugin).validate_python(params)
    return functools.partial(plugin, **params) if params else plugin


# ---------------------------------------------------------------- dataclass plugins
def field_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable annotation: fall back to the raw ones
        return {f.name: f.type for f in dataclasses.fields(cls)}


def nested_class(hint: Any) -> type | None:
    """The dataclass a field holds (``TrainConfig`` or ``TrainConfig | None``), else None."""
    for t in (hint, *typing.get_args(hint)):
        if is_config_class(t):
            return t
    return None


def check_keys(cls: type, params: Any, where: str, name: str, prefix: str = "") -> None:
    """Refuse keys that are not fields of ``cls`` (recursing into nested dataclass fields)."""
    if not isinstance(params, dict):
        return  # a wrong type: pydantic reports it in plain words
    fields = {f.name for f in dataclasses.fields(cls)}
    hints = field_hints(cls)
    owner = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    owner.update(params)  # what a dict field's check sees of its siblings (e.g. the backbone name)
    if "backbone" in fields and ("backbone" in params or "backbone_params" in params):  # now, not at run time
        from altbench.backbones import check_backbone  # unknown names, missing hf: folders

        owner["backbone"], owner["backbone_params"] = check_backbone(
            owner.get("backbone", "auto"), owner.get("backbone_params") or {}, f"{where} ({name})")
    for key, value in params.items():
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "none"
            hint = did_you_mean(key, fields).replace("mean '", f"mean '{prefix}")
            raise ConfigError(f"{where} ({name}): no parameter {prefix + str(key)!r}; "
                              f"valid{' in ' + prefix[:-1] if prefix else ''}: {valid}{hint}")
        nested = nested_class(hints.get(key))
        if nested is not None:
            check_keys(nested, value, where, name, f"{prefix}{key}.")
        elif key in DICT_FIELD_CHECKS and isinstance(value, dict):
            DICT_FIELD_CHECKS[key](owner, value, f"{where} ({name}): {prefix}{key}")


def _defaults(cls: type) -> dict:
    try:
        return json.loads(json.dumps(dataclasses.asdict(cls()), default=list))
    except Exception:  # a plugin with required fields has no default object
        return {}


def _value_error(exc: pydantic.ValidationError, where: str, name: str, defaults: dict) -> ConfigError:
    err = exc.errors()[0]
    if not err["loc"]:  # raised by the plugin's __post_init__: its message already says what to write
        return ConfigError(f"{where} ({name}): {err.get('ctx', {}).get('error', err['msg'])}")
    path = error_path(err["loc"])
    example, at = _lookup(defaults, path), path
    if example is None and "." in path:  # hidden.0 → an example of the whole list
        at = path.rsplit(".", 1)[0]
        example = _lookup(defaults, at)
    write = (f"write e.g. `{where}.{at}={json.dumps(example)}`" if example is not None
             else f"fix it in the file or with `{where}.{path}=VALUE`")
    return ConfigError(f"{where} ({name}): parameter {path} {plain_error(err)}; {write}")


def _lookup(tree: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        else:
            return None
    return tree


# ---------------------------------------------------------------- function plugins
def _free_params(sig: inspect.Signature) -> dict[str, inspect.Parameter]:
    return {n: p for n, p in sig.parameters.items() if n not in HARNESS_ARGS and (
        p.kind == p.KEYWORD_ONLY or (p.default is not p.empty and p.kind == p.POSITIONAL_OR_KEYWORD))}


def _function_params(plugin: Callable, params: dict, where: str, name: str) -> dict:
    free = _free_params(inspect.signature(plugin))
    for key in params:
        if key not in free:
            known = f"valid: {', '.join(sorted(free))}" if free else "it takes none; remove it"
            raise ConfigError(f"{where} ({name}): no parameter {key!r}; {known}{did_you_mean(key, free)}")
    missing = [n for n, p in free.items() if p.default is p.empty and n not in params]
    if missing:
        raise ConfigError(f"{where} ({name}): parameter {missing[0]!r} is required; "
                          f"write e.g. `{{name: {name}, {missing[0]}: VALUE}}`")
    hints = _function_hints(plugin)
    for key, value in params.items():
        _check_value(hints.get(key), value, f"{where} ({name}): parameter {key}", f"{where}.{key}",
                     free[key].default)
    return {n: params.get(n, free[n].default) for n in sorted(free)}


def _function_hints(plugin: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(plugin)
    except Exception:  # unresolvable annotation: values are passed unchecked
        return {}


def _check_value(hint: Any, value: Any, what: str, path: str, default: Any) -> None:
    """Refuse a value its annotation does not admit (strictly: "5" is not a float)."""
    if hint is None:
        return
    try:
        adapter = pydantic.TypeAdapter(hint)
    except Exception:  # an annotation pydantic cannot check
        return
    try:
        adapter.validate_python(value, strict=True)
    except pydantic.ValidationError as exc:
        example = json.dumps(default, default=str) if default is not inspect.Parameter.empty else "VALUE"
        raise ConfigError(f"{what} {plain_error(exc.errors()[0])}; write e.g. `{path}={example}`") from None


# ---------------------------------------------------------------- dict fields
def _check_backbone_params(owner: dict, value: dict, where: str) -> None:
    """``backbone_params`` keys must be fields of the backbone (of some default one for ``auto``)."""
    from altbench.backbones import BACKBONES, DEFAULT_BACKBONE

    name = owner.get("backbone", "auto")
    names = sorted(set(DEFAULT_BACKBONE.values())) if name == "auto" else [name]
    if not all(isinstance(n, str) and n in BACKBONES for n in names):
        return  # an unknown backbone name is reported when the method builds it
    fields = set().union(*({f.name for f in dataclasses.fields(BACKBONES.get(n))} for n in names))
    for key in value:
        if key not in fields:
            raise ConfigError(f"{where}: backbone {'/'.join(names)} has no parameter {key!r}; "
                              f"valid: {', '.join(sorted(fields))}{did_you_mean(key, fields)}")


# field name → check(owner params, field value, where) for dict fields keyed by another registry
DICT_FIELD_CHECKS: dict[str, Callable[[dict, dict, str], None]] = {"backbone_params": _check_backbone_params}
