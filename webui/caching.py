"""Function-result caching, as Gradio 6's `@gr.cache` and `gr.Cache()`.

`@gr.cache` wraps a function (sync, async, generator or async generator) so that a call with
the same arguments, hashed by content (numpy arrays, PIL images and pandas frames by their
data), returns the stored result; a generator replays every value it yielded. `gr.Cache()` is
a store with manual `get`/`set`, usually a default parameter (`def fn(x, c=gr.Cache()):`), which
events leave alone because it is no input. Both evict the least recently used entries past
`max_size` entries or `max_memory` bytes. With `per_session=True` each browser session has its
own entries, dropped when the session ends (`end_session`).

Unlike Gradio, a cache hit still goes through the queue (it just returns at once).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from webui.files import parse_file_size

# The session an event runs for; the queue sets it before calling the event's function.
current_session: ContextVar[str | None] = ContextVar("webui_current_session", default=None)

# Stores with per-session entries, so a session's end can drop them; weak, so a store goes
# away with its function.
_session_stores: weakref.WeakSet[CacheStore] = weakref.WeakSet()


def content_hash(obj: Any) -> str:
    """A digest of `obj`'s content: equal values hash alike even when they are other objects."""
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(obj: Any) -> str:
    if obj is None or isinstance(obj, bool | int | float | str):
        return f"{type(obj).__name__}:{obj!r}"
    if isinstance(obj, bytes):
        return f"bytes:{_digest(obj)}"
    if isinstance(obj, list | tuple):
        tag = "L" if isinstance(obj, list) else "T"
        return f"{tag}[{','.join(_canonical(x) for x in obj)}]"
    if isinstance(obj, dict):
        pairs = sorted((_canonical(k), _canonical(v)) for k, v in obj.items())
        return "D{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
    if isinstance(obj, set | frozenset):
        return "S{" + ",".join(sorted(_canonical(x) for x in obj)) + "}"
    # Only types of modules already imported can reach here, so none is imported for this.
    numpy, pil, pandas = (sys.modules.get(m) for m in ("numpy", "PIL.Image", "pandas"))
    if numpy is not None and isinstance(obj, numpy.ndarray):
        return f"ndarray({obj.shape},{obj.dtype},{_digest(numpy.ascontiguousarray(obj).tobytes())})"
    if pil is not None and isinstance(obj, pil.Image):
        return f"PIL({obj.mode},{obj.size},{_digest(obj.tobytes())})"
    if pandas is not None and isinstance(obj, pandas.DataFrame | pandas.Series):
        rows = pandas.util.hash_pandas_object(obj, index=True).to_numpy().tobytes()
        names = list(obj.columns) if isinstance(obj, pandas.DataFrame) else [obj.name]
        return f"pandas({_canonical(names)},{_digest(rows)})"
    if hasattr(obj, "model_dump"):  # a pydantic model
        return f"{type(obj).__qualname__}({_canonical(obj.model_dump())})"
    try:
        return f"{type(obj).__qualname__}#{hash(obj)}"
    except TypeError:
        pass
    if hasattr(obj, "__dict__"):
        return f"{type(obj).__qualname__}({_canonical(vars(obj))})"
    raise TypeError(
        f"gr.cache cannot hash a {type(obj).__name__}; pass hashable values, or give "
        "key=lambda kwargs: ... that picks or converts them"
    )


