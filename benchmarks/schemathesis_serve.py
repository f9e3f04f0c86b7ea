#!/usr/bin/env python3
"""`schemathesis run --checks all` against `jaxserve run` of a tiny random model.

usage: schemathesis_serve.py [--api-key KEY] [--max-examples 50] [--seed 1] [--port 8811]

Writes the tests' tiny Llama checkpoint (vocabulary 320, needs torch) and a config with a
short `max_model_len` into a temporary folder, starts `jaxserve run` on it, waits for
`/health`, prints and runs the schemathesis command (with the hook of
`tests/jaxserve/server/schemathesis_hooks.py`, which drops only the prompt-too-long 400 that
JSON Schema cannot state), then stops the server with SIGTERM. Exits with schemathesis' status.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
model: tiny
served_model_name: tiny
max_model_len: 256
max_num_seqs: 128
max_num_batched_tokens: 512
kv_cache_memory: 64MiB
webui: false
log_level: warning
"""


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"jaxserve run exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server was not healthy in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=8811)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.jaxserve.server.conftest import SPEC
    from tests.tiny_models import write_tiny_checkpoint

    with tempfile.TemporaryDirectory() as folder:
        write_tiny_checkpoint(Path(folder) / "tiny", SPEC)
        config = Path(folder) / "tiny.yaml"
        key = f"api_key: {args.api_key}\n" if args.api_key else ""
        config.write_text(CONFIG + key)
        env = {k: v for k, v in os.environ.items() if k != "JAXSERVE_API_KEY"}
        run = [sys.executable, "-m", "jaxserve.cli", "run", str(config), "--port", str(args.port)]
        server = subprocess.Popen(run, env=env)
        try:
            url = f"http://127.0.0.1:{args.port}"
            wait_healthy(url, server)
            command = ["schemathesis", "run", f"{url}/openapi.json", "--checks", "all"]
            command += ["--max-examples", str(args.max_examples), "--seed", str(args.seed)]
            # `--checks all` bounds each answer at 10 s; a legal call for 128 samples of each of
            # several prompts, with logprobs, takes longer on two cores: allow a minute.
            command += ["--request-timeout", "120", "--max-response-time", "60"]
            if args.api_key:
                command += ["--header", f"Authorization: Bearer {args.api_key}"]
            hooks = "tests.jaxserve.server.schemathesis_hooks"
            print(f"$ PYTHONPATH=. SCHEMATHESIS_HOOKS={hooks} {shlex.join(command)}", flush=True)
            command[0] = str(Path(sys.executable).with_name("schemathesis"))
            env |= {"PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": hooks}
            return subprocess.run(command, cwd=folder, env=env, check=False).returncode
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)


if __name__ == "__main__":
    sys.exit(main())
