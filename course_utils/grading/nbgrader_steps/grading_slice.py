"""The grading slice: the cells a notebook's answers and tests need, found by reading the code.

Most teaching cells train demo models, draw plots and print tables that no answer and no
test reads. At grading time only these cells run in the learner's kernel:

- the setup cell (the first code cell), every answer and test cell, and every cell the
  learner added or changed (its source is not one of the instructor's teaching cells): the
  learner's own code always runs, so skipping never hides what it does;
- cells whose effects cannot be read from their code (IPython magics, shell escapes,
  ``globals()``, ``exec``, ``eval``, ``from m import *``...) and, since they may read
  anything, every cell before them;
- the instructor's teaching cells that bind a name a kept cell reads (the most recent binding
  before the read), or change it in place (``model.fit(...)``, ``d[k] = v``) in between,
  transitively.

An instructor forces a teaching cell in or out with the tag ``grading:keep`` or
``grading:skip`` on the source notebook's cell (the release never shows these tags).

Never a wrong zero: if a cell then fails with an error that a skipped cell could explain
(:func:`explained_by_skipped`: a ``NameError`` for a name a skipped cell binds, or that a
function sets as ``global``; another error that mentions such a name), the notebook is graded
again in full (:class:`course_utils.grading.nbgrader_steps.execute.GradingExecute`).

Example:
    >>> cells = [
    ...     {"cell_type": "code", "source": "import numpy as np", "metadata": {}},
    ...     {"cell_type": "code", "source": "data = np.arange(5)\\nslow = train()", "metadata": {}},
    ...     {"cell_type": "code", "source": "plot(slow)", "metadata": {}},
    ...     {"cell_type": "code", "source": "def mean(x):\\n    return x.mean()",
    ...      "metadata": {"nbgrader": {"solution": True, "grade_id": "mean"}}},
    ...     {"cell_type": "code", "source": "assert mean(data) == 2",
    ...      "metadata": {"nbgrader": {"grade": True, "grade_id": "mean_tests", "points": 1}}},
    ... ]
    >>> [step.index for step in plan(cells, teaching=[c["source"] for c in cells[:3]]) if not step.keep]
    [2]
"""

from __future__ import annotations

import ast
import re
import symtable
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from course_utils.grading.nbgrader_steps.cells import grade_id, is_answer_cell, is_test_cell

KEEP_TAG = "grading:keep"
SKIP_TAG = "grading:skip"
# Errors a skipped cell can cause in a kept one: a name, an attribute or a key it would have made.
SKIPPABLE_ERRORS = ("NameError", "AttributeError", "KeyError", "UnboundLocalError")
_MISSING_NAME = re.compile(r"name '([A-Za-z_]\w*)' is not defined")
# Code whose effects on names cannot be read from the code.
_OPAQUE = re.compile(
    r"^\s*[%!]|\bget_ipython\b|\bglobals\s*\(|\blocals\s*\(|\bvars\s*\(|\bexec\s*\(|\beval\s*\("
    r"|__builtins__|\bsys\.modules\b|\bsetattr\s*\(|\bdelattr\s*\(|__import__|\bimportlib\b"
    r"|^\s*from\s+[\w.]+\s+import\s+\*",
    re.M,
)


@dataclass
class CellNames:
    """What one cell does with names: what it reads, binds for sure, may bind, changes in place."""

    reads: set[str] = field(default_factory=set)
    binds: set[str] = field(default_factory=set)
    maybe_binds: set[str] = field(default_factory=set)
    changes: set[str] = field(default_factory=set)
    deferred: set[str] = field(default_factory=set)  # what its functions read when called
    imports: set[str] = field(default_factory=set)
    opaque: bool = False


@dataclass
class Step:
    """One code cell of a notebook and whether the slice runs it, with the reason."""

    index: int
    keep: bool
    why: str
    first_line: str


def _root(node: ast.AST) -> str | None:
    """``model`` for ``model.layers[0].kernel``; None if the chain does not start with a name."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


# Methods that only read their object (NumPy, pandas, Keras, dicts, strings): calling one is
# not a change in place. Any other method call may change its object.
_READ_ONLY_METHODS = frozenset(
    "all any argmax argmin astype copy count count_params describe evaluate flatten format get "
    "get_config get_layer get_weights head index items join keys max mean min numpy predict "
    "ravel reshape round split squeeze startswith std sum summary tail to_numpy tolist "
    "transpose value_counts values".split()
)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _module_nodes(node: ast.AST) -> Iterable[ast.AST]:
    """The nodes of ``node`` evaluated in the module's scope (not inside a def, class or lambda
    body; a decorator, a default value and a base class are)."""
    yield node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        children: list[ast.AST] = [*node.decorator_list, *node.args.defaults]
        children += [d for d in node.args.kw_defaults if d is not None]
    elif isinstance(node, ast.ClassDef):
        children = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    elif isinstance(node, ast.Lambda):
        children = [*node.args.defaults]
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _module_nodes(child)


def _stored(node: ast.AST) -> set[str]:
    """Names a statement binds in the module's scope (comprehension variables excluded)."""
    names: set[str] = set()
    hidden: set[str] = set()
    for sub in _module_nodes(node):
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*")
        elif isinstance(sub, _COMPREHENSIONS):
            for generator in sub.generators:
                hidden |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
        elif isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
            names.add(sub.target.id)
    return names - hidden


