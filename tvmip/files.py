"""Reading input files and writing output files atomically.

Nothing tvmip writes ever appears half-written: every file is written to a
temporary name beside its target and renamed over it once complete (``os.replace``
is atomic on one file system), and an interrupted or failed write leaves the
target as it was.  Gzip output (certificates named ``*.gz``) is deterministic: no
file name and no time in its header.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

from .errors import InputError

MAX_FILE_BYTES = 256 * 2**20


def read_input_file(path: Path) -> bytes:
    """The bytes of an input file, or an :class:`InputError` naming it (unreadable,
    or larger than :data:`MAX_FILE_BYTES`)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MB")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def check_writable(path: Path) -> None:
    """An :class:`InputError` before any work when ``path`` cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: directory {parent} does not exist")
    if path.is_dir():
        raise InputError(f"{path}: is a directory")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temporary(path: Path) -> tuple[int, Path]:
    """An open descriptor and the name of a new temporary file ``.NAME.*.part`` beside
    ``path``."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return fd, Path(temp)


def _publish(temp: Path, path: Path) -> None:
    os.chmod(temp, 0o666 & ~_umask())
    os.replace(temp, path)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to (writers must not go by its
    extension); renamed into place when the block ends normally, removed when it
    raises."""
    fd, temp = _temporary(path)
    os.close(fd)
    try:
        yield temp
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        _publish(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (gzip when the name ends in .gz)."""
    out = AtomicFile(path)
    try:
        out.write(text)
    except BaseException:
        out.abort()
        raise
    out.commit()


class AtomicFile:
    """A text file streamed to a temporary name and renamed into place on
    :meth:`commit` (gzip, deterministic, when the name ends in ``.gz``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, self._temp = _temporary(path)
        self._raw = os.fdopen(fd, "wb")
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0,
                                   compresslevel=6) if path.name.endswith(".gz") else None
        binary = cast(IO[bytes], self._gzip or self._raw)
        self.text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")

    def write(self, text: str) -> None:
        self.text.write(text)

    def commit(self) -> None:
        self.text.flush()
        self.text.detach()
        if self._gzip is not None:
            self._gzip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        _publish(self._temp, self.path)

    def abort(self) -> None:
        try:
            self._raw.close()
        finally:
            self._temp.unlink(missing_ok=True)
