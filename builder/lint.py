"""The lint gate: cfn-lint itself, run as `cfn-lint --include-checks I --append-rules builder/rules` runs.

Only `python -m builder lint` imports this module (cfn-lint is slow to import; synth never needs it).

What it reports is what that command reports on the same files from the same working folder: the
configuration comes from cfn-lint's own parser (so a `.cfnlintrc` there, or `~/.cfnlintrc`, applies as
it does to `cfn-lint`), every file is linted on its own (no finding is copied from one file to another),
and the findings are formatted by cfn-lint's formatter in its order. The speed comes from the
processes: cfn-lint and its rules load once, then the files are split among one forked worker process
per CPU, each linting its share with the loaded rules.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from builder.errors import UsageError

TEMPLATE_GLOBS = ("*.template.json", "*.template.yaml")
_EXIT_BITS = {"informational": 8, "warning": 4, "error": 2}  # cfn-lint's exit code is a bitmask of these
_EXIT_LEVELS = {"informational": ("informational", "warning", "error"), "warning": ("warning", "error"),
                "error": ("error",), "none": ()}  # cfn-lint's --non-zero-exit-code


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match, as its JSON output has it."""

    rule_id: str
    severity: str  # informational, warning, error
    message: str
    filename: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:  # cfn-lint's text format
        return f"{self.rule_id} {self.message}\n{self.filename}:{self.line}:{self.column}"


@dataclass(frozen=True)
class LintResult:
    files: tuple[str, ...]  # what cfn-lint linted (its .cfnlintrc's ignore_templates taken out)
    findings: tuple[Finding, ...]  # in cfn-lint's order: by file, line, rule id
    output: str  # what `cfn-lint` prints for them, in the format its configuration names (text by default)
    exit_code: int  # what `cfn-lint` exits with: a bitmask (2 errors, 4 warnings, 8 informational)
    workers: int  # processes that linted


def templates_in(paths: Sequence[str], default_dir: str) -> list[Path]:
    """Every template to lint: the files given, the templates in folders given (and below), or out/."""
    found: list[Path] = []
    for raw in paths or [default_dir]:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for pattern in TEMPLATE_GLOBS for p in path.rglob(pattern))
        elif path.is_file():
            if not any(path.match(pattern) for pattern in TEMPLATE_GLOBS):
                raise UsageError(raw, "is not a template: give *.template.json or *.template.yaml files, or a folder "
                                      "that holds them")
            found.append(path)
        else:
            raise UsageError(raw, "no such file or folder; give templates or a folder that holds them "
                                  "(run `python -m builder synth` first)")
    if not found:
        where = ", ".join(paths) if paths else default_dir
        raise UsageError(where, "holds no *.template.json or *.template.yaml; run `python -m builder synth` first")
    return list(dict.fromkeys(found))


def cfn_lint_argv(files: Sequence[Path | str], regions: Sequence[str] = (),
                  append_rules: Sequence[str] = ()) -> list[str]:
    """The `cfn-lint` arguments whose findings `lint_templates` reports (regions: cfn-lint's default if none)."""
    from builder.rules import RULES_DIR  # the package's cost guardrails (W9xxx) always run

    rules_args = [a for rules in (RULES_DIR, *append_rules) for a in ("--append-rules", rules)]
    region_args = ["--regions", *regions] if regions else []
    return ["--include-checks", "I", *rules_args, *region_args, "--", *(str(f) for f in files)]


def worker_count(files: int) -> int:
    """One worker process per CPU this process may run on, never more than there are files; one (this
    process) where processes cannot be forked, or not safely: a process with other threads (a lock one of
    them holds would stay locked in the child; Python 3.12 warns about it)."""
    if "fork" not in multiprocessing.get_all_start_methods() or not hasattr(os, "sched_getaffinity") \
            or threading.active_count() > 1:
        return 1
    return max(1, min(files, len(os.sched_getaffinity(0))))


def _shares(files: Sequence[str], workers: int) -> list[list[str]]:
    """Split the files into `workers` shares of about equal bytes (the biggest first to the lightest share)."""
    shares: list[list[str]] = [[] for _ in range(workers)]
    weight = [0] * workers
    for name in sorted(files, key=lambda f: -os.path.getsize(f)):
        lightest = weight.index(min(weight))
        shares[lightest].append(name)
        weight[lightest] += os.path.getsize(name)
    return [share for share in shares if share]


def _run(runner: Any, argv: list[str], share: Sequence[str] | None) -> list[Any]:
    """cfn-lint's Runner.run over `share` (None: the files of its own configuration), its rules loaded once."""
    from cfnlint.config import ConfigMixIn

    if share is not None:  # the same arguments and configuration files, this share of the files
        runner.config = ConfigMixIn(argv, templates=list(share))
    return list(runner.run())


