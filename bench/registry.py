"""Plugin registries: one :class:`Registry` class for every kind of named thing.

A registry maps a name to a plugin object (a function or a frozen-dataclass
class).  Plugins arrive three ways, all ending in the same table:

* the ``@REGISTRY.register`` decorator (name = the function's name).  This is
  how built-ins register, once: :mod:`altbench.builtins` names their modules,
  and the registry reads the decorated names from the source (nothing is
  imported until a plugin is used);
* the entry-point group ``altbench.<kind>`` of any installed distribution
  (third-party plugins);
* a dotted ``package.module:attribute`` reference given in place of a name.

Two different objects under one name is an error, wherever they came from.
Registries built with ``plugins=False`` (dataset cards, reproductions) take
only what the code registers.  A registry reads like a read-only mapping too
(``R[name]``, ``in``, ``items()``).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from importlib import metadata
from typing import Any, Callable, Iterator, TypeVar, overload

T = TypeVar("T")


class PluginError(LookupError):
    """An unknown, duplicate or unloadable plugin; the message is one line."""


class Registry:
    """Name → plugin table for one plugin kind (entry-point group ``altbench.<kind>``)."""

    def __init__(self, kind: str, *, singular: str | None = None, plugins: bool = True,
                 list_command: str | None = None):
        self.kind = kind  # "strategies", "methods", "datasets", "backbones", ...
        self.singular = singular or (kind[:-3] + "y" if kind.endswith("ies") else kind.rstrip("s"))
        self.group = f"altbench.{kind}" if plugins else None  # None: no entry points, no module:attr
        self.list_command = list_command or f"altbench list {kind}"  # named in unknown-name errors
        self._items: dict[str, Any] = {}
        self._entry_points: dict[str, metadata.EntryPoint] | None = None
        self._builtins: dict[str, str] | None = None  # name → "module:attr", read from the source
        self._dynamic: list[str] = []  # built-in modules still to import to learn their names

    # -- registration -------------------------------------------------
    @overload
    def register(self, obj: T, *, name: str | None = None) -> T: ...

    @overload
    def register(self, obj: None = None, *, name: str | None = None) -> Callable[[T], T]: ...

    def register(self, obj: Any = None, *, name: str | None = None) -> Any:
        """Decorator: ``@R.register`` or ``@R.register(name="lp-ft")``."""

        def add(o: T) -> T:
            self.add(name or getattr(o, "__name__"), o)
            return o

        return add if obj is None else add(obj)

    def add_named(self, obj: T) -> T:
        """Register ``obj`` under its ``__name__`` and return it (a typed one-argument decorator)."""
        return self.register(obj)

    def add(self, name: str, obj: Any) -> None:
        """Register ``obj`` under ``name``; the same object twice is a no-op."""
        old = self._items.get(name)
        if old is not None and old is not obj and not _equal(old, obj):
            raise PluginError(
                f"duplicate {self.singular} name {name!r}: {_where(old)} and {_where(obj)}; "
                "rename one of them"
            )
        self._items[name] = obj

    # -- discovery -----------------------------------------------------
    def _builtin_refs(self) -> dict[str, str]:
        """Built-in names → ``module:attr``, read from :mod:`altbench.builtins`' modules unimported.
        A module whose registrations the source does not spell out (a loop, a helper) is left for
        :meth:`_load_dynamic`."""
        if self._builtins is None:
            from altbench import builtins, plugin_source

            refs: dict[str, str] = {}
            self._dynamic = []
            for module in builtins.modules(self.kind) if self.group else ():
                found = plugin_source.registrations(module, self.kind.upper())
                if found is None:
                    self._dynamic.append(module)
                else:
                    refs.update({n: f"{module}:{attr}" for n, attr in found.items()})
            self._builtins = refs
        return self._builtins

    def _load_dynamic(self) -> None:
        """Import the built-in modules that register in ways the source does not spell out."""
        self._builtin_refs()
        while self._dynamic:
            importlib.import_module(self._dynamic.pop(0))  # registers its plugins itself

    def _eps(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            found: dict[str, metadata.EntryPoint] = {}
            builtin = self._builtin_refs() if self.group else {}
            for ep in metadata.entry_points(group=self.group) if self.group else ():
                prev = found.get(ep.name)
                if builtin.get(ep.name) == ep.value:  # a stale declaration of a built-in
                    continue
                if prev is not None and prev.value != ep.value or ep.name in builtin:
                    other = prev.value if prev is not None else f"altbench's built-in {builtin[ep.name]}"
                    raise PluginError(
                        f"duplicate {self.singular} name {ep.name!r} in entry-point group "
                        f"{self.group}: {other} and {ep.value}; uninstall or rename one"
                    )
                found[ep.name] = ep
            self._entry_points = found
        return self._entry_points

    def refresh(self) -> None:
        """Forget cached entry points (after installing a plugin at run time)."""
        self._entry_points = None

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a shell-style wildcard, e.g. ``"b*"``."""
        self._load_dynamic()
        every = set(self._builtin_refs()) | set(self._eps()) | set(self._items)
        return sorted(n for n in every if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if (":" in name and self.group is not None) or name in self._items or \
                name in self._builtin_refs() or name in self._eps():
            return True
        self._load_dynamic()
        return name in self._items

    def get(self, name: str, *default: Any) -> Any:
        """The plugin called ``name`` (or a ``module:attr`` reference); ``default`` if given and
        there is none, else a one-line :class:`PluginError`."""
        if name in self._items:
            return self._items[name]
        if ":" in name and self.group is not None:
            obj = _import_ref(name, self.singular)
            self.add(name, obj)
            return obj
        ref = self._builtin_refs().get(name)
        if ref is not None:
            return self._load(name, ref, "fix the module (a built-in plugin)")
        ep = self._eps().get(name)
        if ep is not None:
            return self._load(name, ep.value, "fix or uninstall the package that declares it")
        self._load_dynamic()
        if name in self._items:
            return self._items[name]
        if default:
            return default[0]
        raise PluginError(self.unknown_message(name))

    def _load(self, name: str, ref: str, fix: str) -> Any:
        """Import ``module:attr`` (its decorator may register it) and register it under ``name``."""
        try:
            obj = _import_ref(ref, self.singular, strict=True)
        except Exception as exc:  # broken plugin module: say which one
            raise PluginError(f"{self.singular} {name!r} ({ref}) failed to import: {_one_line(exc)}; {fix}") \
                from exc
        self.add(name, self._items.get(name, obj))  # a decorated plugin has already added itself
        return self._items[name]

    def summary(self, name: str) -> str:
        """The first paragraph of the plugin's docstring on one line (never cut mid-sentence).
        A plugin not imported yet is read from its module's source, unimported (``altbench list``
        then imports no torch, scikit-learn, ...); one whose source does not tell is imported."""
        return first_paragraph(self.doc(name))

    def doc(self, name: str) -> str:
        """The plugin's whole docstring, read from the source when it is not imported yet."""
        from altbench import plugin_source

        ref = None
        if name not in self._items:
            ep = self._eps().get(name) if name not in self._builtin_refs() else None
            ref = self._builtin_refs().get(name) or (ep.value if ep is not None else None)
        doc = plugin_source.docstring(ref) if ref is not None else None
        if doc is None:
            import inspect

            doc = inspect.getdoc(self.get(name))
        return (doc or "").strip()

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        ref = ", or pass a module:function reference" if self.group else ""
        return f"unknown {self.singular} {name!r}; {hint}run `{self.list_command}` to see all{ref}"

    def load_all(self) -> dict[str, Any]:
        """Every plugin, imported (used by conformance tests and listings)."""
        return {n: self.get(n) for n in self.names()}

    # -- read-only mapping ---------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def keys(self) -> list[str]:
        return self.names()

    def values(self) -> list[Any]:
        return list(self.load_all().values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self.load_all().items())

    def pop(self, name: str, *default: Any) -> Any:
        """Unregister ``name`` (tests); a built-in comes back on next use."""
        return self._items.pop(name, *default)


def first_paragraph(doc: str) -> str:
    """The docstring's first paragraph on one line (a summary never cut mid-sentence)."""
    para = (doc or "").strip().split("\n\n", 1)[0]
    return " ".join(para.split())


def _import_ref(ref: str, kind: str, strict: bool = False) -> Any:
    """``module:attr`` imported; ``strict`` lets the module's own exceptions through."""
    module, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if strict:
            raise
        raise PluginError(f"cannot load {kind} reference {ref!r}: {exc}; check the module is importable") from exc
    except Exception as exc:  # the module exists but raised while importing
        if strict:
            raise
        raise PluginError(f"importing module {module!r} failed: {_one_line(exc)}; fix the module or the name") from exc
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise PluginError(f"cannot load {kind} reference {ref!r}: {exc}; check the name") from exc
    return obj


def _one_line(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero`` (first line of the message only)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def _equal(a: Any, b: Any) -> bool:
    """Equal values (two equal dataset cards) count as one registration."""
    try:
        return bool(a == b)
    except Exception:  # arrays and the like: only the same object is the same
        return False


STRATEGIES = Registry("strategies")
METHODS = Registry("methods")
DATASETS = Registry("datasets")
BACKBONES = Registry("backbones")
COLD_START = Registry("cold_start", singular="cold-start selector")  # budget.initial_strategy (altbench.coldstart)
STOPPING = Registry("stopping", singular="stopping criterion")  # evaluated post hoc (altbench.stopping)
METRICS = Registry("metrics")  # per-round test metrics (altbench.metric_registry)
EXECUTORS = Registry("executors")  # where runs execute (altbench.executors); a Ray or SLURM executor is a plugin
REGISTRIES = {r.kind: r for r in (STRATEGIES, METHODS, DATASETS, BACKBONES, COLD_START, STOPPING, METRICS,
                                          EXECUTORS)}  # plugin kinds: `altbench list KIND`
