"""What a plugin's source says, read without importing it (``altbench list`` stays light).

* :func:`registrations`: the names a module registers with ``@KIND.register``
  decorators, or None when some registration is not a plain decorator (then the
  registry imports the module and lets it register itself);
* :func:`docstring`: the docstring of ``module:attr`` from the source;
* :func:`field_comments`: the meaning of each dataclass field, from its trailing
  ``# comment``, the comment lines above it or an attribute docstring below it.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import importlib.util
import inspect
import io
import sys
import textwrap
import tokenize
from pathlib import Path
from typing import Any

REGISTER_CALLS = ("register", "add")  # registry methods that register a plugin


def _spec(module: str) -> Any:
    """The module's import spec, found without running it or any parent not yet imported."""
    parent = module.rpartition(".")[0]
    if not parent or parent in sys.modules:
        return importlib.util.find_spec(module)
    pspec = _spec(parent)
    where = getattr(pspec, "submodule_search_locations", None)
    return importlib.machinery.PathFinder.find_spec(module, list(where)) if where else None


@functools.cache
def module_tree(module: str) -> ast.Module | None:
    """The parsed source of ``module``, or None (no such module, no source, a syntax error)."""
    try:
        spec = _spec(module)
        origin = getattr(spec, "origin", None)
        return ast.parse(Path(origin).read_bytes()) if origin and origin.endswith(".py") else None
    except Exception:  # importing the module reports the real error
        return None


def _registered_name(node: ast.AST, var: str, default: str) -> str | None:
    """The name a decorator ``@VAR.register`` / ``@VAR.register(name="x")`` gives, else None."""
    call = node if isinstance(node, ast.Call) else None
    target = call.func if call else node
    if not (isinstance(target, ast.Attribute) and target.attr == "register"
            and isinstance(target.value, ast.Name) and target.value.id == var):
        return None
    if call is None:
        return default
    if call.args or any(k.arg != "name" for k in call.keywords):
        return None
    name = call.keywords[0].value if call.keywords else None
    if name is None:
        return default
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None


def registrations(module: str, var: str) -> dict[str, str] | None:
    """``{registry name: attribute}`` of the top-level plugins ``module`` decorates with
    ``@VAR.register``; None unless every use of ``VAR.register``/``VAR.add`` there is such a
    decorator (a loop or helper that registers: only importing the module tells)."""
    tree = module_tree(module)
    if tree is None:
        return None
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for dec in node.decorator_list:
                name = _registered_name(dec, var, node.name)
                if name is not None:
                    found[name] = node.name
    uses = sum(isinstance(n, ast.Attribute) and n.attr in REGISTER_CALLS and isinstance(n.value, ast.Name)
               and n.value.id == var for n in ast.walk(tree))
    return found if found and uses == len(found) else None


def docstring(ref: str) -> str | None:
    """The docstring of top-level ``def``/``class`` ``attr`` in ``module:attr``'s source;
    None when the source does not say (then import it)."""
    module, _, attr = ref.partition(":")
    tree = module_tree(module)
    defs = [n for n in getattr(tree, "body", ()) if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            and n.name == attr]
    return ast.get_docstring(defs[-1]) if defs else None


def field_comments(cls: type) -> dict[str, str]:
    """``{field: meaning}`` for the annotated fields of class ``cls`` from its source.

    The meaning is the field's trailing ``# comment``, else the comment lines right above it,
    else a string literal right below it (an attribute docstring).  Comment lines between two
    fields that both have a trailing comment continue the first one's.  Fields the source does
    not explain are left out.
    """
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # built in a REPL or generated: no source
        return {}
    cls_node = next((n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)), None)
    if cls_node is None:
        return {}
    trailing, full = _comments(source)
    body = cls_node.body
    idx = [i for i, n in enumerate(body) if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
    own = {i: [trailing[r] for r in range(body[i].lineno, body[i].end_lineno + 1) if r in trailing][:1]
           for i in idx}
    above: dict[int, list[str]] = {i: [] for i in idx}
    for k, i in enumerate(idx):
        start = body[i - 1].end_lineno + 1 if i else cls_node.lineno + 1
        gap = [full[r] for r in range(start, body[i].lineno) if r in full]
        if k and own[idx[k - 1]] and own[i] and idx[k - 1] == i - 1:
            own[idx[k - 1]] += gap  # continues the previous field's trailing comment
        else:
            above[i] = gap
    last = idx[-1] if idx else None
    if last is not None and own[last]:  # comment lines after the last field continue it
        r = body[last].end_lineno + 1
        while r in full:
            own[last].append(full[r])
            r += 1
    out: dict[str, str] = {}
    for i in idx:
        text = " ".join(own[i] or above[i]) or _attribute_doc(body, i)
        if text:
            out[body[i].target.id] = " ".join(text.split())  # type: ignore[attr-defined]
    return out


def _attribute_doc(body: list[ast.stmt], i: int) -> str:
    """The string literal statement right after statement ``i`` (an attribute docstring), or ""."""
    nxt = body[i + 1] if i + 1 < len(body) else None
    if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
        return nxt.value.value
    return ""


def _comments(source: str) -> tuple[dict[int, str], dict[int, str]]:
    """Comments by line number: (after code on the line, alone on the line)."""
    trailing: dict[int, str] = {}
    full: dict[int, str] = {}
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            text = tok.string.lstrip("#").strip()
            (full if not lines[row - 1][:col].strip() else trailing)[row] = text
    return trailing, full
