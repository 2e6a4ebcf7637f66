"""A failure-injecting HTTP/1.1 proxy on 127.0.0.1 in front of the REAL case service.

It exists only for the faults the real service cannot produce on demand. Each `POST /api/v1/cases` takes
the next step from `plan`:
- an int (e.g. 503): the proxy itself answers with that status; the service never sees the request;
- "swallow": the request goes to the service, which files the case and answers, but the answer is thrown
  away and the edge's connection closed, as when a response is lost on the way back;
- plan empty: forwarded both ways unchanged.
Everything else is forwarded. `statuses` records what the service (not the proxy) answered to case posts.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from streetwatch.demo.processes import free_port

CASES_POST = b"POST /api/v1/cases "


async def _read_message(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 message (head + Content-Length body); b"" at a clean end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise ValueError("the fault proxy handles Content-Length messages only, not chunked ones")
    return head + await reader.readexactly(length)


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.plan: deque[int | str] = deque()
        self.case_posts = 0  # case posts that reached the proxy, whatever happened to them
        self.statuses: list[int] = []  # what the service answered to the case posts it saw
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:  # end open connections before the loop goes, so none is left dangling
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            while request := await _read_message(client_r):
                step: int | str | None = None
                if request.startswith(CASES_POST):
                    self.case_posts += 1
                    step = self.plan.popleft() if self.plan else None
                if isinstance(step, int):
                    body = b'{"detail":"injected failure"}'
                    client_w.write(
                        f"HTTP/1.1 {step} Injected\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                        + body
                    )
                    await client_w.drain()
                    return
                response = await self._forward(request)
                if request.startswith(CASES_POST):
                    self.statuses.append(int(response.split(b" ", 2)[1]))
                if step == "swallow":
                    return  # the service answered; the edge never hears it
                client_w.write(response)
                await client_w.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            client_w.close()

    async def _forward(self, request: bytes) -> bytes:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            up_w.write(request)
            await up_w.drain()
            return await _read_message(up_r)
        finally:
            up_w.close()
