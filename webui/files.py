"""One file policy per app: where uploads and outputs live, and which paths may ever be read.

Story: every app owns one directory (a private temp dir unless configured) holding `upload/`
(files clients send to `POST /gradio_api/upload`) and `cache/` (files that event functions
return, copied in). `FileStore.check` is the single gate for a path that came from outside:
the `file=` route and every FileData in every input payload go through it. A path passes only
if, once symlinks are resolved, it lies inside the upload dir, the cache dir or a path the app
allowed with `launch(allowed_paths=...)`, and in no `blocked_paths` entry (blocked wins).
Refusals never echo the path, so errors reveal nothing about the server's file system.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
import shutil
import tempfile
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from webui.errors import Error
from webui.media import MEDIA_ROOT
from webui.urls import API_PREFIX

FILE_DATA_TYPE = "gradio.FileData"
HASH_CHUNK = 1 << 20
_SIZE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # http:, file:, data:, and C: drives
_NAME_PUNCTUATION = frozenset("._- ()[]+,=@~")  # kept in upload names; no %, #, &, quotes
_DECODE_ROUNDS = 3  # how deep nested percent-encoding is unwrapped when looking for traversal

# The base URL of the request being served (computed when asked), so outputs can carry absolute
# URLs; set by the server's `RequestScopeMiddleware` (webui.file_routes) and inherited by the
# event tasks a request starts.
request_base_url: contextvars.ContextVar[Callable[[], str] | None] = contextvars.ContextVar(
    "webui_request_base_url", default=None
)


class FileAccessError(Error):
    """A path or upload refused: `status` is the HTTP code, the message never names the path.

    An `Error`, so a refusal inside an event reaches the caller with its message.
    """

    def __init__(self, status: int, message: str):
        super().__init__(message, title="File refused")
        self.status = status


def parse_file_size(size: int | str | None) -> int | None:
    """Bytes from an int or a string such as "5mb" or "1 GB" (units of 1024); None = no limit."""
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int | str):
        raise TypeError(f"max_file_size must be an int, a string like '5mb' or None: {size!r}")
    if isinstance(size, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)\s*", size.lower())
        if match is None:
            raise ValueError(f"max_file_size {size!r} is not a size like '500kb', '5mb', '1gb'")
        size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    if size <= 0:
        raise ValueError(f"max_file_size must be positive, got {size}")
    return size


def safe_filename(name: str) -> str:
    """The last path segment of a client-chosen name, keeping only letters, digits and plain
    punctuation, so the name is safe in a path and in a `file=` URL."""
    base = re.split(r"[/\\]", name)[-1]
    base = "".join(c for c in base if c.isalnum() or c in _NAME_PUNCTUATION)
    base = base.strip().lstrip(".") or "file"
    if len(base) > 200:  # keep the extension, which decides how the file is served
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 190 - len(ext)] + dot + ext) if dot and len(ext) < 16 else base[:200]
    return base


def _malformed(raw: str) -> str | None:
    """Why `raw` cannot be a server path at all (400), or None."""
    if not raw:
        return "the file path is empty"
    if "\x00" in raw:
        return "the file path contains a NUL byte"
    if "\\" in raw:
        return "the file path contains a backslash; Windows and UNC paths are not accepted"
    if raw.startswith("//"):
        return "the file path starts with '//'; network (UNC) paths are not accepted"
    if _URL_LIKE.match(raw):
        return "the file path is a URL or a drive path; only server file paths are accepted"
    return None


def _traverses(raw: str) -> bool:
    """Whether `raw`, or any percent-decoding of it, has a `..` segment or hidden separators."""
    text = raw
    for _ in range(_DECODE_ROUNDS + 1):
        if ".." in text.split("/") or "\x00" in text or "\\" in text:
            return True
        decoded = urllib.parse.unquote(text)
        if decoded == text:
            return False
        text = decoded
    return True  # still encoded after several rounds: nothing legitimate looks like that


def _both_spellings(paths: Iterable[str | os.PathLike[str]] | None) -> tuple[Path, ...]:
    """Each path as written (made absolute) and with symlinks resolved, without repeats."""
    spelled: dict[Path, None] = {}
    for path in paths or ():
        if isinstance(path, list | tuple):  # [MEDIA_PATHS], as Gradio's audio_subtitle demo
            spelled.update(dict.fromkeys(_both_spellings(path)))  # passes (Gradio keeps it)
            continue
        spelled[Path(os.path.abspath(path))] = None
        spelled[Path(os.path.realpath(path))] = None
    return tuple(spelled)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _inside_folded(path: Path, root: Path) -> bool:
    """Case-insensitive `_inside`, so a blocked path also blocks its other spellings."""
    return _inside(Path(str(path).casefold()), Path(str(root).casefold()))


class FileStore:
    """An app's upload and cache directories and the path policy over them.

    Args:
        directory: where `upload/` and `cache/` go. Default: `$GRADIO_TEMP_DIR` if set, else a
            private temp dir created on first use and removed by `cleanup()` (and at exit).
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self._configured_dir = Path(directory) if directory is not None else None
        self._root: Path | None = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()
        self._cached: dict[tuple[str, int, int], Path] = {}
        self.allowed_paths: tuple[Path, ...] = ()
        self.blocked_paths: tuple[Path, ...] = ()
        self.max_file_size: int | None = None

    def configure(
        self,
        *,
        allowed_paths: Iterable[str | os.PathLike[str]] | None = None,
        blocked_paths: Iterable[str | os.PathLike[str]] | None = None,
        max_file_size: int | str | None = None,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        """Change the settings given (None leaves one as it is); relative paths are taken
        from the current directory, now."""
        for name, given in (("allowed_paths", allowed_paths), ("blocked_paths", blocked_paths)):
            if isinstance(given, str | os.PathLike):
                raise TypeError(f"{name} must be a list of paths, not one path: {given!r}")
        if allowed_paths is not None:
            self.allowed_paths = _both_spellings(allowed_paths)
        if blocked_paths is not None:
            self.blocked_paths = _both_spellings(blocked_paths)
        if max_file_size is not None:
            self.max_file_size = parse_file_size(max_file_size)
        if directory is not None:
            if self._root is not None and Path(directory) != self._configured_dir:
                raise RuntimeError("the file directory cannot change once files were stored")
            self._configured_dir = Path(directory)

    @property
    def root(self) -> Path:
        """The app's file directory, created (mode 0700) on first use."""
        with self._lock:
            if self._root is None:
                configured = self._configured_dir or (
                    Path(os.environ["GRADIO_TEMP_DIR"])
                    if os.environ.get("GRADIO_TEMP_DIR")
                    else None
                )
                if configured is None:
                    self._root = Path(os.path.realpath(tempfile.mkdtemp(prefix="webui-")))
                    self._finalizer = weakref.finalize(
                        self, shutil.rmtree, str(self._root), ignore_errors=True
                    )
                else:
                    configured.mkdir(parents=True, exist_ok=True, mode=0o700)
                    self._root = Path(os.path.realpath(configured))
            return self._root

    @property
    def upload_dir(self) -> Path:
        return self.root / "upload"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def cleanup(self) -> None:
        """Remove the private temp dir (a configured directory is left alone)."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()  # runs shutil.rmtree once and detaches
            self._root, self._finalizer = None, None
            self._cached.clear()

    # -- the policy ---------------------------------------------------------------------------

    def _blocked(self, *paths: Path) -> bool:
        return any(_inside_folded(p, b) for p in paths for b in self.blocked_paths)

    def _allowed_root(self, path: Path) -> Path | None:
        if self._root is not None:
            for root in (self.upload_dir, self.cache_dir):
                if _inside(path, root):
                    return root
        for root in self.allowed_paths:
            if _inside(path, root):
                return root
        return None

    def check(self, raw: str) -> Path:
        """The resolved path `raw` names if the policy allows reading it.

        Raises:
            FileAccessError: 400 if `raw` is no server path (NUL, backslash, URL, drive, UNC),
                403 if it traverses or lies outside the allowed roots or inside a blocked one.
        """
        if not isinstance(raw, str):
            raise FileAccessError(400, f"a file path must be a string, got {type(raw).__name__}")
        reason = _malformed(raw)
        if reason is not None:
            raise FileAccessError(400, reason)
        if _traverses(raw):
            raise FileAccessError(403, "file access denied: path traversal is not allowed")
        given = Path(os.path.abspath(raw))
        resolved = Path(os.path.realpath(given))
        if self._blocked(given, resolved):
            raise FileAccessError(403, "file access denied")
        root = self._allowed_root(resolved)
        if root is None or self._allowed_root(given) is None:
            raise FileAccessError(403, "file access denied")
        if root in self.allowed_paths and any(
            part.startswith(".") for part in resolved.relative_to(root).parts
        ):
            raise FileAccessError(403, "file access denied: hidden files are not served")
        return resolved

    def check_file(self, raw: str) -> Path:
        """`check`, then 404 unless the path is an existing regular file."""
        path = self.check(raw)
        if not path.is_file():
            raise FileAccessError(404, "file not found")
        return path

    # -- storing files ------------------------------------------------------------------------

    def new_partial(self) -> tuple[int, str]:
        """An open file descriptor and path for an upload in progress (never served)."""
        partial = self.root / "partial"
        partial.mkdir(exist_ok=True, mode=0o700)
        return tempfile.mkstemp(dir=partial)

    def commit_upload(self, partial: str, digest: str, filename: str) -> Path:
        """Move a finished upload to `upload/<sha256>/<safe name>` and return that path."""
        folder = self.upload_dir / digest
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_filename(filename)
        os.replace(partial, target)
        return target

    def cache_bytes(self, data: bytes, filename: str) -> Path:
        """Store bytes an event produced at `cache/<sha256>/<safe name>`."""
        folder = self.cache_dir / hashlib.sha256(data).hexdigest()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_filename(filename)
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=folder)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        return target

    def cache_file(self, source: str | os.PathLike[str]) -> Path:
        """The servable path of a file an event function returned, copied into the cache.

        Files already in the upload or cache dir are used in place. Others must be readable
        under the output rule: inside the current directory (hidden files refused), the system
        temp dir or `allowed_paths`, and not blocked, so crafted data cannot make a component
        publish an arbitrary server file.
        """
        text = os.fspath(source)
        reason = _malformed(text)
        if reason is not None:
            raise FileAccessError(400, reason)
        given = Path(os.path.abspath(text))
        resolved = Path(os.path.realpath(given))
        if self._blocked(given, resolved):
            raise FileAccessError(403, "the returned file is in a blocked path")
        if not resolved.is_file():
            raise FileAccessError(404, f"the returned file {Path(text).name!r} does not exist")
        if self._root is not None and (
            _inside(resolved, self.upload_dir) or _inside(resolved, self.cache_dir)
        ):
            return resolved
        if not self._may_publish(resolved):
            raise FileAccessError(
                403,
                f"the returned file {Path(text).name!r} is hidden or outside the current "
                "directory, the temp dir and allowed_paths; outputs may come only from those "
                "(add a folder with launch(allowed_paths=[...]))",
            )
        stat = resolved.stat()
        key = (str(resolved), stat.st_mtime_ns, stat.st_size)
        cached = self._cached.get(key)
        if cached is not None and cached.is_file():
            return cached
        digest = hashlib.sha256()
        with open(resolved, "rb") as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
        folder = self.cache_dir / digest.hexdigest()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_filename(resolved.name)
        if not target.exists():
            shutil.copyfile(resolved, target)
        self._cached[key] = target
        return target

    def _may_publish(self, path: Path) -> bool:
        """Inside allowed_paths, the current directory or the temp dir, and not hidden below
        the one that contains it (no .env, .git/config or .ssh keys)."""
        roots = (
            *self.allowed_paths,
            Path(os.path.realpath(os.getcwd())),
            Path(os.path.realpath(tempfile.gettempdir())),
            MEDIA_ROOT,  # webui's own samples (gr.media.get_image()), public as static files are
        )
        return any(
            _inside(path, root)
            and not any(part.startswith(".") for part in path.relative_to(root).parts)
            for root in roots
        )


def check_payload_files(store: FileStore, payload: Any) -> None:
    """Refuse an input payload holding any FileData (`meta._type` marker) the policy denies.

    Runs over every input of every event, whatever its component, so no component can hand a
    client-chosen server path to a function. Dicts without the marker are plain data.
    """
    pending = [payload]  # a stack, not recursion: JSON nesting depth is the client's choice
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            meta = value.get("meta")
            if isinstance(meta, dict) and meta.get("_type") == FILE_DATA_TYPE:
                store.check(value.get("path"))
            pending.extend(v for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            pending.extend(v for v in value if isinstance(v, dict | list))


def file_url(path: Path) -> str:
    """The URL serving `path`: absolute when a request is being served, else root-relative."""
    quoted = urllib.parse.quote(str(path), safe="/")
    base_url = request_base_url.get()
    if base_url is None:
        return f"{API_PREFIX}/file={quoted}"
    return f"{base_url().rstrip('/')}{API_PREFIX}/file={quoted}"
