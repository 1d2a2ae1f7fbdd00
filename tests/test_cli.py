"""The root command line: help, version, one-line usage errors."""

import subprocess
import sys

from villenum import __version__
from villenum.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_group_is_one_line_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "villenum", "no-such-group"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_help_lists_groups():
    proc = subprocess.run(
        [sys.executable, "-m", "villenum", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "GROUP" in proc.stdout
