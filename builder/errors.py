"""Typed errors. Library code raises these; only builder.cli turns them into exit codes."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_DRIFTED = 4  # `drift --exit-code`: a stack differs from its template (noise does not count)
EXIT_DRIFT_REFUSED = 5  # deploy of a check_drift environment refused: the stack has drifted
EXIT_OVER_BUDGET = 6  # a cost gate: `cost --max-monthly` exceeded, or `diff --fail-on-cost-increase`
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away


def one_line(text: str) -> str:
    """Text as it may stand in an error line: control characters (newline, CR, ...) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it came from, which key, and what would be right."""

    where: str
    key: str
    message: str

    def __str__(self) -> str:
        if self.key:
            return f"error: {one_line(self.where)}: {one_line(self.key)}: {one_line(self.message)}"
        return f"error: {one_line(self.where)}: {one_line(self.message)}"


class BuilderError(Exception):
    """Base class of every error builder reports without a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message

    def lines(self) -> list[str]:
        return [f"error: {one_line(self.where)}: {one_line(self.message)}"]


class UsageError(BuilderError):
    """Bad input or usage: exit 2."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(UsageError):
    """Every problem found in the configuration, reported together."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(first.where, str(first))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class OperationError(BuilderError):
    """An operation against AWS (or the file system) failed: exit 1."""

    exit_code = EXIT_FAILED


class RefusedError(BuilderError):
    """Refused because it would destroy data: exit 3."""

    exit_code = EXIT_REFUSED


class Interrupted(BuilderError):
    """Ctrl-C while builder waited on AWS: exit 130. The message says what state was left behind."""

    exit_code = EXIT_INTERRUPTED


class DriftRefusedError(BuilderError):
    """Refused to deploy over drift (check_drift): exit 5. The stack is untouched."""

    exit_code = EXIT_DRIFT_REFUSED


class OverBudgetError(BuilderError):
    """A cost gate failed: exit 6."""

    exit_code = EXIT_OVER_BUDGET
