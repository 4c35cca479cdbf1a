"""An httpx transport wrapper that keeps every exchange for later inspection.

Wrap the transport a client under test uses, run the scenario, then check what went over the
wire, e.g. with ``SpecValidator.validate_httpx_exchange``::

    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox))
    async with httpx.AsyncClient(transport=recorder, base_url="https://api.ramp.com") as client:
        ...
    for request, response in recorder.exchanges:
        spec.validate_httpx_exchange(request, response)
"""

from __future__ import annotations

import httpx

__all__ = ["RecordingTransport"]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards requests to ``inner`` and records ``(request, response)`` pairs in order.

    Both bodies are read before they are recorded, so ``request.content`` and
    ``response.content`` stay available after the client has closed the response. A request
    that fails in ``inner`` (connection error, timeout) is re-raised and not recorded.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Read the request body, forward, read the response body, record the pair."""
        await request.aread()
        response = await self._inner.handle_async_request(request)
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        self.exchanges.append((request, response))
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()

    def clear(self) -> None:
        """Forget the exchanges recorded so far."""
        self.exchanges.clear()

    def requests_to(self, method: str, path: str) -> list[httpx.Request]:
        """Recorded requests with this method and URL path (query string ignored)."""
        return [
            request
            for request, _ in self.exchanges
            if request.method == method.upper() and request.url.path == path
        ]