def _loaded(node: ast.AST) -> set[str]:
    """Names a statement reads in the module's scope (comprehension variables excluded)."""
    hidden: set[str] = set()
    loads: set[str] = set()
    for sub in _module_nodes(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            loads.add(sub.id)
        elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            loads.add(sub.target.id)  # x += 1 reads x
        elif isinstance(sub, _COMPREHENSIONS):
            for generator in sub.generators:
                hidden |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
    return loads - hidden


def _changed(node: ast.AST) -> set[str]:
    """Names whose object a statement may change in place: ``x.m(...)``, ``x.a = ...``,
    ``x[k] = ...``, ``del x[k]``, ``x.a += ...`` (module scope)."""
    names: set[str] = set()
    for sub in _module_nodes(node):
        targets: list[ast.AST] = []
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            if sub.func.attr not in _READ_ONLY_METHODS:
                targets = [sub.func.value]
        elif isinstance(sub, ast.Assign):
            targets = [t for t in sub.targets if isinstance(t, (ast.Attribute, ast.Subscript))]
        elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)) and not isinstance(
            sub.target, ast.Name
        ):
            targets = [sub.target]
        elif isinstance(sub, ast.Delete):
            targets = [t for t in sub.targets if not isinstance(t, ast.Name)]
        for target in targets:
            root = _root(target)
            if root:
                names.add(root)
    return names


def _walk_statements(body: Sequence[ast.stmt], bound: set[str], names: CellNames, top: bool):
    """Read ``body`` in execution order: a name read before this cell binds it is a read."""
    for statement in body:
        inner: list[list[ast.stmt]] = []
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            names.reads |= _loaded(statement.iter) - bound
            targets = _stored(statement.target)
            names.maybe_binds |= targets
            bound = bound | targets
            inner = [statement.body, statement.orelse]
        elif isinstance(statement, (ast.While, ast.If)):
            names.reads |= _loaded(statement.test) - bound
            inner = [statement.body, statement.orelse]
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                names.reads |= _loaded(item.context_expr) - bound
                if item.optional_vars is not None:
                    targets = _stored(item.optional_vars)
                    (names.binds if top else names.maybe_binds).update(targets)
                    bound = bound | targets
            inner = [statement.body]
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            inner = [statement.body, statement.orelse, statement.finalbody]  # type: ignore[attr-defined]
            inner += [handler.body for handler in statement.handlers]  # type: ignore[attr-defined]
        else:
            names.reads |= _loaded(statement) - bound
            stored = _stored(statement)
            (names.binds if top else names.maybe_binds).update(stored)
            bound = bound | stored
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                names.imports |= stored
        names.changes |= _changed(statement) if not inner else set()
        for block in inner:
            _walk_statements(block, set(bound), names, top=False)
            names.changes |= {n for s in block for n in _changed(s)}


def _scope_globals(table: symtable.SymbolTable, names: CellNames) -> None:
    """Names the cell's functions and classes read or assign as globals (when called)."""
    for child in table.get_children():
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                names.deferred.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                names.maybe_binds.add(symbol.get_name())
        _scope_globals(child, names)


def cell_names(source: str, test: bool = False) -> CellNames:
    """What a code cell reads and binds, or ``opaque`` if its effects cannot be read from it.

    ``reads`` are read as the cell runs; ``deferred`` when a function it defines is called.

    A ``test`` cell (run by the judge, never in the learner's kernel) is never opaque: only
    the names it reads matter.

    Example:
        >>> n = cell_names("x = load()\\nmodel.fit(x)\\ndef f():\\n    return y")
        >>> sorted(n.reads), sorted(n.deferred), sorted(n.binds), sorted(n.changes)
        (['load', 'model'], ['y'], ['f', 'x'], ['model'])
    """
    names = CellNames()
    if not test and _OPAQUE.search(source):
        names.opaque = True
        return names
    try:
        tree = ast.parse(source)
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        names.opaque = True
        return names
    _walk_statements(tree.body, set(), names, top=True)
    _scope_globals(table, names)
    names.reads -= names.binds - _loaded_before_bound(tree)
    names.maybe_binds -= names.binds
    return names


