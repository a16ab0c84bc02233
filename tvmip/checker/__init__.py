"""The trusted checker: re-verifies tvmip certificates with exact rationals.

It imports only the standard library and its own modules (a test enforces this),
never a solver, numpy or sympy; the rest of tvmip may import it, never the
reverse.  Entry points: :func:`check_file` and ``python -m tvmip.checker FILE``.
"""

from .verify import Verdict, check_file

__all__ = ["Verdict", "check_file"]
