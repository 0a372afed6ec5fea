"""The app's engine and sessions, the data version tag every cached loader is keyed on, and the writes pages make.

The tag is the database URL with the data's version (the newest audit event's id). Every write anywhere is an audit
event, so the tag changes whenever data changes, in this process or another (the command line, another app
instance), and the next run reads fresh data instead of waiting for a cache to expire. Two databases never share a
cache entry. The tag is read once per run: :func:`refresh_data_tag` at the start of every run (app.py's navigation)
and of every timed fragment run (:func:`refreshing_fragment`); outside a run each loader reads it afresh.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cyp.access.permissions import PermissionDenied, Principal
from cyp.bootstrap import initialise_database
from cyp.read.meta import audit_version, data_version
from cyp.storage.config import database_url
from cyp.storage.db import get_engine, read_session, write_session
from cyp.ui.escaping import escape_markdown

if TYPE_CHECKING:
    from cyp.returns.ingest import IngestResult

DATA_TAG_KEY = "cyp_data_tag"
AUDIT_TAG_KEY = "cyp_audit_tag"


def engine() -> Engine:
    """The process's engine for the configured database, initialised once per process."""
    return _initialised_engine(database_url())


@st.cache_resource(show_spinner=False)
def _initialised_engine(url: str) -> Engine:
    db_engine = get_engine(url)
    initialise_database(db_engine)
    return db_engine


@contextmanager
def session() -> Iterator[Session]:
    """A read session on the app's database (for ui's own modules; pages use the loaders)."""
    with read_session(engine()) as db_session:
        yield db_session


def _current_tag() -> str:
    url = database_url()
    with _initialised_engine(url).connect() as connection:
        return f"{url}#{data_version(connection)}"


def refresh_data_tag() -> None:
    """Read the data's version now and keep it for the rest of this run (one query per run, not per loader)."""
    st.session_state[DATA_TAG_KEY] = _current_tag()
    st.session_state.pop(AUDIT_TAG_KEY, None)  # read again, once, by the first audit loader of this run


def audit_tag() -> str:
    """The tag the audit trail's loaders are keyed on: it changes with every audit event, sign-ins included.

    Read once per run (the audit trail's page calls several loaders), like :func:`data_tag`."""
    tag = st.session_state.get(AUDIT_TAG_KEY)
    if isinstance(tag, str):
        return tag
    url = database_url()
    with _initialised_engine(url).connect() as connection:
        tag = f"{url}#audit-{audit_version(connection)}"
    st.session_state[AUDIT_TAG_KEY] = tag
    return tag


def data_tag() -> str:
    """The tag the cached loaders are keyed on: this run's (see :func:`refresh_data_tag`), else read now."""
    tag = st.session_state.get(DATA_TAG_KEY)
    return tag if isinstance(tag, str) else _current_tag()


@contextmanager
def tagged_session(tag: str) -> Iterator[Session]:
    """A read session on the database a tag names (the cached loaders' own)."""
    with read_session(_initialised_engine(tag.split("#", 1)[0])) as db_session:
        yield db_session


def refreshing_fragment(run_every: float) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """``st.fragment(run_every=...)`` whose every run reads the data's version again, so its loaders see new data."""

    def decorate(body: Callable[[], None]) -> Callable[[], None]:
        @st.fragment(run_every=run_every)
        @functools.wraps(body)
        def run() -> None:
            refresh_data_tag()
            body()

        return run

    return decorate


_SHARED_CACHES: list[Any] = []
MEMO_ENTRIES = 1024  # per loader, when it sets no max_entries of its own
_MISSING = object()


