"""The tvmip exception family; the CLI maps each kind to one exit code."""

from __future__ import annotations


class TvmipError(Exception):
    """Base of every error tvmip raises on purpose."""

    exit_code = 2


class InputError(TvmipError):
    """A file or option the user gave is malformed (exit code 2)."""


class ResourceLimit(TvmipError):
    """A time, region, memory or number-size limit ended the run (exit code 3)."""

    exit_code = 3


class Interrupted(TvmipError):
    """A signal (Ctrl-C, SIGTERM) ended the run (exit code 130); what was written is
    a certified lower bound, and says so."""

    exit_code = 130


class InternalError(TvmipError):
    """An exact check failed where the mathematics says it cannot: a tvmip bug."""

    exit_code = 4
