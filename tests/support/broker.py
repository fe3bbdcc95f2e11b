"""Point this process's Celery app at another broker for the length of a test.

The app reads ``CELERY_BROKER_URL`` once and keeps pooled connections, so changing Django
settings is not enough: :func:`celery_broker` swaps the URL and drops the pools, and puts
everything back afterwards. The ``memory_broker`` fixture uses kombu's in-process transport,
so unit tests that let ``transaction.on_commit`` enqueue never reach a real broker (or the
embedded broker's folders under ``var/``), and can read what was sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu import pools as kombu_pools

from tutor.celery import app as celery_app


def _drop_pools(app: Celery) -> None:
    # kombu keeps producer pools in a process-wide registry keyed by connection: reset it
    # too, or the next publish reuses a pool bound to the old, closed connections.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()


@contextlib.contextmanager
def celery_broker(url: str, *, transport_options: dict[str, Any] | None = None) -> Iterator[Celery]:
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)
    _drop_pools(celery_app)
    conf.broker_url = url
    if transport_options is not None:
        conf.broker_transport_options = transport_options
    try:
        yield celery_app
    finally:
        _drop_pools(celery_app)
        conf.broker_url, conf.broker_transport_options = saved


def sent_tasks(app: Celery, *, queue: str = "celery") -> list[tuple[str, list[Any]]]:
    """Drain ``queue`` and return each message's task name and positional arguments."""
    found = []
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        try:
            while True:
                try:
                    message = simple.get(timeout=0.05)
                except simple.Empty:
                    break
                found.append((message.headers["task"], message.payload[0]))
                message.ack()
        finally:
            simple.close()
    return found


class MemoryBroker:
    """What the ``memory_broker`` fixture yields."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def sent(self) -> list[tuple[str, list[Any]]]:
        """Every task sent since the last call, as (task name, positional arguments)."""
        return sent_tasks(self.app)

    def unreachable(self, url: str) -> contextlib.AbstractContextManager[Celery]:
        """Publish to ``url`` (e.g. a closed port) instead, inside a ``with`` block."""
        return celery_broker(url)


@pytest.fixture
def memory_broker() -> Iterator[MemoryBroker]:
    with celery_broker("memory://", transport_options={}) as app:
        sent_tasks(app)  # start from an empty queue whatever an earlier test left
        yield MemoryBroker(app)