def _worker(runner: Any, argv: list[str], share: list[str], conn: Connection) -> None:
    """In a forked process: lint the share and send back each match as plain values (a rule loaded
    from builder/rules cannot be pickled; the parent has the same rules and finds it by id)."""
    try:
        rows = [(m.rule.id if m.rule.id in runner.rules.data else m.rule, m.message, m.filename, m.linenumber,
                 m.columnnumber, m.linenumberend, m.columnnumberend) for m in _run(runner, argv, share)]
        conn.send(("ok", rows))
    except BaseException as error:  # noqa: BLE001 -- any failure travels to the parent, which raises it there
        conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def _in_workers(runner: Any, argv: list[str], files: Sequence[str], workers: int) -> list[Any]:
    from cfnlint.match import Match

    from builder.errors import OperationError

    context = multiprocessing.get_context("fork")  # the children inherit cfn-lint and its loaded rules
    sys.stdout.flush()  # or each child would write out its copy of what is still buffered
    sys.stderr.flush()
    started = []
    for share in _shares(files, workers):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(runner, argv, share, send), daemon=True)
        process.start()
        send.close()
        started.append((process, receive))
    matches: list[Any] = []
    failures: list[str] = []
    for process, receive in started:
        try:
            status, payload = receive.recv()
        except EOFError:
            status, payload = "error", "a lint worker process ended without an answer"
        process.join()
        if status != "ok":
            failures.append(str(payload))
            continue
        for rule, message, filename, line, column, end_line, end_column in payload:
            matches.append(Match(message=message, rule=runner.rules.data[rule] if isinstance(rule, str) else rule,
                                 filename=filename, linenumber=line, columnnumber=column,
                                 linenumberend=end_line, columnnumberend=end_column))
    if failures:
        raise OperationError("lint", f"cfn-lint failed: {failures[0]}")
    return matches


def lint_templates(files: Sequence[Path | str], regions: Sequence[str] = (), append_rules: Sequence[str] = (),
                   workers: int | None = None) -> LintResult:
    """What `cfn-lint --include-checks I --append-rules builder/rules [--regions ...] -- FILES` reports,
    run from this working folder (its .cfnlintrc applies), each file linted on its own."""
    import yaml  # cfn-lint's own YAML parser, which reads the .cfnlintrc
    from cfnlint.config import ConfigMixIn
    from cfnlint.exceptions import ConfigFileError
    from cfnlint.helpers import REGIONS
    from cfnlint.runner.cli import Runner, get_formatter

    argv = cfn_lint_argv(files, regions, append_rules)
    try:
        config = ConfigMixIn(argv)
    except ConfigFileError as error:  # cfn-lint prints it and exits 1 before linting anything
        raise UsageError(".cfnlintrc", f"{error}; fix the file cfn-lint reads from this folder or ~") from error
    except yaml.YAMLError as error:  # not YAML at all: cfn-lint's traceback, three lines of ours
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise UsageError(".cfnlintrc", f"not valid YAML ({problem}{at}); fix the file cfn-lint reads from this "
                                       f"folder or ~") from error
    except UnicodeDecodeError as error:
        raise UsageError(".cfnlintrc", "is not UTF-8 text; fix the file cfn-lint reads from this folder or ~") \
            from error
    unknown = [region for region in config.regions if region not in REGIONS]
    if unknown:  # cfn-lint refuses them before linting anything (its exit 32)
        where = "--region" if regions else "regions (.cfnlintrc, AWS_REGION or AWS_DEFAULT_REGION)"
        raise UsageError(where, f"{', '.join(unknown)}: not a region cfn-lint knows; give one such as us-east-1")
    runner = Runner(config)  # loads cfn-lint's rules and ours once, applies the configuration's schema patches
    linted: list[str] = list(config.templates or [])
    if not linted:  # .cfnlintrc's ignore_templates took every file out
        return LintResult((), (), "", 0, 0)
    count = workers if workers is not None else worker_count(len(linted))
    if count <= 1 or config.deployment_files or config.parameter_files:  # those pair files: one run, as cfn-lint
        count = 1
        matches = _run(runner, argv, None)
    else:
        matches = _in_workers(runner, argv, linted, count)
    matches.sort(key=lambda m: (m.filename, m.linenumber, m.rule.id))  # cfn-lint's own output order
    output = get_formatter(config).print_matches(matches, runner.rules, config=config) or ""
    level = config.non_zero_exit_code or "informational"
    exit_code = 0
    for match in matches:
        if match.rule.severity in _EXIT_LEVELS[level]:
            exit_code |= _EXIT_BITS.get(match.rule.severity, 0)
    findings = tuple(Finding(m.rule.id, m.rule.severity, m.message, str(m.filename), m.linenumber, m.columnnumber,
                             m.linenumberend, m.columnnumberend) for m in matches)
    return LintResult(tuple(linted), findings, output, exit_code, count)