def _loaded_before_bound(tree: ast.Module) -> set[str]:
    """Names the module reads before it binds them (kept as reads by :func:`cell_names`)."""
    reads: set[str] = set()
    bound: set[str] = set()
    for statement in tree.body:
        reads |= _loaded(statement) - bound
        bound |= _stored(statement)
    return reads


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return lines[0][:70] if lines else ""


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def plan(
    cells: Sequence[Any],
    teaching: Iterable[str] | None = None,
    tags: dict[str, list[str]] | None = None,
) -> list[Step]:
    """Which code cells of ``cells`` (a submitted notebook's) the grading slice runs, and why.

    ``teaching`` are the sources of the instructor's teaching cells: only those may be
    skipped (any other cell is the learner's, and runs). ``tags`` maps a teaching cell's
    source to its tags in the instructor's notebook (``grading:keep``, ``grading:skip``).
    ``teaching=None`` treats every non-nbgrader cell as the instructor's, with its own tags
    (for the instructor's own notebooks); otherwise the submitted cells' own tags are ignored:
    a learner who tags an instructor's cell does not decide what runs.
    """
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    known = None if teaching is None else {s.strip() for s in teaching}
    tags = {k.strip(): v for k, v in (tags or {}).items()}
    steps: dict[int, Step] = {}
    analysed: dict[int, CellNames] = {}
    for position, (index, cell) in enumerate(code):
        source = cell.get("source", "")
        first = _first_line(source)
        names = analysed[index] = cell_names(source, test=is_test_cell(cell))
        cell_tags = tags.get(source.strip(), []) if known is not None else _tags(cell)
        if position == 0:
            steps[index] = Step(index, True, "setup cell", first)
        elif is_test_cell(cell):
            steps[index] = Step(index, True, f"test cell {grade_id(cell)}", first)
        elif is_answer_cell(cell) or cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            steps[index] = Step(index, True, f"answer cell {grade_id(cell)}", first)
        elif known is not None and source.strip() not in known:
            steps[index] = Step(index, True, "the learner's own code (added or changed)", first)
        elif KEEP_TAG in cell_tags:
            steps[index] = Step(index, True, f"tagged {KEEP_TAG}", first)
        elif SKIP_TAG in cell_tags:
            steps[index] = Step(index, False, f"tagged {SKIP_TAG}", first)
        elif names.opaque:
            steps[index] = Step(index, True, "effects not readable from the code", first)
    # every cell before a kept opaque cell runs: it may read anything
    last_opaque = max((i for i, s in steps.items() if s.keep and analysed[i].opaque), default=-1)
    imported = set().union(*(n.imports for n in analysed.values())) if analysed else set()
    # A function reads its globals when it is called, mostly by the test cells at the end:
    # what the kept cells' functions read is needed from the end of the notebook, until
    # no newly kept cell defines a function that reads more.
    deferred: set[str] = set()
    while True:
        walked = _walk_back(code, steps, analysed, last_opaque, imported, deferred)
        more = set().union(*(analysed[i].deferred for i, step in walked.items() if step.keep))
        if more <= deferred:
            return [walked[i] for i, _ in code]
        deferred |= more


def _walk_back(
    code: Sequence[tuple[int, Any]],
    forced: dict[int, Step],
    analysed: dict[int, CellNames],
    last_opaque: int,
    imported: set[str],
    deferred: set[str],
) -> dict[int, Step]:
    """One pass from the last cell to the first: a cell runs if it binds or changes a name
    that a later running cell reads (or that a function reads when called: ``deferred``)."""
    steps = dict(forced)
    needed = dict.fromkeys(deferred, "a function when it is called")  # name -> who reads it
    for index, cell in reversed(code):
        names = analysed[index]
        step = steps.get(index)
        if step is None:
            if index < last_opaque:
                step = Step(index, True, "before a cell whose effects are not readable", "")
            else:
                used = sorted((names.binds | names.maybe_binds) & needed.keys())
                used += sorted((names.changes - imported) & needed.keys() - set(used))
                if used:
                    what = ", ".join(used[:4]) + (" ..." if len(used) > 4 else "")
                    step = Step(index, True, f"{what} (read by {needed[used[0]]})", "")
                else:
                    step = Step(index, False, "nothing kept reads what it makes", "")
            step.first_line = _first_line(cell.get("source", ""))
            steps[index] = step
        if step.keep:
            for name in names.binds:
                needed.pop(name, None)
            for name in names.reads:
                needed[name] = f"cell {index}"
    return steps


