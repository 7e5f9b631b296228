"""Packaging tests build the desktop bundle (minutes): they run only when asked for with
``pytest -m slow tests/packaging`` (or any -m expression naming ``slow``), never in a plain ``pytest``."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="builds the bundle; run it with: pytest -m slow tests/packaging")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
