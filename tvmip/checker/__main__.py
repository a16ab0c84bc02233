"""``python -m tvmip.checker CERTIFICATE``: the trusted checker on its own (stdlib only)."""

from __future__ import annotations

import sys

from .verify import EXIT_INPUT, check_file


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m tvmip.checker CERTIFICATE", file=sys.stderr)
        return EXIT_INPUT
    verdict = check_file(argv[0])
    print(verdict.line, file=sys.stderr if verdict.exit_code == EXIT_INPUT else sys.stdout)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
