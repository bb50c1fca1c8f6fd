"""One long-lived asyncio event loop in a daemon thread.

aiortc needs a running asyncio loop, while Flask and Flask-SocketIO (threading
mode) run plain threads. :class:`AsyncioThread` owns one loop in one daemon
thread; any other thread hands it coroutines with :meth:`AsyncioThread.run`
(blocking) or :meth:`AsyncioThread.submit` (a ``concurrent.futures.Future``).

Lifecycle: ``start()`` and ``stop()`` are idempotent and thread-safe. ``stop()``
runs the registered async shutdown callbacks (in registration order), cancels
the tasks still pending, shuts down async generators and the default executor,
closes the loop and joins the thread. A stopped instance may be started again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
ShutdownCallback = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)


class AsyncioThread:
    """A daemon thread running one asyncio event loop until :meth:`stop`."""

    def __init__(self, name: str = "telemed-asyncio") -> None:
        self.name = name
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._callbacks: list[ShutdownCallback] = []

    # -- lifecycle -----------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between a completed :meth:`start` and the beginning of :meth:`stop`."""
        return self._accepting

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (for ``call_soon_threadsafe`` and friends)."""
        loop = self._loop
        if loop is None or not self._accepting:
            raise RuntimeError(f"{self.name} is not running")
        return loop

    def start(self) -> AsyncioThread:
        """Start the loop thread unless it already runs; return ``self``."""
        with self._lock:
            if self._accepting:
                return self
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(target=self._main, args=(loop, ready), name=self.name, daemon=True)
            thread.start()
            ready.wait()
            self._loop, self._thread, self._accepting = loop, thread, True
            return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the loop down (see module docstring); no-op when not running.

        ``timeout`` bounds each phase (callbacks, then the thread join). Must not
        be called from the loop thread itself.
        """
        with self._lock:
            if not self._accepting or self._loop is None or self._thread is None:
                return
            self._check_not_loop_thread()
            loop, thread = self._loop, self._thread
            self._accepting = False
            fut = asyncio.run_coroutine_threadsafe(self._run_callbacks(timeout), loop)
            try:
                fut.result(timeout)
            except Exception:  # callbacks are best effort; the loop must still stop
                log.exception("%s: shutdown callbacks failed", self.name)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():
                log.error("%s: loop thread did not stop within %.1fs", self.name, timeout)
            self._loop = self._thread = None

    def add_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """Register ``async def callback()`` to be awaited on the loop by :meth:`stop`."""
        with self._lock:
            self._callbacks.append(callback)

    def remove_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """Forget a callback registered with :meth:`add_shutdown_callback` (if present)."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    # -- submitting work -----------------------------------------------------

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; return its thread-safe future.

        Raises ``RuntimeError`` (and closes ``coro``) when the thread is not running.
        Cancelling the returned future cancels the task on the loop.
        """
        loop = self._loop
        if loop is None or not self._accepting:
            coro.close()
            raise RuntimeError(f"{self.name} is not running")
        try:
            return asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # loop closed between the check and the call
            coro.close()
            raise

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and block until it finishes; return its result.

        Exceptions raised by ``coro`` are re-raised here. On ``timeout`` the task is
        cancelled and ``TimeoutError`` is raised. Safe from any thread except the
        loop thread (that would deadlock, so it raises ``RuntimeError``).
        """
        if self._loop is not None and self._is_loop_thread():
            coro.close()
            raise RuntimeError("AsyncioThread.run() called from its own loop thread")
        fut = self.submit(coro)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"coroutine did not finish within {timeout}s") from None

    # -- internals -----------------------------------------------------------

    def _is_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def _check_not_loop_thread(self) -> None:
        if self._is_loop_thread():
            raise RuntimeError("AsyncioThread.stop() called from its own loop thread")

    async def _run_callbacks(self, timeout: float) -> None:
        for callback in list(self._callbacks):
            try:
                await asyncio.wait_for(callback(), timeout)
            except Exception:
                log.exception("%s: shutdown callback %r failed", self.name, callback)

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
