"""The debug log: full tracebacks for what the operator sees in one line."""

from __future__ import annotations

import logging
from pathlib import Path


def setup(state_dir: Path) -> Path:
    """Send the package's log records to ``<state-dir>/debug.log``; return its path."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "debug.log"
    logger = logging.getLogger("rollback_cockpit")
    if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        handler = _QuietFileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return path


class _QuietFileHandler(logging.FileHandler):
    """A debug log that cannot be written (a full disk) stays silent.

    logging's default prints its own traceback to stderr, which would bury
    the one line the operator needs under a "--- Logging error ---" dump.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        pass
