"""Plugin registries for query strategies, transfer methods and datasets.

A registry maps a name to a plugin object (a function or a frozen-dataclass
class).  Plugins arrive three ways, all ending in the same table:

* the ``@REGISTRY.register`` decorator (name = the function's name);
* the entry-point group ``altbench.<kind>`` of any installed distribution
  (altbench declares its own built-ins there too, see ``pyproject.toml``);
* a dotted ``package.module:attribute`` reference given in place of a name.

Two different objects under one name is an error, wherever they came from.
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import importlib
import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class PluginError(LookupError):
    """An unknown, duplicate or unloadable plugin; the message is one line."""


class Registry:
    """Name → plugin table for one entry-point group (``altbench.<kind>``)."""

    def __init__(self, kind: str):
        self.kind = kind  # "strategies", "methods" or "datasets"
        self.singular = kind[:-3] + "y" if kind.endswith("ies") else kind.rstrip("s")
        self.group = f"altbench.{kind}"
        self._items: dict[str, Any] = {}
        self._entry_points: dict[str, metadata.EntryPoint] | None = None

    # -- registration -------------------------------------------------
    def register(self, obj: T | None = None, *, name: str | None = None) -> T | Callable[[T], T]:
        """Decorator: ``@R.register`` or ``@R.register(name="lp-ft")``."""

        def add(o: T) -> T:
            self.add(name or o.__name__, o)
            return o

        return add if obj is None else add(obj)

    def add(self, name: str, obj: Any) -> None:
        """Register ``obj`` under ``name``; the same object twice is a no-op."""
        old = self._items.get(name)
        if old is not None and old is not obj:
            raise PluginError(
                f"duplicate {self.singular} name {name!r}: {_where(old)} and {_where(obj)}; "
                "rename one of them"
            )
        self._items[name] = obj

    # -- discovery -----------------------------------------------------
    def _eps(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            found: dict[str, metadata.EntryPoint] = {}
            for ep in metadata.entry_points(group=self.group):
                prev = found.get(ep.name)
                if prev is not None and prev.value != ep.value:
                    raise PluginError(
                        f"duplicate {self.singular} name {ep.name!r} in entry-point group "
                        f"{self.group}: {prev.value} and {ep.value}; uninstall or rename one"
                    )
                found[ep.name] = ep
            self._entry_points = found
        return self._entry_points

    def refresh(self) -> None:
        """Forget cached entry points (after installing a plugin at run time)."""
        self._entry_points = None

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a shell-style wildcard, e.g. ``"b*"``."""
        every = set(self._items) | set(self._eps())
        return sorted(n for n in every if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: str) -> bool:
        return ":" in name or name in self._items or name in self._eps()

    def get(self, name: str) -> Any:
        """The plugin called ``name`` (or a ``module:attr`` reference)."""
        if name in self._items:
            return self._items[name]
        if ":" in name:
            obj = _import_ref(name, self.singular)
            self.add(name, obj)
            return obj
        ep = self._eps().get(name)
        if ep is None:
            raise PluginError(self.unknown_message(name))
        try:
            obj = ep.load()
        except Exception as exc:  # broken third-party plugin: say which one
            raise PluginError(
                f"{self.singular} {name!r} ({ep.value}) failed to import: {_one_line(exc)}; "
                "fix or uninstall the package that declares it"
            ) from exc
        self.add(name, obj)  # a decorated built-in has already added itself
        return obj

    def summary(self, name: str) -> str:
        """First line of the plugin's docstring.  A plugin not imported yet is read from its
        module's source, unimported (``altbench list`` then imports no torch, scikit-learn, ...);
        one whose source does not tell (no literal docstring) is imported."""
        ep = None if name in self._items else self._eps().get(name)
        doc = _source_docstring(ep.value) if ep is not None else None
        if doc is None:
            doc = getattr(self.get(name), "__doc__", None)
        lines = (doc or "").strip().splitlines()
        return lines[0] if lines else ""

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        return (
            f"unknown {self.singular} {name!r}; {hint}"
            f"run `altbench list {self.kind}` to see all, or pass a module:function reference"
        )

    def load_all(self) -> dict[str, Any]:
        """Every plugin, imported (used by conformance tests and listings)."""
        return {n: self.get(n) for n in self.names()}


def _import_ref(ref: str, kind: str) -> Any:
    module, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise PluginError(f"cannot load {kind} reference {ref!r}: {exc}; check the module is importable") from exc
    except Exception as exc:  # the module exists but raised while importing
        raise PluginError(f"importing module {module!r} failed: {_one_line(exc)}; fix the module or the name") from exc
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise PluginError(f"cannot load {kind} reference {ref!r}: {exc}; check the name") from exc
    return obj


def _source_docstring(ref: str) -> str | None:
    """The docstring of top-level ``def``/``class`` ``attr`` in ``module:attr``'s source, read
    without importing the module; None when the source does not say (then import it)."""
    module, _, attr = ref.partition(":")
    try:
        spec = importlib.util.find_spec(module)
        tree = ast.parse(Path(spec.origin).read_bytes()) if spec and spec.origin else None
    except Exception:  # no such module, no source, a syntax error: importing it reports it
        return None
    defs = [n for n in getattr(tree, "body", ()) if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            and n.name == attr]
    return ast.get_docstring(defs[-1]) if defs else None


def _one_line(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero`` (first line of the message only)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


STRATEGIES = Registry("strategies")
METHODS = Registry("methods")
DATASETS = Registry("datasets")
REGISTRIES = {r.kind: r for r in (STRATEGIES, METHODS, DATASETS)}
