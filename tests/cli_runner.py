"""Running ``tvmip`` from tests: in-process through click, or in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from tvmip.cli import main


@dataclass
class Outcome:
    """Exit code, the two streams, and how the command ran."""

    code: int
    stdout: str
    stderr: str
    via: str

    def __repr__(self) -> str:
        return (f"[{self.via}] exit {self.code}\nstdout: {self.stdout!r}\n"
                f"stderr: {self.stderr[:2000]!r}")


def run_tvmip(args: list[str], real_process: bool = False, cwd: Path | None = None,
              timeout: float = 60) -> Outcome:
    """``tvmip ARGS``; an exception escaping in-process is appended to stderr as a
    traceback, so tests that forbid tracebacks see it either way."""
    if real_process:
        proc = subprocess.run([sys.executable, "-m", "tvmip.cli", *args], check=False,
                              capture_output=True, text=True, timeout=timeout, cwd=cwd)
        return Outcome(proc.returncode, proc.stdout, proc.stderr, "subprocess")
    result = CliRunner().invoke(main, args)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (in-process):\n" + "".join(traceback.format_exception(
            type(result.exception), result.exception, result.exception.__traceback__))
    return Outcome(result.exit_code, result.stdout, stderr, "in-process")
