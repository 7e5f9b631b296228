from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.core import secrets
from app.core.logs import log_file, recent_lines, setup_logging

CANARY = "sk-canary-logs-7f3a9c1d2e"


@pytest.fixture(autouse=True)
def remove_file_handlers() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "chainwright", False)]:
        root.removeHandler(handler)
        handler.close()


def test_keys_never_reach_the_log_file(memory_keyring) -> None:
    secrets.set_api_key("openai", CANARY)
    assert secrets.get_api_key("openai") == CANARY  # handing it out registers it for redaction
    setup_logging(logging.DEBUG)
    log = logging.getLogger("chainwright.test")
    log.debug("calling with key %s", CANARY)
    log.info("header Authorization: Bearer %s", CANARY)
    try:
        raise RuntimeError(f"server said: bad key {CANARY}")
    except RuntimeError:
        log.exception("the call failed")
    log.warning("an unregistered key-shaped value sk-proj-abcdefghijklmnopqrstuvwx")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file().read_text()
    assert CANARY not in text
    assert "sk-proj-abcdefghijklmnopqrstuvwx" not in text
    assert "calling with key ***" in text
    assert "the call failed" in text and "RuntimeError: server said: bad key ***" in text
    assert any("the call failed" in line for line in recent_lines())


def test_http_loggers_stay_quiet() -> None:
    setup_logging(logging.DEBUG)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
