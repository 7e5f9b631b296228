"""Approximate prices of well-known models, to show the cost of a run.

Prices are USD per one million tokens (input, output), taken from the providers' public price
lists as publicly known in mid-2025 (last checked 2025-08). They change: users can override or
add entries (Settings) with :func:`merge_prices` / the ``overrides`` argument of
:func:`cost_usd`. Local models (``local``) and Ollama cost nothing; an unknown model has no
price (``None``) rather than a guessed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FREE_PROVIDERS = frozenset({"local", "ollama"})


@dataclass(frozen=True, slots=True)
class Price:
    input_per_m: float
    output_per_m: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_m + output_tokens * self.output_per_m) / 1_000_000


# Taken from public price lists as known in mid-2025 (checked 2025-08).
PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    # Anthropic
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-3-opus": Price(15.00, 75.00),
}

_SUFFIX_SEPARATORS = ("-", "@", ":")


def _as_price(value: Any) -> Price:
    if isinstance(value, Price):
        return value
    if isinstance(value, Mapping):
        return Price(float(value["input"]), float(value["output"]))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return Price(float(value[0]), float(value[1]))
    raise ValueError(f"A price must be {{'input': x, 'output': y}} (USD per 1M tokens), not {value!r}")


def merge_prices(
    overrides: Mapping[str, Any] | None, base: Mapping[str, Price] | None = None
) -> dict[str, Price]:
    """``base`` (default :data:`PRICES`) with ``overrides`` on top. Override values are
    ``{"input": usd_per_m, "output": usd_per_m}`` or an ``(input, output)`` pair; keys are model
    ids, optionally prefixed ``provider/``."""
    table = dict(PRICES if base is None else base)
    for key, value in (overrides or {}).items():
        table[str(key)] = _as_price(value)
    return table


def find_price(provider: str, model: str, table: Mapping[str, Price] | None = None) -> Price | None:
    """The price entry for ``model``: an exact ``provider/model`` or ``model`` key, else the longest
    key that ``model`` starts with followed by a version suffix (``gpt-4o-mini-2024-07-18``,
    ``claude-3-5-haiku-20241022``, ``claude-3-5-haiku-latest``)."""
    table = PRICES if table is None else table
    name = model.strip().lower()
    for key in (f"{provider}/{name}", name):
        if key in table:
            return table[key]
    best: tuple[int, Price] | None = None
    for key, price in table.items():
        bare = key.split("/", 1)[1] if "/" in key else key
        if "/" in key and not key.startswith(f"{provider}/"):
            continue
        if name.startswith(bare) and name[len(bare) : len(bare) + 1] in _SUFFIX_SEPARATORS:
            rest = name[len(bare) + 1 :]
            # a suffix must look like a version/date, not another model ("gpt-4o" vs "gpt-4o-mini")
            if (
                rest
                and (rest[0].isdigit() or rest in ("latest", "preview"))
                and (best is None or len(bare) > best[0])
            ):
                best = (len(bare), price)
    return best[1] if best else None


def cost_usd(
    provider: str,
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    overrides: Mapping[str, Any] | None = None,
) -> float | None:
    """Cost in USD of one call, ``0.0`` for local/Ollama models, ``None`` when the model's price
    or the token counts are unknown."""
    if provider in FREE_PROVIDERS and not (
        overrides and (model in overrides or f"{provider}/{model}" in overrides)
    ):
        return 0.0
    if input_tokens is None or output_tokens is None:
        return None
    table = merge_prices(overrides) if overrides else PRICES
    price = find_price(provider, model, table)
    return None if price is None else price.cost(input_tokens, output_tokens)
