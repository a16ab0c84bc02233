"""Writing certificates (``tvmip-certificate/1``): streamed, atomic, deterministic.

The format is described in :mod:`tvmip.checker.verify` and README.md.  Records
are written as they are found, so memory does not grow with the number of
regions; the file appears at its path only when complete (a temporary file in
the same directory is renamed over it), so an interrupted run never leaves a
half-written certificate.  Output is byte-for-byte deterministic: canonical JSON,
a gzip header without name or time, and all run-dependent values (timings) in the
end record's ``metadata``.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO, Any, cast

from . import __version__
from .checker.rationals import dumps, format_rational
from .checker.verify import CERTIFICATE_FORMAT
from .errors import InputError
from .model.network import Box, Network
from .search.linear import Facet, NoFacet
from .search.tree import EmptyBranch, Frontier, Open, Record, Region


def _rational_text(value: Any) -> str:
    formatted = format_rational(value)
    return str(formatted) if isinstance(formatted, int) else f'"{formatted}"'


def record_line(record: Record) -> str:
    """One record as its canonical JSON line (hand-formatted: this is the hot path)."""
    if isinstance(record, Region):
        coords = ",".join(_rational_text(v) for v in record.witness)
        return f'{{"r":"{record.pattern}","x":[{coords}]}}\n'
    if isinstance(record, EmptyBranch):
        terms = ",".join(f"[{_row_text(rid)},{y}]" for rid, y in record.multipliers)
        return f'{{"e":"{record.prefix}","y":[{terms}]}}\n'
    if isinstance(record, (Open, Frontier)):
        return f'{{"o":"{record.prefix}"}}\n'
    raise TypeError(f"not a certificate record: {record!r}")


def evidence_line(item: Facet | NoFacet) -> str:
    """One linear-region evidence record (after the tree's records)."""
    if isinstance(item, Facet):
        point = ",".join(_rational_text(v) for v in item.point)
        return (f'{{"f":[{item.region},{_row_text(item.row_id)}],"n":{item.neighbour},'
                f'"x":[{point}]}}\n')
    terms = ",".join(f'[{_row_text(rid)},{y}]' for rid, y in item.multipliers)
    return (f'{{"mu":{_rational_text(item.mu)},"nf":[{item.region},{_row_text(item.row_id)}],'
            f'"y":[{terms}]}}\n')


def _row_text(rid: int | str) -> str:
    return str(rid) if isinstance(rid, int) else f'"{rid}"'


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    return cast(IO[str], opener(path, "rt", encoding="utf-8"))


def read_header(path: Path) -> dict[str, Any]:
    """The header of a certificate, read without checking anything (for options that
    depend on it, such as the dimension of ``tvmip check --box``); InputError if it
    is not readable as one."""
    from .checker.rationals import loads

    try:
        with _open_text(path) as handle:
            header = loads(handle.readline(1 << 24))
        if not isinstance(header, dict) or not isinstance(header.get("network"), dict):
            raise ValueError("no network in the first line")  # noqa: TRY004 - a format error
        return header
    except (OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable certificate ({exc})") from None


def read_records(path: Path) -> tuple[dict[str, Any], list[Record]]:
    """The header and tree records of an existing certificate (to resume from it).
    Call it on a certificate the checker accepted: this reader trusts the layout."""
    from .checker.rationals import loads, parse_rational

    records: list[Record] = []
    with _open_text(path) as handle:
        header = loads(handle.readline())
        for line in handle:
            obj = loads(line)
            if "r" in obj:
                records.append(Region(obj["r"], tuple(parse_rational(v) for v in obj["x"])))
            elif "e" in obj:
                records.append(EmptyBranch(obj["e"], tuple((rid, int(y)) for rid, y in obj["y"])))
            elif "o" in obj:
                records.append(Open(obj["o"]))
    return header, records


def header_line(network: Network, box: Box | None, kind: str, claims: list[str]) -> str:
    header = {
        "claims": claims,
        "format": CERTIFICATE_FORMAT,
        "tool": f"tvmip {__version__}",
        "kind": kind,
        "network": network.to_json(),
        "network_sha256": network.sha256,
        "domain": None if box is None else box.to_json(),
    }
    return dumps(header) + "\n"


def end_line(claims: dict[str, Any], metadata: dict[str, Any]) -> str:
    return dumps({"end": {"claims": claims, "metadata": metadata}}) + "\n"
