"""The house rules of builder/: imports run one way, and nothing but the CLI imports the CLI.

Every module has a floor; a module may import modules on its own floor or below, never above. The
floors are the layers CONTRIBUTING.md draws: the template side (settings and names, environment,
families, resources) below the AWS side (stack, ops) and the command line on top. A new module needs
a floor here: that is the moment to decide where it belongs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "builder"

FLOORS: dict[str, int] = {
    # what everything may use
    "builder": 0, "builder.errors": 0, "builder.names": 0, "builder.report": 0, "builder.pricing": 0,
    "builder.settings": 0, "builder.template_values": 0, "builder.durations": 0,
    "builder.drift_noise": 0, "builder.setting_values": 0,
    # configuration: its sources (the config file, --set, the region chain), then EnvironmentConfig
    "builder.config_file": 1, "builder.set_overrides": 1, "builder.region_chain": 1,
    "builder.environment": 1,
    "builder.families": 2,
    "builder.resources": 3,
    # what reads or writes whole templates
    "builder.synth": 4, "builder.lint": 4, "builder.rules": 4, "builder.cost": 4, "builder.deployed_cost": 4,
    "builder.graph": 4, "builder.data_guard": 4, "builder.stack_policy": 4,
    # the AWS side
    "builder.stack": 5, "builder.emulator": 5,
    "builder.ops": 6,
    "builder.cli": 7,
    "builder.__main__": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor_of(module: str) -> int | None:
    """The floor of the longest FLOORS entry that is the module or a package holding it."""
    if module in FLOORS:
        return FLOORS[module]
    parts = module.split(".")
    for end in range(len(parts) - 1, 1, -1):  # packages that hold it, never `builder` itself
        floor = FLOORS.get(".".join(parts[:end]))
        if floor is not None:
            return floor
    return None


def imports_of(source: str) -> list[tuple[int, str]]:
    """(line, module) for every builder import in the source, at any depth (deferred imports count)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if floor_of(f"{node.module}.{alias.name}") != floor_of(node.module)]
    return [(line, name) for line, name in found if name == "builder" or name.startswith("builder.")]


# the emulator's DynamoDB plugin runs inside LocalStack's own venv: package data, not builder's code
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "localstack_dynamodb_moto" not in p.parts)


def test_every_module_has_a_floor():
    assert [module_name(p) for p in MODULES if floor_of(module_name(p)) is None] == []


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_run_down_never_up(path):
    assert upward_imports(path) == []


def test_nothing_but_the_cli_imports_the_cli():
    importers = [f"{p.relative_to(PACKAGE.parent)}:{line}" for p in MODULES
                 for line, name in imports_of(p.read_text(encoding="utf-8")) if name.startswith("builder.cli")
                 and not module_name(p).startswith(("builder.cli", "builder.__main__"))]
    assert importers == []


def upward_imports(path: Path) -> list[str]:
    here = floor_of(module_name(path)) or 0
    return [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
            for line, name in imports_of(path.read_text(encoding="utf-8")) if (floor_of(name) or 0) > here]


def test_the_check_reports_an_upward_import_at_any_depth():
    source = "def f():\n    from builder.ops.pool import Options\n"
    assert [(line, name) for line, name in imports_of(source)] == [(2, "builder.ops.pool")]
    assert floor_of("builder.ops.pool") > floor_of("builder.stack.watch")


# ------------------------------------------------------------------ ops and stack return data; the CLI renders

DATA_LAYERS = sorted(p for p in MODULES if module_name(p).startswith(("builder.ops.", "builder.stack.")))
# what of builder.report a data layer may use: the Reporter it is handed (say, show, progress), not a renderer
REPORT_NAMES_ALLOWED = {"Reporter"}
# a Reporter's text and layout methods: what is for a person goes through show(kind, item) (or a watcher's
# say(kind, **data)), whose view the CLI supplies
LAYOUT_CALLS = {"line", "lines", "record"}
# the calls that hand a person's view data: a kind (a string literal) and data, never a sentence made here
HANDED_TO_VIEWS = {"say", "show", "show_once"}
PADDING_CALLS = {"ljust", "rjust", "center"}
ALIGNED_SPEC = re.compile(r"[<>^=]|^[0 ]?\d")  # a format spec with an alignment or a width: a column


