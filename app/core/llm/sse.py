"""An incremental Server-Sent Events parser (WHATWG "event stream interpretation").

Feed it bytes as they arrive (``SSEParser.feed``), in chunks of any size - a chunk may end in the
middle of a line, of a UTF-8 character, or between the ``\\r`` and ``\\n`` of a CRLF - and it
returns the complete events. Handles ``event:``, ``data:`` (several data lines are joined with
``\\n``), ``id:``, ``retry:``, comment lines (``:`` first) and LF, CRLF or CR line endings. An
event that is not terminated by a blank line before EOF is dropped, as the spec says
(``SSEParser.pending`` tells whether that happened).

No httpx import: :func:`aiter_sse` takes any async iterator of bytes (``response.aiter_bytes()``).
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class SSEEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEParser:
    """Turns a byte stream into :class:`SSEEvent` objects, incrementally."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._first = True
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._dirty = False

    @property
    def pending(self) -> bool:
        """True when an unfinished event (or line) is buffered."""
        return self._dirty or bool(self._buf)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._decoder.decode(chunk)
        return self._feed_text(text)

    def feed_text(self, text: str) -> list[SSEEvent]:
        return self._feed_text(text)

    def close(self) -> list[SSEEvent]:
        """Flush at EOF. An unterminated final event is discarded (per the spec)."""
        self._feed_text(self._decoder.decode(b"", final=True))
        return []

    # -- internals ------------------------------------------------------------------------------
    def _feed_text(self, text: str) -> list[SSEEvent]:
        if not text:
            return []
        if self._first:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._pending_cr:
            self._pending_cr = False
            if text.startswith("\n"):
                text = text[1:]
        self._buf += text
        out: list[SSEEvent] = []
        while True:
            i_cr = self._buf.find("\r")
            i_lf = self._buf.find("\n")
            if i_cr < 0 and i_lf < 0:
                break
            if i_cr >= 0 and (i_lf < 0 or i_cr < i_lf):
                line, rest = self._buf[:i_cr], self._buf[i_cr + 1 :]
                if rest.startswith("\n"):
                    rest = rest[1:]
                elif not rest:
                    self._pending_cr = True  # the LF of a CRLF may come in the next chunk
            else:
                line, rest = self._buf[:i_lf], self._buf[i_lf + 1 :]
            self._buf = rest
            ev = self._line(line)
            if ev is not None:
                out.append(ev)
        return out

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        self._dirty = True
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\x00" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        # unknown fields are ignored
        return None

    def _dispatch(self) -> SSEEvent | None:
        if self._id is not None:
            self._last_id = self._id
        had_data = bool(self._data)
        ev = SSEEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._event, self._data, self._id, self._retry, self._dirty = "", [], None, None, False
        return ev if had_data else None


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Parse an async byte stream (e.g. ``httpx.Response.aiter_bytes()``) into events."""
    parser = SSEParser()
    async for chunk in chunks:
        for ev in parser.feed(chunk):
            yield ev
    parser.close()
