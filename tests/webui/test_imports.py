"""webui is a library of its own: importing it never pulls in jax or jaxserve."""

from __future__ import annotations

import subprocess
import sys


def test_webui_imports_neither_jax_nor_jaxserve() -> None:
    code = (
        "import webui, sys; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'jaxserve')]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