def rendering_in(source: str) -> list[str]:
    """Each place (line: what) a module of ops/ or stack/ writes to a terminal or lays text out for a person."""
    found = []
    tree = ast.parse(source)
    passed_on = forwarded(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"{line}: print()")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                and node.attr in ("stdout", "stderr"):
            found.append(f"{line}: sys.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [f"{line}: from sys import {a.name}" for a in node.names if a.name in ("stdout", "stderr")]
        elif isinstance(node, ast.ImportFrom) and node.module == "builder.report":
            found += [f"{line}: imports builder.report.{a.name}" for a in node.names
                      if a.name not in REPORT_NAMES_ALLOWED]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if node.func.attr in LAYOUT_CALLS and owner_name == "reporter":
                found.append(f"{line}: reporter.{node.func.attr}()")
            elif node.func.attr in PADDING_CALLS:
                found.append(f"{line}: str.{node.func.attr}()")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in HANDED_TO_VIEWS and id(node) not in passed_on:
            found += [f"{line}: {node.func.attr}() {why}" for why in _sentences_in(node)]
        if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
            if ALIGNED_SPEC.search(spec):
                found.append(f"{line}: a column format spec ':{spec}'")
    return sorted(found, key=lambda where: (int(where.split(":")[0]), where))


def forwarded(tree: ast.AST) -> set[int]:
    """The calls (their ids) that pass on the `kind` parameter of the function they are in (StackWatcher.say
    handing its kind to Reporter.show): the literal is at that function's callers."""
    return {id(call) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and
            "kind" in [a.arg for a in fn.args.args] for call in ast.walk(fn) if isinstance(call, ast.Call)
            and call.args and isinstance(call.args[0], ast.Name) and call.args[0].id == "kind"}


def _sentences_in(call: ast.Call) -> list[str]:
    """What is wrong with a call that hands data to a view: a kind that is not a literal, or a text made for
    a person (an f-string, str.format, %-formatting) anywhere in what it hands over."""
    first = call.args[0] if call.args else None
    wrong = [] if isinstance(first, ast.Constant) and isinstance(first.value, str) else ["without a literal kind"]
    for argument in [*call.args, *(k.value for k in call.keywords)]:
        for node in ast.walk(argument):
            if isinstance(node, ast.JoinedStr):
                wrong.append("hands over an f-string")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
                wrong.append("hands over str.format()")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                    and isinstance(node.left.value, str):
                wrong.append("hands over %-formatting")
    return wrong


@pytest.mark.parametrize("path", DATA_LAYERS, ids=module_name)
def test_ops_and_stack_neither_print_nor_lay_out_text(path):
    assert rendering_in(path.read_text(encoding="utf-8")) == []


def test_the_rendering_check_finds_each_way_of_rendering():
    source = ("import sys\nfrom builder.report import Reporter, grid\n"
              "def f(reporter, watcher, rows):\n"
              "    print('x')\n    sys.stderr.write('y')\n    reporter.lines(grid(rows, ('A',)))\n"
              "    watcher.reporter.record('kind', a=1)\n    return f'{rows[0]:<20}|' + 'a'.rjust(3) + f'{1.5:.1f}'\n")
    assert rendering_in(source) == ["2: imports builder.report.grid", "4: print()", "5: sys.stderr",
                                    "6: reporter.lines()", "7: reporter.record()", "8: a column format spec ':<20'",
                                    "8: str.rjust()"]


def test_the_rendering_check_finds_each_sentence_made_for_a_person():
    source = ("def f(watcher, reporter, exc, n):\n"
              "    watcher.say(f'{n} s')\n    watcher.say('deleted', text='{} s'.format(n))\n"
              "    reporter.show('cost', {'note': 'not priced: %s' % exc})\n    reporter.line('done')\n"
              "    reporter.show_once(kind, {'why': exc.message})\n"
              "    watcher.say('deleted', seconds=n)\n    raise ValueError(f'bad: {n}')\n"
              "def say(self, kind, **data):\n    self.reporter.show(kind, data, self.name)\n")
    assert rendering_in(source) == ["2: say() hands over an f-string", "2: say() without a literal kind",
                                    "3: say() hands over str.format()", "4: show() hands over %-formatting",
                                    "5: reporter.line()", "6: show_once() without a literal kind"]


def shown_kinds(paths: list[Path]) -> dict[str, list[str]]:
    """Every kind the modules hand to Reporter.show or show_once, or to StackWatcher.say (a string literal, as
    the first argument), and where."""
    kinds: dict[str, list[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        passed_on = forwarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in HANDED_TO_VIEWS and id(node) not in passed_on:
                first = node.args[0] if node.args else None
                kind = first.value if isinstance(first, ast.Constant) else f"<not a literal: {ast.unparse(node)}>"
                kinds.setdefault(str(kind), []).append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return kinds


def test_every_kind_shown_has_a_view_and_every_view_is_shown():
    from builder.cli.views import views

    from_data_layers = shown_kinds(DATA_LAYERS)
    assert from_data_layers, "no Reporter.show call in ops/ or stack/: the check reads nothing"
    assert {kind: where for kind, where in from_data_layers.items() if kind not in views()} == {}
    cli = [p for p in MODULES if module_name(p).startswith("builder.cli")]
    assert sorted(views()) == sorted({*from_data_layers, *shown_kinds(cli)})


def test_every_kind_said_carries_the_data_its_words_take():
    """A watcher's say(kind, **data): the view's words take exactly those keywords (a renamed or missing one
    would fail only when that sentence is said, in a run)."""
    import inspect

    from builder.cli.views.progress import SAID

    wrong = []
    for path in DATA_LAYERS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "say":
                kind = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                takes = set(inspect.signature(SAID[kind].words).parameters) if kind in SAID else None
                given = {k.arg for k in node.keywords}
                if takes != given:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {kind!r} gives {sorted(given)}, "
                                 f"its words take {sorted(takes or ())}")
    assert wrong == []


# ------------------------------------------------------------------ one executor

def test_only_the_executor_runs_work_on_threads():
    """Every command over many stacks (and the fleet's pricing) runs through ops.pool.run_all: no other module
    makes a thread pool or threads of its own (lint's cfn-lint worker processes are not stacks)."""
    pools = [f"{p.relative_to(PACKAGE.parent)}:{node.lineno}" for p in MODULES if module_name(p) != "builder.ops.pool"
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.ImportFrom) and node.module == "concurrent.futures"
             or isinstance(node, ast.Import) and any(a.name == "concurrent.futures" for a in node.names)
             or isinstance(node, ast.Attribute) and node.attr == "Thread"]
    assert pools == []


# ------------------------------------------------------------------ a family is the one place that names its types

def test_no_module_outside_the_families_and_the_lint_rules_names_a_familys_resource_type():
    """A new family's types then need no edit elsewhere: the rest of builder reads them from the families."""
    from builder.resources import inventory

    found = inventory()
    types = {*found.pricers, *found.free_types, *found.data_holders}
    assert {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"} <= types  # the check reads real types
    outside = [p for p in MODULES if not module_name(p).startswith(("builder.families", "builder.rules"))]
    named = [f"{p.relative_to(PACKAGE.parent)}: {t}" for p in outside for t in sorted(types)
             if t in p.read_text(encoding="utf-8")]  # as grep finds it: in code, strings or comments
    assert named == []


# ------------------------------------------------------------------ no sentence is made outside an error

SENTENCE_FOLDERS = ["ops", "stack"]

# Functions of ops/ and stack/ whose text is an error's message, made for a raise elsewhere, and why that is so
# (their name qualified by module: builder.<folder>.<module>.<function>).
ERROR_TEXT = {
    "builder.stack.watch.StackWatcher.root_cause": "the <what> of the error every failed operation raises "
                                                  "(ops deploy, destroy, adopt; stack/tags)",
    "builder.stack.validation.failure_note": "what the ValidationFailed raised by changeset and ops/deploy adds",
    "builder.stack.client.unknown_region_problem": "a RegionCheck: resolve_configs raises its problem as a UsageError",
    "builder.stack.client._missing_profile": "the UsageError new_session raises for an AWS_PROFILE in no file",
    "builder.stack.client._endpoint_problem": "the UsageError _make_client raises for an endpoint that is no URL",
}
# calls whose arguments are an error's text: client.translate's and raise_failure's `where` is the <where> of the error
ERROR_CALLS = {"translate", "raise_failure"}


def _literal_has_space(node: ast.AST) -> bool:
    """An f-string, a str.format() or a %-formatting whose literal text has a space: words, not a name or a key."""
    if isinstance(node, ast.JoinedStr):
        return " " in "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        text = node.func.value
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        text = node.left
    else:
        return False
    return isinstance(text, ast.Constant) and isinstance(text.value, str) and " " in text.value


def _name(node: ast.AST | None) -> str:
    """The last name of a Name, an Attribute (errors.Interrupted) or a string annotation."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit(".", 1)[-1]
    return getattr(node, "id", "")


def _error_names(tree: ast.AST) -> set[str]:
    """The names of error classes a module can use: builder.errors' own, and every class of the module whose base
    is an error (named *Error or *Exception, or another error of the module)."""
    import builder.errors

    names = {name for name, value in vars(builder.errors).items()
             if isinstance(value, type) and issubclass(value, BaseException)}
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    while True:
        more = {c.name for c in classes for base in c.bases
                if _name(base).endswith(("Error", "Exception")) or _name(base) in names} - names
        if not more:
            return names
        names |= more


def _functions(tree: ast.AST, module: str) -> dict[str, ast.AST]:
    """Every function of the module by its qualified name (module.Class.function)."""
    found: dict[str, ast.AST] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not isinstance(child, ast.ClassDef):
                    found[prefix + child.name] = child
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, f"{module}.")
    return found


def sentences_built(source: str, module: str = "") -> list[str]:
    """Each place (line: the code) a module builds a sentence outside an error's message: an f-string,
    str.format() or %-formatting with a space in its literal text that is not inside a raise or an assert
    statement, an error class, a function that returns an error (its annotation says so: the caller raises it),
    an argument of an ERROR_CALLS call or a function of ERROR_TEXT."""
    tree = ast.parse(source)
    errors = _error_names(tree)
    functions = _functions(tree, module)
    made: list[ast.AST] = [node for node in ast.walk(tree) if isinstance(node, (ast.Raise, ast.Assert))
                           or isinstance(node, ast.ClassDef) and node.name in errors]
    made += [argument for node in ast.walk(tree) if isinstance(node, ast.Call) and _name(node.func) in ERROR_CALLS
             for argument in [*node.args, *node.keywords]]
    made += [function for name, function in functions.items() if name in ERROR_TEXT
             or _name(getattr(function, "returns", None)) in errors]
    exempt = {id(inner) for node in made for inner in ast.walk(node)}
    return sorted((f"{node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
                   if _literal_has_space(node) and id(node) not in exempt), key=lambda at: int(at.split(":")[0]))


@pytest.mark.parametrize("folder", SENTENCE_FOLDERS)
def test_no_sentences_built_outside_errors(folder):
    """ops/ and stack/ hand over facts (a kind and its data, enums, frozen dataclasses) and the CLI words them
    (cli/views, report.py); the one text they make is an error's message, where it is made. Identifiers
    (f"{prefix}-{suffix}", ARNs, keys) hold no space and are data."""
    paths = sorted((PACKAGE / folder).rglob("*.py"))
    assert paths, f"nothing under builder/{folder}: the check reads nothing"
    found, defined = [], set()
    for path in paths:
        source = path.read_text(encoding="utf-8")
        defined |= set(_functions(ast.parse(source), module_name(path)))
        found += [f"{path.relative_to(PACKAGE.parent)}:{at}" for at in sentences_built(source, module_name(path))]
    assert found == []
    assert [name for name in ERROR_TEXT if name.startswith(f"builder.{folder}.") and name not in defined] == []


def test_the_sentence_check_finds_each_way_of_building_one_and_spares_errors():
    source = ("class Gone(BuilderError):\n    def __init__(self, n):\n        super().__init__(f'{n} is gone')\n"
              "class Later(Gone):\n    def m(self, n):\n        return f'{n} later'\n"
              "def f(n, stack):\n    key = f'{stack}-{n}'\n    text = f'idle {n}'\n"
              "    other = 'past {}'.format(n) + 'of %s' % n + '{}'.format(n)\n"
              "    if n:\n        raise OperationError(stack, f'{n} failed')\n    assert n, f'{n} is not there'\n"
              "    with translate(f'{n} client'):\n        return f'{n}: {key}'\n"
              "def refused(n) -> errors.RefusedError:\n    return RefusedError(n, f'{n} refused')\n"
              "def root_cause(events):\n    return f'{events[0]} failed'\n")
    assert sentences_built(source, "m") == ["9: f'idle {n}'", "10: 'past {}'.format(n)", "10: 'of %s' % n",
                                            "15: f'{n}: {key}'", "19: f'{events[0]} failed'"]
    ERROR_TEXT["m.root_cause"] = "a test's"
    try:
        assert sentences_built(source, "m")[-1] == "15: f'{n}: {key}'"
    finally:
        del ERROR_TEXT["m.root_cause"]