class _Memo:
    """A loader's hits, looked up by plain argument equality before Streamlit's cache is asked.

    ``st.cache_resource`` inspects the function's signature and hashes every argument on every call: a tenth of the
    server's CPU when a meeting's sessions open pages at once, and each run calls a dozen loaders. Arguments are
    strings, flags and tuples here; a call with an unhashable argument goes to Streamlit's cache alone. Streamlit's
    cache stays behind it, so concurrent misses still compute once; entries expire as Streamlit's do (``ttl``).
    Arguments named with a leading underscore are left out of the key, as Streamlit leaves them out.
    """

    def __init__(self, function: Callable[..., Any], ttl: float | None, max_entries: int | None) -> None:
        parameters = inspect.signature(function).parameters.values()
        # A function taking *args or **kwargs is not memoised (its key would need the signature's binding rules).
        self.usable = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in parameters)
        self.names = [parameter.name for parameter in parameters]
        self.ttl = ttl
        self.max_entries = max_entries or MEMO_ENTRIES
        self.entries: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
        if not self.usable or len(args) > len(self.names):
            return None
        key = tuple(value for name, value in zip(self.names, args, strict=False) if not name.startswith("_"))
        if kwargs:
            key += tuple(sorted((name, value) for name, value in kwargs.items() if not name.startswith("_")))
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def get(self, key: tuple[Any, ...]) -> Any:
        found = self.entries.get(key)
        if found is None or (self.ttl is not None and time.monotonic() > found[0]):
            return _MISSING
        return found[1]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        expires = time.monotonic() + self.ttl if self.ttl is not None else 0.0
        with self.lock:
            self.entries[key] = (expires, value)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def shared_cache(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``st.cache_resource`` for reads every session shares (one object, never a per-run copy): the caller must never
    change a result in place. :func:`clear_caches` forgets them too (it leaves the engine alone). Hits are found
    first in a plain dictionary (:class:`_Memo`); ``ttl`` is in seconds."""

    def decorate(function: Callable[..., Any]) -> Any:
        cached = st.cache_resource(show_spinner=False, **options)(function)
        memo = _Memo(function, options.get("ttl"), options.get("max_entries"))

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            key = memo.key(args, kwargs)
            if key is not None:
                found = memo.get(key)
                if found is not _MISSING:
                    return found
            value = cached(*args, **kwargs)
            if key is not None:
                memo.put(key, value)
            return value

        def clear() -> None:
            memo.clear()
            cached.clear()

        call.clear = clear  # type: ignore[attr-defined]  # as Streamlit's cached functions have
        _SHARED_CACHES.append(call)
        return call

    return decorate


_DERIVED: dict[tuple[Any, ...], tuple[tuple[weakref.ref, ...], Any]] = {}
_DERIVED_LOCK = threading.Lock()
DERIVED_ENTRIES = 256


def derived(function: Callable[..., Any], *shared: Any) -> Any:
    """``function(*shared)``, computed once per set of shared objects (results of the loaders every session shares,
    which stay the same objects until the data changes) and then shared too: never change the result in place.

    What is worked out from cached data (a chart cache's key, say) is otherwise worked out again in every run of
    every session. The objects must allow weak references; when they are gone, so is the entry.
    """
    # A page's own function is made anew in every run of its script: keyed on its code, it is the same function
    # each run. A closure is keyed on itself (its cells may hold other values).
    code = getattr(function, "__code__", None)
    key = (code if code is not None and not getattr(function, "__closure__", None) else function, *map(id, shared))
    with _DERIVED_LOCK:
        found = _DERIVED.get(key)
    if found is not None and all(ref() is obj for ref, obj in zip(found[0], shared, strict=True)):
        return found[1]
    result = function(*shared)
    try:
        references = tuple(weakref.ref(obj) for obj in shared)
    except TypeError:  # an object a weak reference cannot follow: nothing is kept
        return result
    with _DERIVED_LOCK:
        for stale in [k for k, (refs, _value) in _DERIVED.items() if any(ref() is None for ref in refs)]:
            del _DERIVED[stale]
        _DERIVED[key] = (references, result)
        while len(_DERIVED) > DERIVED_ENTRIES:
            del _DERIVED[next(iter(_DERIVED))]
    return result


def clear_caches() -> None:
    """Forget every cached read and this run's tag; call after a write so every page shows the new data."""
    st.cache_data.clear()
    for cached in _SHARED_CACHES:
        cached.clear()
    with _DERIVED_LOCK:
        _DERIVED.clear()
    st.session_state.pop(DATA_TAG_KEY, None)
    st.session_state.pop(AUDIT_TAG_KEY, None)


def attempt_write(
    principal: Principal,
    action: Callable[..., Any],
    *args: Any,
    expected: tuple[type[Exception], ...] = (),
    **options: Any,
) -> tuple[bool, Any]:
    """Run ``action(session, principal, *args, **options)`` in its own write transaction: (done, its result).

    A refusal, or one of the ``expected`` errors, is shown on the page and gives (False, None); after a write
    every cached read is forgotten.
    """
    try:
        with write_session(engine()) as db_session:
            outcome = action(db_session, principal, *args, **options)
    except PermissionDenied as refusal:
        st.error(escape_markdown(refusal), icon=":material/block:")
        return False, None
    except expected as error:
        st.error(escape_markdown(error), icon=":material/error:")
        return False, None
    clear_caches()
    return True, outcome


def submit_return(data: bytes, filename: str, principal: Principal, acknowledge_queries: bool) -> IngestResult:
    """Check and store an uploaded return for the signed-in user (ingest checks their permission); after an
    accepted return every cached read is forgotten."""
    from cyp.returns.ingest import ingest_return  # 0.07 s to import (openpyxl): only the upload page needs it

    result = ingest_return(data, filename, principal, acknowledge_queries=acknowledge_queries, engine=engine())
    if result.status == "accepted":
        clear_caches()
    return result


def make_current_again(data: bytes, filename: str, principal: Principal) -> IngestResult:
    """Store an earlier version's file again as the current version, once the uploader has confirmed it
    (:func:`cyp.returns.ingest.make_current_again`); after it is stored every cached read is forgotten."""
    from cyp.returns.ingest import make_current_again as store_again  # openpyxl, as in submit_return

    result = store_again(data, filename, principal, engine=engine())
    if result.accepted:
        clear_caches()
    return result
