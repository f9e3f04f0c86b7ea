"""FileExplorer: pick files or folders under a server directory, as Gradio's gr.FileExplorer.

The payload is a list of selections, each the path below `root_dir` split into parts
(`[["docs", "a.md"]]`); `fn` gets absolute path strings (one, or None, for
`file_count="single"`). The page lists a folder by calling the server function `ls` (see
`webui.component_server`) and shows what `glob` keeps and `ignore_glob` drops, as Gradio does
(both matched against the absolute path with `fnmatch`).

The path policy (`webui.files`) holds for the explorer as for every path from outside:
  * a selection or listed folder must stay inside `root_dir`, also after symlinks are resolved:
    `..`, absolute parts, NUL bytes and backslashes are refused (403, or a gr.Error in events);
  * entries in the app's `blocked_paths` are never listed nor passed to `fn`;
  * hidden entries (a name starting with ".") are not listed and cannot be selected, so an
    explorer over a project never shows `.env` or `.git`. This differs from Gradio, which lists
    them.
The explorer shows names only; it never serves a file's content (a File output does that, under
its own rules).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any, ClassVar

from webui.component import server_function
from webui.components.base import Component
from webui.events import Changeable, Selectable
from webui.files import FileAccessError

_COUNTS = ("single", "multiple")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class FileExplorer(Changeable, Selectable, Component):
    block_type = "fileexplorer"
    python_type = "list[list[str]]"
    example: ClassVar[Any] = [["gradio", "app.py"]]

    def __init__(
        self,
        glob: str = "**/*",
        *,
        value: str | list[str] | Any = None,
        file_count: str = "multiple",
        root_dir: str | os.PathLike[str] = ".",
        ignore_glob: str | None = None,
        height: int | str | None = None,
        max_height: int | str | None = 500,
        min_height: int | str | None = None,
        **kwargs: Any,
    ):
        """`root_dir` is taken from the current directory now; it must be a directory."""
        root = Path(os.path.abspath(root_dir))
        if not root.exists():
            raise ValueError(f"The specified root_dir does not exist: {root_dir}")
        if not root.is_dir():
            raise ValueError(f"The specified root_dir is not a directory: {root_dir}")
        if file_count not in _COUNTS:
            raise ValueError(
                f"FileExplorer file_count must be one of {_COUNTS}, got {file_count!r}"
            )
        if not isinstance(glob, str) or not (ignore_glob is None or isinstance(ignore_glob, str)):
            raise ValueError("FileExplorer glob and ignore_glob must be strings")
        self.root_dir = str(root)
        if isinstance(root_dir, os.PathLike):  # an update sends it as given: a Path as text
            self.constructor_args["root_dir"] = os.fspath(root_dir)
        self.glob, self.ignore_glob, self.file_count = glob, ignore_glob, file_count
        self.height, self.max_height, self.min_height = height, max_height, min_height
        kwargs.setdefault("min_width", 160)
        super().__init__(value, **kwargs)

    # -- paths ------------------------------------------------------------------------------

    def _blocked_paths(self) -> tuple[Path, ...]:
        return self.root.files.blocked_paths if self.root is not None else ()

    def _refused(self, path: Path) -> bool:
        """Blocked by the app (case-insensitively, as the policy's `blocked_paths`)."""
        folded = Path(str(path).casefold())
        return any(_inside(folded, Path(str(b).casefold())) for b in self._blocked_paths())

    def safe_join(self, parts: Any) -> str:
        """The absolute path of `parts` below `root_dir`, or FileAccessError if it would leave
        it (before or after symlinks), is hidden or blocked. Need not exist."""
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise FileAccessError(400, "a FileExplorer path is a list of strings")
        root = Path(self.root_dir)
        if not parts:
            return str(root)
        for part in parts:
            if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
                raise FileAccessError(403, "file access denied: not a name inside root_dir")
            if part.startswith("."):
                raise FileAccessError(403, "file access denied: hidden files are not listed")
        path = root.joinpath(*parts)
        resolved = Path(os.path.realpath(path))
        if not _inside(resolved, Path(os.path.realpath(root))):
            raise FileAccessError(403, "file access denied: outside root_dir")
        if self._refused(path) or self._refused(resolved):
            raise FileAccessError(403, "file access denied")
        return str(path)

    def _strip_root(self, path: str) -> list[str]:
        root = self.root_dir.rstrip(os.sep) + os.sep
        text = os.fspath(path)
        return (text[len(root) :] if text.startswith(root) else text).split(os.sep)

    # -- wire -------------------------------------------------------------------------------

    def preprocess(self, payload: Any) -> str | list[str] | None:
        if payload is None:
            return None
        if not isinstance(payload, list):
            raise FileAccessError(400, "a FileExplorer value is a list of paths (lists of names)")
        if self.file_count == "single":
            if len(payload) > 1:
                raise ValueError(f"Expected only one file, but {len(payload)} were selected.")
            return self.safe_join(payload[0]) if payload else None
        return [self.safe_join(parts) for parts in payload]

    def postprocess(self, value: Any) -> list[list[str]] | None:
        if value is None:
            return None
        files = [value] if isinstance(value, str | os.PathLike) else value
        return [self._strip_root(os.fspath(file)) for file in files]

    def api_info(self) -> dict[str, Any]:
        return {
            "items": {"items": {"type": "string"}, "type": "array"},
            "title": "FileExplorerData",
            "type": "array",
        }

    def own_props(self) -> dict[str, Any]:
        """No `root_dir`: the page lists through `ls` and never needs the server's path (an
        update sends `root_dir` as the event gave it, as Gradio's does)."""
        return {
            "glob": self.glob,
            "ignore_glob": self.ignore_glob,
            "file_count": self.file_count,
            "height": self.height,
            "max_height": self.max_height,
            "min_height": self.min_height,
            "server_fns": ["ls"],
        }

    # -- the page's listing -----------------------------------------------------------------

    @server_function
    def ls(self, subdirectory: Any = None) -> list[dict[str, Any]]:
        """The entries of `root_dir/subdirectory` the page may show: folders first, then
        files; a file must match `glob`, nothing may match `ignore_glob`; `valid` says
        whether an entry matches `glob` (only those can be selected)."""
        folder = Path(self.safe_join(subdirectory or []))
        try:
            names = sorted(os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return []
        real_root = Path(os.path.realpath(self.root_dir))
        folders: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for name in names:
            path = folder / name
            if name.startswith(".") or self._refused(path):
                continue
            try:
                is_file = not path.is_dir()
                escapes = not _inside(Path(os.path.realpath(path)), real_root)
            except OSError:
                continue
            if escapes:
                continue  # a symlink out of root_dir: selecting it would be refused anyway
            valid = fnmatch.fnmatch(str(path), self.glob)
            if (is_file and not valid) or (
                self.ignore_glob and fnmatch.fnmatch(str(path), self.ignore_glob)
            ):
                continue
            entry = {"name": name, "type": "file" if is_file else "folder", "valid": valid}
            (files if is_file else folders).append(entry)
        return folders + files
