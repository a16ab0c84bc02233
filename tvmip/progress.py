"""A progress display on stderr (tqdm), silent unless asked for and stderr is a terminal.

A long run goes through phases (splitting the search tree, exploring its
subtrees, gluing regions, drawing): each phase is one bar, with a total and an
estimated time to completion when the phase knows its total, and the regions
found so far beside it.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """One bar per phase; :meth:`phase` starts the next, :meth:`update` moves it."""

    def __init__(self, enabled: bool) -> None:
        self.active = enabled and sys.stderr.isatty()
        self._bar: tqdm | None = None
        self._shown = 0

    def phase(self, description: str, total: int | None, unit: str) -> None:
        """Close the current bar and start one for ``description`` (``total`` None when
        the phase cannot know how much work it has)."""
        self.close()
        if self.active:
            self._bar = tqdm(desc=description, total=total, unit=unit, file=sys.stderr,
                             mininterval=0.5, leave=False, dynamic_ncols=True)
            self._shown = 0

    def update(self, done: int, regions: int | None = None) -> None:
        """``done`` units of the phase finished; ``regions`` found so far."""
        bar = self._bar
        if bar is None:
            return
        if done > self._shown:
            bar.update(done - self._shown)
            self._shown = done
        if regions is not None:
            bar.set_postfix_str(f"{regions} regions", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
