"""The training text: Python's standard library sources, split by file, plus chat examples.

Every machine that runs jaxserve has these files, so the model can be rebuilt anywhere with no
download. The held-out split is a fixed function of each file's relative path, so it does not
move when the stdlib gains or loses a file, and it holds whole files so that no held-out text
was seen in training.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import random
import sysconfig
from pathlib import Path

# Top-level stdlib folders left out: tests (huge, repetitive, not like user code), the IDE,
# GUI demos, the deprecated 2to3 grammar tooling, vendored wheels and third-party packages.
EXCLUDED_DIRS = frozenset(
    {
        "test",
        "tests",
        "idle_test",
        "site-packages",
        "idlelib",
        "turtledemo",
        "lib2to3",
        "ensurepip",
        "pydoc_data",
        "config-3.11-x86_64-linux-gnu",
        "encodings",  # codec tables: long, repetitive, and would flatter held-out perplexity
        "__pycache__",
    }
)
# Files too big and too unlike ordinary code (generated tables).
EXCLUDED_FILES = frozenset(
    {"_pydecimal.py", "entities.py", "_sysconfigdata__linux_x86_64-linux-gnu.py"}
)
MAX_FILE_BYTES = 200_000
HELD_OUT_PERCENT = 5

# Modules users know under another name than their file's.
MODULE_ALIASES = {"posixpath": "os.path", "genericpath": "os.path"}

QUESTIONS = (
    "What does {name} do?",
    "What does `{name}` do?",
    "Explain {name}.",
    "How do I use {name}{signature}?",
    "Document {name}.",
)


@dataclasses.dataclass(frozen=True)
class SourceFile:
    relpath: str  # posix path under the stdlib root, e.g. "json/decoder.py"
    text: str

    @property
    def module(self) -> str:
        parts = self.relpath.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        dotted = ".".join(parts)
        return MODULE_ALIASES.get(dotted, dotted)


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def is_held_out(relpath: str) -> bool:
    """A stable ~5% of files, chosen by a hash of the path (not Python's salted `hash`)."""
    digest = hashlib.sha256(relpath.encode()).digest()
    return int.from_bytes(digest[:4], "little") % 100 < HELD_OUT_PERCENT


def find_sources(root: Path, max_files: int | None = None) -> list[SourceFile]:
    """Readable stdlib `.py` files in sorted path order, so every run sees the same corpus."""
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in EXCLUDED_DIRS for part in rel.parts[:-1]) or rel.name in EXCLUDED_FILES:
            continue
        if rel.name.startswith("test_") or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        files.append(SourceFile(rel.as_posix(), text))
        if max_files is not None and len(files) >= max_files:
            break
    return files


def split_sources(files: list[SourceFile]) -> tuple[list[SourceFile], list[SourceFile]]:
    train = [f for f in files if not is_held_out(f.relpath)]
    held_out = [f for f in files if is_held_out(f.relpath)]
    return train, held_out


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    try:
        return f"({ast.unparse(node.args)})"
    except (ValueError, AttributeError):
        return "(...)"


def documented_definitions(source: SourceFile) -> list[tuple[str, str, str]]:
    """(qualified name, signature, docstring) of each public documented def and class."""
    try:
        tree = ast.parse(source.text)
    except (SyntaxError, ValueError):
        return []
    found = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name.startswith("_"):
                continue
            name = f"{prefix}.{node.name}"
            doc = ast.get_docstring(node)
            if isinstance(node, ast.ClassDef):
                if doc:
                    found.append((name, "", doc))
                visit(node.body, name)
            elif doc:
                found.append((name, _signature(node), doc))

    visit(tree.body, source.module)
    return found


def chat_examples(files: list[SourceFile], seed: int) -> list[tuple[str, str]]:
    """(user question, assistant answer) pairs: asked about an API, answer with its docs.

    This is what teaches the chat template: after `<|im_start|>assistant` the model learns to
    write documentation, then `<|im_end|>`.
    """
    rng = random.Random(seed)
    pairs = []
    for source in files:
        if any(part.startswith("_") for part in source.module.split(".")):
            continue  # private modules: not what a user would ask about
        for name, signature, doc in documented_definitions(source):
            question = rng.choice(QUESTIONS).format(name=name, signature=signature)
            short = name.rsplit(".", 1)[-1]
            header = f"`{short}{signature}`" if signature else f"`class {short}`"
            pairs.append((question, f"{header}\n\n{doc.strip()}"))
    return pairs
