"""An asyncio MLLP server.

Each connection reads frames with :class:`FrameReader` and answers them in order. The
``handler`` (synchronous: conversion and database writes) runs on one worker thread shared by
all connections, so writes are serialised and the event loop keeps accepting connections. The
ACK is written only after the handler returned, i.e. after the message was committed.

A client that disconnects mid-frame loses that frame (nothing is stored, nothing answered);
the server keeps serving other and later clients. Idle connections are closed after
``idle_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from connectors.mllp.framing import DEFAULT_MAX_FRAME, BrokenFrame, FrameReader, frame

log = logging.getLogger("ehr_bridge.mllp")

#: frame (or broken-frame marker) → ACK message bytes (unframed), or None for no answer
Handler = Callable[[bytes | BrokenFrame], bytes | None]


class MllpServer:
    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 2575,
        *,
        max_frame: int = DEFAULT_MAX_FRAME,
        idle_timeout: float = 600.0,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="mllp-store")
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    async def start(self) -> int:
        """Bind and listen; returns the bound port (``port=0`` picks a free one)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("MLLP listener on %s:%d", self.host, self.port)
        return self.port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._executor.shutdown(wait=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
        fr = FrameReader(self.max_frame)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                except TimeoutError:
                    log.info("MLLP %s: idle timeout, closing", where)
                    break
                if not data:
                    if fr.partial:
                        log.warning("MLLP %s: disconnected mid-frame; partial frame dropped", where)
                    break
                for item in fr.feed(data):
                    if isinstance(item, BrokenFrame):
                        log.warning("MLLP %s: %s", where, item.reason)
                    ack = await loop.run_in_executor(self._executor, self.handler, item)
                    if ack is None:
                        continue
                    writer.write(frame(ack))
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            log.warning("MLLP %s: connection lost", where)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class ServerThread:
    """Runs an :class:`MllpServer` on its own event loop in a background thread (tests, and
    embedding the listener in another process)."""

    def __init__(self, server: MllpServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mllp-server", daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - surfaced through .error
            self.error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await self.server.start()
        self._ready.set()
        await self._stop.wait()
        await self.server.close()

    def start(self, timeout: float = 10.0) -> int:
        self._thread.start()
        self._ready.wait(timeout)
        if self.error is not None:
            raise self.error
        return self.server.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
