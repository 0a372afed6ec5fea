"""What the web process does around its life: tidy expired sessions now and then, run the reminders on a timer when
``CYP_REMIND_EVERY_MINUTES`` (or ``CYP_REMIND_EVERY_SECONDS``) asks for it, and close the database at the end."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from cyp.access.sessions import purge_expired
from cyp.storage.db import dispose_engines, write_session

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 15 * 60
# When the long-lived objects (modules, the framework, shared caches, the first sessions' page code) are moved out of
# the collector's sight: full collections walked them all, 13-26% of the server's CPU with 50 sessions at once
# (bench/load.py). Collected first, so no garbage is frozen; later objects are collected as usual.
FREEZE_AFTER_SECONDS = (10.0, 60.0)
_serving = False


def serving() -> bool:
    """Whether this process serves the app through serve.py (our routes mounted), rather than a bare app.py."""
    return _serving


def purge_once() -> int:
    """Delete expired sessions and tickets in one short transaction; 0 (logged) if the database is not there yet."""
    from cyp.storage.db import get_engine

    try:
        engine = get_engine()
        if not inspect(engine).has_table("web_sessions"):  # not initialised yet: nothing to purge
            return 0
        with write_session(engine) as session:
            return purge_expired(session)
    except SQLAlchemyError:
        logger.exception("could not purge expired sessions")
        return 0


def freeze_long_lived_objects() -> int:
    """Collect garbage, then move every object tracked now to the collector's permanent generation (gc.freeze);
    returns how many objects are frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def _freeze_later(delays: tuple[float, ...]) -> None:
    waited = 0.0
    for delay in delays:
        await asyncio.sleep(delay - waited)
        waited = delay
        logger.info("froze %d long-lived objects", freeze_long_lived_objects())


async def _purge_forever(every: float) -> None:
    while True:
        # In a thread: a database call must never hold up the event loop that serves every websocket.
        removed = await asyncio.to_thread(purge_once)
        if removed:
            logger.info("purged %d expired sessions", removed)
        await asyncio.sleep(every)


def start_reminder_timer() -> threading.Thread | None:
    """Start this process's reminder timer if the settings ask for one (:func:`cyp.cycle.reminders.start_timer`).

    One thread per process (the lifespan runs once per process, and ``start_timer`` refuses a second thread); across
    processes the reminders' database lease lets one run at a time, and each email's unique key sends it once.
    """
    from cyp.cycle.reminders import start_timer

    thread = start_timer()
    if thread is not None:
        logger.info("reminders run in this process on a timer (%s)", thread.name)
    return thread


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    """Start the periodic purge of expired sessions and the reminder timer (when set); at shutdown stop both and close
    every database connection.

    Every instance on a shared PostgreSQL runs its own purge: the deletes are idempotent, so they never conflict.
    """
    from cyp.cycle.reminders import stop_timer

    global _serving
    _serving = True
    task = asyncio.create_task(_purge_forever(PURGE_EVERY_SECONDS))
    freezer = asyncio.create_task(_freeze_later(FREEZE_AFTER_SECONDS))
    timer = start_reminder_timer()
    try:
        yield {"purge_task": task, "reminder_timer": timer}
    finally:
        _serving = False
        for background in (task, freezer):
            background.cancel()
            with suppress(asyncio.CancelledError):
                await background
        if timer is not None:
            await asyncio.to_thread(stop_timer)  # joins the thread: never on the event loop
        dispose_engines()
