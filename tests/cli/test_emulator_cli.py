"""`python -m builder emulator` without starting anything: its help, and its place in the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from builder import emulator
from builder.cli import emulator as emulator_cli


def test_the_help_states_the_real_defaults():
    assert f"(default: {emulator.DEFAULT_PORT})" in emulator_cli.PORT_HELP
    assert f"(default: {str(emulator.DEFAULT_PIDFILE).replace(str(Path.home()), '~')})" in emulator_cli.PIDFILE_HELP


def test_synth_does_not_import_the_emulator_launcher(tmp_path):
    code = ("import sys\nfrom builder.cli import main\nmain(['synth', '--suffix', 'pr1', '--out', 'out'])\n"
            "print('builder.emulator' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert result.stdout.splitlines()[-1] == "False"


def test_background_and_stop_cannot_go_together(capsys):
    from builder.cli import main

    assert main(["emulator", "--background", "--stop"]) == 2
    assert capsys.readouterr().err.startswith("error: python -m builder emulator: argument --stop: not allowed")


def test_env_file_goes_only_with_a_start(capsys, tmp_path):
    from builder.cli import main

    assert main(["emulator", "--stop", "--env-file", str(tmp_path / "e.env"), "--pidfile", str(tmp_path / "p")]) == 2
    assert capsys.readouterr().err == "error: emulator: --env-file goes with a start; --stop writes no export lines\n"


@pytest.mark.parametrize("port", ["70000", "0", "abc", "-1"])
def test_a_bad_port_is_refused_when_parsed_whatever_else_is_asked(port, capsys):
    from builder.cli import main

    # before: `--port 70000 --background` answered "already running" beside a running emulator, and
    # `--port 70000 --install` said nothing of it
    for action in ("--background", "--install"):
        assert main(["emulator", f"--port={port}", action]) == 2
        assert capsys.readouterr().err.splitlines() == [
            (f"error: python -m builder emulator: argument --port: must be a port number from 1 to 65535 "
            f"(got {port!r}); see `python -m builder emulator --help`")]


@pytest.mark.parametrize("make", ["text", "folder", "below a file"])
def test_a_pidfile_that_is_no_emulators_record_is_refused_and_left_alone(make, tmp_path, capsys):
    """`--stop --pidfile notes.txt` (a typo) deleted notes.txt; a folder or a path below a file was a
    NotADirectoryError/IsADirectoryError line, exit 1."""
    from builder.cli import main

    notes = tmp_path / "notes.txt"
    notes.write_text("precious\n")
    pidfile = {"text": notes, "folder": tmp_path, "below a file": notes / "emulator.pid"}[make]

    assert main(["emulator", "--stop", "--pidfile", str(pidfile)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: emulator: --pidfile {pidfile}: ")
    assert line.endswith("give the file --background wrote, or a new path")
    assert notes.read_text() == "precious\n"
