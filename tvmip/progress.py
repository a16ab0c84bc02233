"""A progress display on stderr (tqdm), silent unless asked for and stderr is a terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """Regions found, rate and elapsed time; updated every few hundred records."""

    def __init__(self, enabled: bool, unit: str = " regions") -> None:
        active = enabled and sys.stderr.isatty()
        self._bar = tqdm(unit=unit, file=sys.stderr, disable=not active, mininterval=0.5,
                         leave=False, dynamic_ncols=True) if active else None
        self._shown = 0

    def update(self, total: int) -> None:
        if self._bar is not None and total > self._shown:
            self._bar.update(total - self._shown)
            self._shown = total

    def close(self, total: int) -> None:
        if self._bar is not None:
            self.update(total)
            self._bar.close()
            self._bar = None
