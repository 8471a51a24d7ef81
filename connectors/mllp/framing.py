"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol, release 1/2 block format).

A frame is ``0x0B <message bytes> 0x1C 0x0D``. :class:`FrameReader` is a pure, incremental
decoder: feed it whatever the socket returned and it yields complete frames (or
:class:`BrokenFrame` markers for data it had to drop), keeping partial data between calls.

Robustness rules:
- bytes outside a frame (before a start block) are dropped and reported once per run;
- a new start block before the end block aborts the open frame (reported as broken, with the
  bytes received so far so the caller can still try to read MSH-10 for a NAK);
- a frame longer than ``max_frame`` is dropped (reported as broken) and the reader resyncs on
  the next start block;
- ``0x1C`` not followed by ``0x0D`` still ends the frame (some senders omit the CR).

ISO-2022-JP message bytes never contain 0x0B or 0x1C (JIS uses ESC = 0x1B and 0x21–0x7E).
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c"
CR = b"\x0d"

DEFAULT_MAX_FRAME = 16 * 1024 * 1024


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP framing."""
    return START + message + END + CR


@dataclass(frozen=True, slots=True)
class BrokenFrame:
    """Data dropped by the reader: ``reason`` (no patient data) and the bytes received (up to
    the first 4 KiB, enough for the MSH segment)."""

    reason: str
    head: bytes = b""


class FrameReader:
    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._in_frame = False
        self._oversize = False
        self._head = b""

    @property
    def partial(self) -> bool:
        """True while a frame has started and not ended (a disconnect now loses it)."""
        return self._in_frame

    def feed(self, data: bytes) -> list[bytes | BrokenFrame]:
        out: list[bytes | BrokenFrame] = []
        i = 0
        n = len(data)
        while i < n:
            if not self._in_frame:
                j = data.find(START, i)
                if j == -1:
                    if data[i:].strip(b"\r\n\x1c \t"):
                        out.append(BrokenFrame("data outside an MLLP frame dropped"))
                    return out
                if data[i:j].strip(b"\r\n\x1c \t"):
                    out.append(BrokenFrame("data outside an MLLP frame dropped"))
                self._in_frame = True
                self._oversize = False
                self._buf.clear()
                i = j + 1
                continue
            # inside a frame: look for the end block or a premature new start block
            e = data.find(END, i)
            s = data.find(START, i)
            if s != -1 and (e == -1 or s < e):
                self._append(data[i:s])
                out.append(self._abort("frame interrupted by a new start block"))
                i = s  # re-enter at the new start block
                continue
            if e == -1:
                self._append(data[i:])
                return out
            self._append(data[i:e])
            i = e + 1
            if i < n and data[i : i + 1] == CR:
                i += 1
            self._in_frame = False
            if self._oversize:
                out.append(
                    BrokenFrame(f"frame longer than {self.max_frame} bytes dropped", self._head)
                )
            else:
                out.append(bytes(self._buf))
            self._buf.clear()
        return out

    def _append(self, chunk: bytes) -> None:
        if self._oversize:
            return
        if len(self._buf) + len(chunk) > self.max_frame:
            self._head = bytes(self._buf[:4096])
            self._buf.clear()
            self._oversize = True
            return
        self._buf += chunk

    def _abort(self, reason: str) -> BrokenFrame:
        head = self._head if self._oversize else bytes(self._buf[:4096])
        self._buf.clear()
        self._in_frame = False
        self._oversize = False
        return BrokenFrame(reason, head)