def _size_of(obj: Any) -> int:
    """About how many bytes `obj` holds (the arrays' data, not Python's overheads)."""
    if isinstance(obj, dict):
        return sum(_size_of(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(_size_of(v) for v in obj)
    if isinstance(obj, bytes | bytearray):
        return len(obj)
    nbytes = getattr(obj, "nbytes", None)  # numpy arrays, torch/jax arrays
    if isinstance(nbytes, int):
        return nbytes
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(obj, pil.Image):
        return obj.size[0] * obj.size[1] * len(obj.getbands())
    return sys.getsizeof(obj)


def _limits(max_size: int, max_memory: int | str | None) -> tuple[int, int | None]:
    """The entry and byte limits checked, the bytes parsed ("512mb")."""
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
        raise ValueError(f"max_size must be an int >= 0 (0: no limit), got {max_size!r}")
    try:
        return max_size, parse_file_size(max_memory)
    except (TypeError, ValueError):
        raise ValueError(
            f"max_memory must be bytes or a size like '512mb', got {max_memory!r}"
        ) from None


class CacheStore:
    """Entries by key hash, least recently used first; thread-safe."""

    def __init__(self, *, max_size: int, max_memory: int | str | None, per_session: bool):
        self.max_size, self.max_memory = _limits(max_size, max_memory)
        self.per_session = per_session
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        if per_session:
            _session_stores.add(self)

    def _scoped(self, key_hash: str, session: str | None = None) -> str:
        if not self.per_session:
            return key_hash
        return f"{session or current_session.get() or '_global'}:{key_hash}"

    def get(self, key_hash: str) -> dict[str, Any] | None:
        scoped = self._scoped(key_hash)
        with self._lock:
            entry = self._entries.get(scoped)
            if entry is not None:
                self._entries.move_to_end(scoped)
            return entry

    def put(self, key_hash: str, entry: dict[str, Any]) -> None:
        scoped = self._scoped(key_hash)
        size = _size_of(entry) if self.max_memory is not None else 0
        with self._lock:
            self._entries.pop(scoped, None)
            self._entries[scoped] = entry
            self._sizes[scoped] = size
            while self._entries and self._over_limit():
                oldest, _ = self._entries.popitem(last=False)
                self._sizes.pop(oldest, None)

    def _over_limit(self) -> bool:
        if self.max_size and len(self._entries) > self.max_size:
            return True
        # The newest entry stays even when it alone is over the memory limit.
        memory = sum(self._sizes.values())
        return self.max_memory is not None and memory > self.max_memory and len(self._entries) > 1

    def entries(self) -> list[dict[str, Any]]:
        """The entries visible here: all, or the current session's with `per_session`."""
        prefix = self._scoped("")
        with self._lock:
            return [e for k, e in self._entries.items() if k.startswith(prefix)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()

    def clear_session(self, session: str) -> None:
        prefix = self._scoped("", session)
        with self._lock:
            for scoped in [k for k in self._entries if k.startswith(prefix)]:
                del self._entries[scoped]
                self._sizes.pop(scoped, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def end_session(session: str) -> None:
    """Drop a session's entries from every `per_session` cache (its page closed)."""
    for store in list(_session_stores):
        store.clear_session(session)


def _wrap(fn: Callable[..., Any], store: CacheStore, key: Callable[..., Any] | None) -> Any:
    """`fn` answering from `store` when its arguments (or `key(arguments)`) were seen."""
    signature = inspect.signature(fn)

    def lookup(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], str]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        return arguments, content_hash(arguments if key is None else key(arguments))

    def call(arguments: dict[str, Any]) -> Any:
        return fn(**arguments)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def replay_async_gen(*args: Any, **kwargs: Any) -> Any:
            arguments, key_hash = lookup(args, kwargs)
            entry = store.get(key_hash)
            if entry is not None:
                for value in entry["yields"]:
                    yield value
                return
            yielded = []
            async for value in call(arguments):
                yielded.append(copy.deepcopy(value))  # the caller may change what it got
                yield value
            store.put(key_hash, {"yields": yielded})

        return replay_async_gen
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def replay_gen(*args: Any, **kwargs: Any) -> Any:
            arguments, key_hash = lookup(args, kwargs)
            entry = store.get(key_hash)
            if entry is not None:
                yield from entry["yields"]
                return
            yielded = []
            for value in call(arguments):
                yielded.append(copy.deepcopy(value))
                yield value
            store.put(key_hash, {"yields": yielded})

        return replay_gen
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def cached_async(*args: Any, **kwargs: Any) -> Any:
            arguments, key_hash = lookup(args, kwargs)
            entry = store.get(key_hash)
            if entry is not None:
                return entry["value"]
            value = await call(arguments)
            store.put(key_hash, {"value": value})
            return value

        return cached_async

    @functools.wraps(fn)
    def cached(*args: Any, **kwargs: Any) -> Any:
        arguments, key_hash = lookup(args, kwargs)
        entry = store.get(key_hash)
        if entry is not None:
            return entry["value"]
        value = call(arguments)
        store.put(key_hash, {"value": value})
        return value

    return cached


# `gr.cache(fn)(...)` inside an event function runs on every request: it must find the wrapper
# (and store) made the first time, not start empty. The newest 1024 are kept; each remembers
# its fn, so an id reused by a new object does not find an old wrapper.
_RUNTIME_WRAPPERS_MAX = 1024
_runtime_wrappers: OrderedDict[tuple[Any, ...], tuple[Callable[..., Any], Any]] = OrderedDict()
_runtime_lock = threading.Lock()


def cache(
    fn: Callable[..., Any] | None = None,
    *,
    key: Callable[[dict[str, Any]], Any] | None = None,
    max_size: int = 128,
    max_memory: int | str | None = None,
    per_session: bool = False,
) -> Any:
    """Cache `fn`'s results by its arguments' content: `@gr.cache`, `@gr.cache(max_size=8)`,
    or `gr.cache(fn)(*args)` at run time.

    Args:
        fn: the function (sync, async, generator or async generator).
        key: takes the arguments by name and returns what to hash instead of all of them.
        max_size: entries kept (least recently used go first); 0 for no limit.
        max_memory: bytes, or a size such as "512mb", the entries may hold together.
        per_session: each browser session sees only its own entries.
    """
    if key is not None and not callable(key):
        raise TypeError(f"gr.cache key= must be a function of the arguments dict, got {key!r}")
    _limits(max_size, max_memory)  # refused now, not at the first call

    def decorate(func: Callable[..., Any]) -> Any:
        if not callable(func):
            raise TypeError(
                f"gr.cache expects a function, got {func!r}: write gr.cache(fn)(*args), "
                "not gr.cache(fn(*args))"
            )
        registry_key = (id(func), id(key), max_size, max_memory, per_session)
        with _runtime_lock:
            known = _runtime_wrappers.get(registry_key)
            if known is not None and known[0] is func:
                _runtime_wrappers.move_to_end(registry_key)
                return known[1]
            store = CacheStore(max_size=max_size, max_memory=max_memory, per_session=per_session)
            wrapper = _wrap(func, store, key)
            wrapper.cache = store
            _runtime_wrappers[registry_key] = (func, wrapper)
            while len(_runtime_wrappers) > _RUNTIME_WRAPPERS_MAX:
                _runtime_wrappers.popitem(last=False)
            return wrapper

    return decorate if fn is None else decorate(fn)


class Cache:
    """A store with manual `get`/`set`, for what `@gr.cache` cannot key: normalised keys,
    partial results. Usually a default parameter: `def fn(city, c=gr.Cache()):`."""

    def __init__(
        self, *, max_size: int = 128, max_memory: int | str | None = None, per_session: bool = False
    ):
        self._store = CacheStore(max_size=max_size, max_memory=max_memory, per_session=per_session)

    def get(self, key: Any) -> dict[str, Any] | None:
        """The data stored under `key` (compared by content), or None."""
        entry = self._store.get(content_hash(key))
        return None if entry is None else {k: v for k, v in entry.items() if k != "_key"}

    def set(self, key: Any, **data: Any) -> None:
        """Store keyword `data` under `key`, replacing what was there."""
        self._store.put(content_hash(key), {"_key": key, **data})

    def keys(self) -> list[Any]:
        """The keys stored (this session's with `per_session=True`), least recently used
        first."""
        return [entry["_key"] for entry in self._store.entries()]

    def clear(self) -> None:
        self._store.clear()

    def __len__(self) -> int:
        return len(self._store)
