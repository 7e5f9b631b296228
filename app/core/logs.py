"""The app's log file: rotated, in the user log dir, and never holding a key.

Every record passes through a filter that replaces known secrets (keys read from the keychain or
the environment, see `events.register_secret`) and anything shaped like an API key with `***`,
in the message and in any traceback, before a handler sees it. httpx/httpcore are kept at
WARNING so request URLs are never logged.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.core.events import redact
from app.core.settings import log_dir

LOG_FILE_NAME = "chainwright.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_file() -> Path:
    return log_dir() / LOG_FILE_NAME


def setup_logging(level: int = logging.INFO) -> Path:
    """Send the `chainwright` loggers (and warnings from libraries) to the rotated log file."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "chainwright", False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.chainwright = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, level))
    logging.getLogger("chainwright").setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


def recent_lines(count: int = 200) -> list[str]:
    """The last lines of the log, for Help ▸ Copy diagnostics."""
    try:
        return log_file().read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
    except OSError:
        return []
