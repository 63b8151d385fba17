"""Strict config input: one-line messages in plain words, each saying what to write.

* :class:`UniqueKeyLoader`: a YAML ``SafeLoader`` that rejects a mapping key
  given twice (plain PyYAML keeps the last one silently);
* :func:`unknown_key`: an unknown key named with its valid neighbours and a
  difflib did-you-mean;
* :func:`plain_error`: a pydantic error dict → words ("must be a positive
  integer"), never the library's internal type names;
* :func:`check_seeds`, :func:`check_path`: the values pydantic's types let
  through but the harness cannot use (seeds beyond int64, empty paths).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Iterable

import yaml

SEED_LIMIT = 2**63  # results files store seeds as int64
MAX_SEED_COUNT = 100_000  # `seeds: N` beyond this is a typo, not a grid
SEEDS_HINT = "write a count like `seeds: 5` or a list like `seeds: [0, 1, 2]`"


class ConfigError(ValueError):
    """A config problem; the message is one line saying what to fix."""


# ---------------------------------------------------------------- YAML
class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate mapping keys (naming both lines)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: SafeLoader itself reports it
                continue
            if first is not None:
                raise ConfigError(f"line {line}: key {key!r} is given twice (first on line {first}); "
                                  "keep one of them")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with duplicate keys refused (ConfigError naming the line)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


# ---------------------------------------------------------------- messages
def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (fuzzed inputs can be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(word: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), sorted(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(where: str, key: str, valid: Iterable[str], prefix: str = "") -> ConfigError:
    """``<where>: unknown key 'budget.totl'; valid: ...; did you mean 'budget.total'?``"""
    valid = sorted(valid)
    return ConfigError(f"{where}: unknown key {prefix + str(key)!r}; valid: {', '.join(valid) or 'none'}"
                       + did_you_mean(key, valid).replace("mean '", f"mean '{prefix}"))


def _gt(ctx: dict, value: Any) -> str:
    if ctx.get("gt") == 0:
        return "must be a positive integer" if isinstance(value, int) else "must be positive"
    return f"must be greater than {ctx.get('gt')}"


# pydantic error type → plain words (a callable gets the error's ctx and input)
PLAIN: dict[str, str | Callable[[dict, Any], str]] = {
    "int_type": "must be an integer", "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number", "float_type": "must be a number",
    "float_parsing": "must be a number", "finite_number": "must be a finite number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be a string", "list_type": "must be a list", "tuple_type": "must be a list",
    "set_type": "must be a list", "dict_type": "must be a mapping", "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping", "dataclass_type": "must be a mapping",
    "missing": "is required", "too_short": "must not be empty", "too_long": "has too many entries",
    "none_required": "must be null", "greater_than": _gt,
    "greater_than_equal": lambda c, v: f"must be at least {c.get('ge')}",
    "less_than": lambda c, v: f"must be less than {c.get('lt')}",
    "less_than_equal": lambda c, v: f"must be at most {c.get('le')}",
    "literal_error": lambda c, v: f"must be one of {c.get('expected')}",
    "string_pattern_mismatch": lambda c, v: "may hold only letters, digits, '_', '.' and '-'",
    "string_too_short": lambda c, v: "must not be empty",
}
_TYPE_TAG = re.compile(r"[\[\]\-]|^(str|int|float|bool|none|list|dict|tuple)$")


def error_path(loc: tuple) -> str:
    """Dotted path of a pydantic ``loc`` without the union-member type tags it may hold."""
    return ".".join(str(p) for p in loc if isinstance(p, int) or not _TYPE_TAG.search(str(p)))


def plain_error(err: dict) -> str:
    """``must be a positive integer (got -5)`` for one pydantic error dict."""
    words = PLAIN.get(err["type"], "has an invalid value")
    if callable(words):
        words = words(err.get("ctx") or {}, err.get("input"))
    return words if err["type"] == "missing" else f"{words} (got {short(err.get('input'))})"


# ---------------------------------------------------------------- values
def check_seeds(value: Any, where: str) -> list[int]:
    """The seeds of ``seeds: N`` (0..N-1) or ``seeds: [..]``, each 0 ≤ seed < 2**63."""
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if is_int(value):
        if not 1 <= value <= MAX_SEED_COUNT:
            raise ConfigError(f"{where}: seeds: a count must be between 1 and {MAX_SEED_COUNT} "
                              f"(got {short(value)}); {SEEDS_HINT}")
        return list(range(value))
    if not isinstance(value, list) or not value or not all(is_int(v) for v in value):
        raise ConfigError(f"{where}: seeds: must be a list of integers or a count (got {short(value)}); "
                          f"{SEEDS_HINT}")
    bad = next((v for v in value if not 0 <= v < SEED_LIMIT), None)
    if bad is not None:
        raise ConfigError(f"{where}: seeds: {bad} is out of range; each seed must be 0 ≤ seed < 2**63 "
                          f"(results store seeds as int64); {SEEDS_HINT}")
    return list(value)


def check_path(value: str, key: str, where: str) -> str:
    """``value`` if it is a usable directory path, else a ConfigError saying what to write."""
    hint = f"write a directory like `{key}: results/my_experiment` or leave the key out for the default"
    if not value.strip():
        raise ConfigError(f"{where}: {key} is empty or blank; {hint}")
    if value != value.strip():
        raise ConfigError(f"{where}: {key} {short(value)} starts or ends with whitespace; {hint}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ConfigError(f"{where}: {key} {short(value)} holds a control character (NUL, newline, ...); {hint}")
    if any(len(part.encode()) > 255 for part in value.split("/")):
        raise ConfigError(f"{where}: {key} has a path component over 255 bytes; {hint}")
    import os.path

    if os.path.exists(value) and not os.path.isdir(value):
        raise ConfigError(f"{where}: {key} {short(value)} is an existing file, not a directory; {hint}")
    return value