def slice_of(nb: Any, source: Any | None) -> list[Step]:
    """The slice of a submitted notebook ``nb``, given the instructor's ``source`` notebook
    (None: every ordinary cell of ``nb`` counts as the instructor's)."""
    if source is None:
        return plan(nb.cells)
    teaching = [
        c
        for c in source.cells
        if c.cell_type == "code" and not c.get("metadata", {}).get("nbgrader")
    ]
    return plan(
        nb.cells,
        teaching=[c.source for c in teaching],
        tags={c.source: _tags(c) for c in teaching if _tags(c)},
    )


def skipped_names(cells: Sequence[Any], skipped: Iterable[int]) -> set[str]:
    """Every name the skipped cells bind or change, and the keys and attributes they set."""
    names: set[str] = set()
    for index in skipped:
        source = cells[index].get("source", "")
        found = cell_names(source)
        names |= found.binds | found.maybe_binds | found.changes
        names |= {key for key in _assigned_keys(source) if key.isidentifier()}
    return names


def _assigned_keys(source: str) -> set[str]:
    """String keys and attribute names a cell assigns (``d["k"] = ...``, ``x.k = ...``)."""
    keys: set[str] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return keys
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            keys.add(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                keys.add(node.slice.value)
    return keys


def explained_by_skipped(outputs: Iterable[Any], names: set[str]) -> str | None:
    """The error of ``outputs`` that a skipped cell could explain (it names one of ``names``),
    as ``"NameError: ..."``, or None.

    A ``NameError`` is about one name only: it is explained if that name is one of ``names``.
    So an answer that never finished (stopped by its timeout) and left its function undefined
    is not sent back to a full run, even if its test's traceback mentions a skipped cell's
    name. Other errors are explained if their message or traceback mentions one of ``names``.

    Example:
        >>> error = {"output_type": "error", "ename": "NameError", "traceback": ["model"],
        ...          "evalue": "name 'answer' is not defined"}
        >>> explained_by_skipped([error], {"model"}) is None
        True
        >>> explained_by_skipped([error], {"answer"})
        "NameError: name 'answer' is not defined"
    """
    for output in outputs:
        if output.get("output_type") != "error" or output.get("ename") not in SKIPPABLE_ERRORS:
            continue
        evalue = str(output.get("evalue", ""))
        missing = _MISSING_NAME.search(evalue) if output.get("ename") == "NameError" else None
        if missing:
            if missing.group(1) in names:
                return f"{output['ename']}: {evalue}"[:200]
            continue
        text = f"{evalue} " + " ".join(output.get("traceback", []))
        words = set(re.findall(r"[A-Za-z_]\w*", re.sub(r"\x1b\[[0-9;]*m", "", text)))
        if words & names:
            return f"{output['ename']}: {evalue}"[:200]
    return None


def globals_set_by_functions(cells: Sequence[Any]) -> set[str]:
    """Names that functions defined in the notebook assign as ``global``: they are bound
    wherever the function is called, which may be a skipped cell."""
    names: set[str] = set()
    for cell in cells:
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        try:
            table = symtable.symtable(cell.get("source", ""), "<cell>", "exec")
        except (SyntaxError, ValueError):
            continue
        scopes = list(table.get_children())
        while scopes:
            scope = scopes.pop()
            scopes.extend(scope.get_children())
            names.update(
                symbol.get_name()
                for symbol in scope.get_symbols()
                if symbol.is_declared_global() and symbol.is_assigned()
            )
    return names


def first_explained_error(cells: Sequence[Any], skipped: set[int]) -> str | None:
    """The first error of a cell that ran which a skipped cell could explain, as
    ``"<grade_id or cell N>: NameError: ..."``, or None: then the slice's result stands."""
    if not skipped:
        return None
    names = skipped_names(cells, skipped) | globals_set_by_functions(cells)
    for index, cell in enumerate(cells):
        if index not in skipped and cell.get("cell_type") == "code":
            why = explained_by_skipped(cell.get("outputs", []), names)
            if why:
                return f"{grade_id(cell) or f'cell {index}'}: {why}"
    return None


def describe(steps: Sequence[Step]) -> str:
    """The slice as a table an instructor can read: every code cell, run or skipped, and why."""
    lines = []
    for step in steps:
        mark = "run " if step.keep else "skip"
        lines.append(f"{step.index:>4}  {mark}  {step.first_line:<70}  {step.why}")
    kept = sum(step.keep for step in steps)
    lines.append(f"{kept} of {len(steps)} code cells run; {len(steps) - kept} skipped")
    return "\n".join(lines)
