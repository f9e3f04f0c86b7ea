#!/usr/bin/env python3
"""Grammar engines for structured outputs, measured side by side: xgrammar against llguidance.

usage: grammar_engines.py [--schemas 30] [--tokenizer /work/benchmodel] [--threads N]
                          [--batch 16] [--steps 64] [--out FILE]

  /work/vllm-venv/bin/python benchmarks/grammar_engines.py --out /tmp/grammar_engines.txt
  .venv/bin/python benchmarks/grammar_engines.py   # no xgrammar there: its column is skipped

Both engines get the same HF tokenizer (49152 tokens, so a mask row is 1536 int32 words) and
the same cases: `--schemas` JSON schemas (objects, arrays, enums, nesting, bounded numbers and
integers, strings with maxLength and patterns, booleans, anyOf, $ref) plus one regex and one
choice (the output is one of a list of strings, unquoted, as a regex alternation). Each case
has a hand-written valid instance, serialised with `json.dumps` and tokenised by the tokenizer.

Per engine and case it times:
  compile cold    the schema's first compile (xgrammar: a `GrammarCompiler` with the cache off;
                  llguidance: `grammar_from_json_schema` + `LLMatcher`, which has no cache),
  compile cached  the same compile again (xgrammar: a caching compiler's second call),
  first mask      the first `fill_next_token_bitmask` of a fresh matcher (llguidance builds
                  lexer state lazily, so part of its compile is paid here),
  mask/token      per later token: fill the bitmask, assert the instance's next token is
                  allowed (a rejected valid token is a benchmark bug), advance; at the end EOS
                  must be allowed and stop the matcher. The per-case table also gives the mean
                  number of allowed tokens per step: equal counts show both engines constrain
                  alike (whitespace rules differ a little).
Then `--batch` matchers spread over the cases, each walking its instance (restarting at its
end), have a [batch, 1536] mask filled per decode step at once (llguidance:
`fill_next_token_bitmask_par` with an `LLExecutor`; xgrammar: `BatchGrammarMatcher`): what a
server pays per step at that concurrency. Prints the CPU, versions, thread counts, a per-case
table, a summary (median and p90) and each package's install footprint (its Requires, whether
torch comes with it, installed MB). Runs in well under a minute on 2 cores; time it on an
otherwise idle machine (the 1-minute load average is printed around each engine's run).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as md
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

STR, INT, NUM, BOOL = ({"type": t} for t in ("string", "integer", "number", "boolean"))


def obj(props: dict, required: list | None = None, **kw) -> dict:
    req = list(props) if required is None else required
    return {"type": "object", "properties": props, "required": req, **kw}


def arr(items: dict, **kw) -> dict:
    return {"type": "array", "items": items, **kw}


def rng(kind: str, lo: float, hi: float) -> dict:
    return {"type": kind, "minimum": lo, "maximum": hi}


def pat(pattern: str) -> dict:
    return {"type": "string", "pattern": pattern}


def slen(hi: int, lo: int = 0) -> dict:
    return {"type": "string", "maxLength": hi, **({"minLength": lo} if lo else {})}


COUNTRIES = "US GB FR DE IT ES PT NL BE LU CH AT DK SE NO FI IS IE PL CZ SK HU RO BG GR TR CY MT"
ITEM = obj({"id": INT, "qty": rng("integer", 1, 99), "price": NUM})
ADDRESS = obj({"street": STR, "city": STR, "zip": pat("^[0-9]{5}$")})
LOREM = "Structured outputs constrain decoding so every sampled token keeps the text valid. " * 3
CIRCLE = obj({"kind": {"const": "circle"}, "r": NUM})
RECT = obj({"kind": {"const": "rect"}, "w": NUM, "h": NUM})
PT = {"$ref": "#/$defs/pt"}
TYPES, NULL = [STR, INT, NUM, BOOL], {"type": "null"}

# (name, schema, valid instance); each instance lists its properties in the schema's order.
# fmt: off
CASES: list[tuple[str, dict, object]] = [
    ("flat_object", obj({"name": STR, "age": INT}), {"name": "Ada Lovelace", "age": 36}),
    ("mixed_scalars", obj({"ok": BOOL, "score": NUM, "count": INT, "label": STR}),
     {"ok": True, "score": 0.875, "count": 12, "label": "pass"}),
    ("string_enum", obj({"color": {"enum": ["red", "green", "blue", "cyan"]}}), {"color": "green"}),
    ("int_array", arr(INT, minItems=1, maxItems=10), [3, 1, 4, 1, 5, 9, 2, 6]),
    ("string_array", arr(STR), ["alpha", "beta", "gamma", "delta"]),
    ("nested_object", obj({"user": obj({"name": STR, "address": ADDRESS})}),
     {"user": {"name": "Bo", "address": {"street": "1 Main St", "city": "Ely", "zip": "12345"}}}),
    ("deep_nesting", obj({"a": obj({"b": obj({"c": obj({"d": INT})})})}),
     {"a": {"b": {"c": {"d": 7}}}}),
    ("number_range", obj({"temp": rng("number", -50, 60)}), {"temp": 21.5}),
    ("integer_range", obj({"year": rng("integer", 1900, 2100), "month": rng("integer", 1, 12)}),
     {"year": 2024, "month": 11}),
    ("string_maxlength", obj({"title": slen(40)}), {"title": "A short headline"}),
    ("string_minmax", obj({"code": slen(8, 3), "note": slen(100)}),
     {"code": "ABC123", "note": "fits"}),
    ("pattern_phone", obj({"phone": pat("^[0-9]{3}-[0-9]{3}-[0-9]{4}$")}),
     {"phone": "555-867-5309"}),
    ("pattern_date", obj({"date": pat("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")}), {"date": "2024-02-29"}),
    ("pattern_email", obj({"email": pat("^[a-z0-9.]+@[a-z]+\\.(com|org|net)$")}),
     {"email": "ada.l@example.org"}),
    ("booleans", obj({f"flag_{i}": BOOL for i in range(6)}),
     {f"flag_{i}": i % 2 == 0 for i in range(6)}),
    ("anyof_scalar", obj({"value": {"anyOf": [STR, INT]}}), {"value": 42}),
    ("anyof_objects", obj({"shape": {"anyOf": [CIRCLE, RECT]}}),
     {"shape": {"kind": "rect", "w": 2.5, "h": 4}}),
    ("array_of_objects", obj({"items": arr(ITEM, maxItems=5)}),
     {"items": [{"id": 1, "qty": 2, "price": 9.99}, {"id": 2, "qty": 10, "price": 0.5}]}),
    ("optional_fields", obj({"a": STR, "b": INT, "c": BOOL, "d": NUM}, ["a"]),
     {"a": "x", "c": False}),
    ("wide_object", obj({f"field_{i:02d}": TYPES[i % 4] for i in range(16)}),
     {f"field_{i:02d}": ["v", i, i + 0.5, True][i % 4] for i in range(16)}),
    ("int_enum", obj({"level": {"enum": [1, 2, 3, 5, 8]}}), {"level": 5}),
    ("const", obj({"version": {"const": "v1"}, "n": INT}), {"version": "v1", "n": 0}),
    ("nullable", obj({"middle": {"type": ["string", "null"]}, "nick": {"anyOf": [STR, NULL]}}),
     {"middle": None, "nick": "Al"}),
    ("defs_ref", {"$defs": {"pt": obj({"x": NUM, "y": NUM})}, **obj({"start": PT, "end": PT})},
     {"start": {"x": 0, "y": 1.5}, "end": {"x": -2, "y": 3}}),
    ("matrix", obj({"m": arr(arr(NUM, minItems=3, maxItems=3), minItems=3, maxItems=3)}),
     {"m": [[1, 0, 0], [0, 1.5, 0], [0, 0, -1]]}),
    ("tool_call", obj({"name": {"const": "get_weather"}, "arguments": obj({
        "city": STR, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": rng("integer", 1, 14)})}),
     {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": 3}}),
    ("large_enum", obj({"country": {"enum": COUNTRIES.split()}}), {"country": "NO"}),
    ("long_text", obj({"summary": slen(400)}), {"summary": LOREM.strip()}),
    ("enum_array", obj({"tags": arr({"enum": ["news", "sport", "tech", "art"]}, maxItems=4)}),
     {"tags": ["tech", "art", "news"]}),
    ("record", obj({"id": pat("^[A-Z]{2}-[0-9]{4}$"), "active": BOOL, "tags": arr(STR, maxItems=3),
                    "owner": obj({"name": STR, "email": STR}, ["name"]),
                    "rating": rng("number", 0, 5)}),
     {"id": "AB-1234", "active": True, "tags": ["a", "b"], "owner": {"name": "Cy"}, "rating": 4.5}),
]
OCTET = "(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
REGEX = ("regex_ipv4", rf"({OCTET}\.){{3}}{OCTET}", "192.168.10.254")
# fmt: on
CHOICES = ["positive", "negative", "neutral", "mixed", "not applicable"]
META = re.compile(r"([\\.^$|?*+()\[\]{}])")  # escape regex syntax but not spaces (xgrammar warns)
CHOICE = ("choice", "(" + "|".join(META.sub(r"\\\1", c) for c in CHOICES) + ")", "neutral")


def cases(n: int) -> list[tuple[str, str, object, str]]:
    """(name, kind, spec, text) with kind 'json' or 'regex'."""
    out = [(name, "json", schema, json.dumps(inst)) for name, schema, inst in CASES[:n]]
    return out + [(name, "regex", rx, text) for name, rx, text in (REGEX, CHOICE)]


def cpu_info() -> tuple[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    info = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines())}
    flags = set(info.get("Flags", "").split())
    have = ", ".join(
        f"{f}={'yes' if f in flags else 'no'}" for f in ("avx2", "avx512f", "avx512_bf16")
    )
    return info.get("Model name", platform.processor() or "?"), have


def version(pkg: str) -> str:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "not installed"


def footprint(pkg: str) -> str:
    """`pip show`'s Requires (minus extras), whether torch is pulled in, installed size."""

    def reqs(name: str) -> list[str]:
        try:
            raw = md.requires(name) or []
        except md.PackageNotFoundError:
            return []
        names = (re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in raw if "extra ==" not in r)
        return [n.lower().replace("_", "-") for n in names]

    def size_mb(name: str) -> float:
        try:
            files = md.distribution(name).files or []
        except md.PackageNotFoundError:
            return 0.0
        return sum(p.stat().st_size for f in files if (p := Path(f.locate())).is_file()) / 2**20

    direct, seen = reqs(pkg), {pkg}
    todo = list(direct)
    while todo:
        if (name := todo.pop()) not in seen:
            seen.add(name)
            todo.extend(reqs(name))
    deps = seen - {pkg}
    return (
        f"{pkg} {version(pkg)}: requires [{', '.join(direct) or 'nothing'}]; torch required: "
        f"{'yes' if 'torch' in seen else 'no'}; {size_mb(pkg):.0f} MB itself, "
        f"{sum(map(size_mb, seen)):.0f} MB with its {len(deps)} transitive dependencies"
    )


class LLGuidance:
    """The calls a server makes: compile, new matcher, mask alloc/fill (single, batch), accept."""

    name = "llguidance"

    def __init__(self, hf_tok, vocab: int, threads: int):
        import llguidance as ll
        import llguidance.hf
        import llguidance.numpy as lln

        self.tok = llguidance.hf.from_tokenizer(hf_tok, n_vocab=vocab)
        self.eos, pool = self.tok.eos_token, ll.LLExecutor(num_threads=threads)
        self.threads = f"LLExecutor(num_threads={threads}) for the batch, 1 for single fills"
        self.matcher = lambda compiled: compiled.deep_copy()
        self.mask = lambda n: lln.allocate_token_bitmask(n, vocab)
        self.fill = lambda m, mask: lln.fill_next_token_bitmask(m, mask, 0)
        self.fill_batch = lambda ms, mask: lln.fill_next_token_bitmask_par(
            pool, [(m, i) for i, m in enumerate(ms)], mask
        )
        self.accept = lambda m, tok: m.consume_token(tok)
        self.done = lambda m: m.is_stopped()

    def compile(self, kind: str, spec, cached: bool):  # no grammar cache in llguidance
        from llguidance import LLMatcher as M

        g = M.grammar_from_json_schema(spec) if kind == "json" else M.grammar_from_regex(spec)
        matcher = M(self.tok, g)
        if matcher.is_error():
            raise RuntimeError(matcher.get_error())
        return matcher


class XGrammar:
    name = "xgrammar"

    def __init__(self, hf_tok, vocab: int, threads: int):
        import xgrammar as xg

        info = xg.TokenizerInfo.from_huggingface(hf_tok, vocab_size=vocab)
        self.eos, pool = info.stop_token_ids[0], xg.BatchGrammarMatcher(max_threads=threads)
        self.cold = xg.GrammarCompiler(info, max_threads=threads, cache_enabled=False)
        self.warm = xg.GrammarCompiler(info, max_threads=threads, cache_enabled=True)
        self.threads = f"GrammarCompiler and BatchGrammarMatcher max_threads={threads}"
        self.matcher = xg.GrammarMatcher
        self.mask = lambda n: xg.allocate_token_bitmask(n, vocab)  # a torch tensor
        self.fill = lambda m, mask: m.fill_next_token_bitmask(mask, 0)
        self.fill_batch = pool.batch_fill_next_token_bitmask
        self.accept = lambda m, tok: m.accept_token(tok)
        self.done = lambda m: m.is_terminated()

    def compile(self, kind: str, spec, cached: bool):
        c = self.warm if cached else self.cold
        return c.compile_json_schema(spec) if kind == "json" else c.compile_regex(spec)


def allowed(row: np.ndarray, tok: int) -> bool:
    return bool((int(row[tok >> 5]) >> (tok & 31)) & 1)


def timed(fn, *a) -> int:
    t0 = time.perf_counter_ns()
    fn(*a)
    return time.perf_counter_ns() - t0


def run_engine(eng, work, batch: int, steps: int) -> dict:
    """Per case: compile cold/cached, first mask, mask per token (ns), allowed tokens per step;
    then `batch` matchers over the cases, each walking its tokens (restarting), one batch
    fill per step (the first, which warms the thread pool, is dropped)."""
    per_case, tok_ns, compiled = {}, [], {}
    for name, kind, spec, toks in work:
        cold = timed(eng.compile, kind, spec, False)
        compiled[name] = eng.compile(kind, spec, True)  # fills xgrammar's cache
        warm = timed(eng.compile, kind, spec, True)
        m, mask = eng.matcher(compiled[name]), eng.mask(1)
        row, times, n_ok = np.asarray(mask)[0], [], []
        for pos, tok in enumerate([*toks, eng.eos]):
            times.append(timed(eng.fill, m, mask))
            n_ok.append(int(np.unpackbits(row.view(np.uint8)).sum()))
            assert allowed(row, tok), f"{eng.name}/{name}: valid token {tok} at {pos} masked out"
            assert eng.accept(m, tok), f"{eng.name}/{name}: token {tok} at {pos} not accepted"
        assert eng.done(m), f"{eng.name}/{name}: not finished after EOS"
        tok_ns += times[1:]
        tok = statistics.median(times[1:])
        per_case[name] = dict(cold=cold, warm=warm, first=times[0], tok=tok, ok=np.mean(n_ok))
    slots = [work[i * len(work) // batch] for i in range(batch)]  # spread over the cases
    ms, pos, mask = [eng.matcher(compiled[w[0]]) for w in slots], [0] * batch, eng.mask(batch)
    rows, step_ns = np.asarray(mask), []
    for _ in range(steps + 1):
        step_ns.append(timed(eng.fill_batch, ms, mask))
        for i, (name, _, _, toks) in enumerate(slots):
            assert allowed(rows[i], toks[pos[i]]), f"{eng.name}/{name}: batch slot {i} masked out"
            assert eng.accept(ms[i], toks[pos[i]]), f"{eng.name}/{name}: slot {i} rejected"
            pos[i] += 1
            if pos[i] == len(toks):
                ms[i], pos[i] = eng.matcher(compiled[name]), 0
    return {"cases": per_case, "tok": tok_ns, "steps": step_ns[1:]}


def med_p90(xs, scale: float) -> str:
    xs = sorted(xs)
    return f"{statistics.median(xs) / scale:.2f} / {xs[round(0.9 * (len(xs) - 1))] / scale:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schemas", type=int, default=len(CASES), help=f"at most {len(CASES)}")
    ap.add_argument("--tokenizer", default="/work/benchmodel")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=64, help="decode steps timed in the batch")
    ap.add_argument("--out", type=Path, help="also write everything printed here")
    args = ap.parse_args()
    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(args.tokenizer)
    vocab = len(hf_tok)
    work = [
        (n, k, sp, hf_tok.encode(t, add_special_tokens=False))
        for n, k, sp, t in cases(args.schemas)
    ]
    try:
        import jsonschema

        for _, schema, inst in CASES[: args.schemas]:
            jsonschema.validate(inst, schema)
    except ImportError:
        say("jsonschema not importable: the instances are not cross-checked")

    model, flags = cpu_info()
    say(f"CPU: {model} ({os.cpu_count()} logical CPUs); {flags}")
    say(
        f"Python {platform.python_version()} ({sys.executable}); numpy {np.__version__}; "
        f"transformers {version('transformers')}; torch {version('torch')}"
    )
    say(
        f"tokenizer {args.tokenizer}: vocab {vocab}, mask row {(vocab + 31) // 32} int32 words; "
        f"{len(work)} cases ({len(work) - 2} JSON schemas + regex + choice), "
        f"{sum(len(w[3]) for w in work)} instance tokens"
    )
    picked = [work[i * len(work) // args.batch][0] for i in range(args.batch)]
    say(f"batch of {args.batch} over {args.steps} steps: {', '.join(picked)}")
    engines, results = [], {}
    for cls in (XGrammar, LLGuidance):
        try:
            engines.append(cls(hf_tok, vocab, args.threads))
            say(f"{cls.name} {version(cls.name)}: threads: {engines[-1].threads}")
        except ImportError as e:
            say(f"{cls.name}: column skipped, not importable ({e})")
    for eng in engines:
        load, t0 = os.getloadavg()[0], time.perf_counter()
        gc.collect()
        gc.disable()
        try:
            results[eng.name] = run_engine(eng, work, args.batch, args.steps)
        finally:
            gc.enable()
        say(
            f"{eng.name}: ran in {time.perf_counter() - t0:.1f} s (1-min load average before: "
            f"{load:.2f}, after: {os.getloadavg()[0]:.2f})"
        )

    names = [e.name for e in engines]
    say("\nper case: compile cold ms, cached ms, first mask us, median mask us/token, mean allowed")
    say(f"{'case':<17}{'toks':>5} " + "".join(f"{n:>38}" for n in names))
    for name, _, _, toks in work:
        cells = "".join(
            f"{c['cold'] / 1e6:10.1f}{c['warm'] / 1e6:7.2f}{c['first'] / 1e3:7.0f}"
            f"{c['tok'] / 1e3:7.1f}{c['ok']:7.0f}"
            for c in (results[n]["cases"][name] for n in names)
        )
        say(f"{name:<17}{len(toks):>5} {cells}")

    say(
        f"\nmedian / p90 {'compile cold ms':>16}{'compile cached ms':>19}{'first mask us':>16}"
        f"{'mask us/token':>16}{f'batch-{args.batch} ms/step':>19}"
    )
    for n in names:
        r, cs = results[n], results[n]["cases"].values()
        say(
            f"{n + ' ' + version(n):<18}{med_p90([c['cold'] for c in cs], 1e6):>11}"
            f"{med_p90([c['warm'] for c in cs], 1e6):>19}"
            f"{med_p90([c['first'] for c in cs], 1e3):>16}"
            f"{med_p90(r['tok'], 1e3):>16}{med_p90(r['steps'], 1e6):>19}"
        )
    if len(names) == 2:
        a, b = (results[n] for n in names)

        def ratio(sel) -> str:
            return f"{statistics.median(sel(a)) / statistics.median(sel(b)):.2f}x"

        say(
            f"summary: {names[0]}/{names[1]} ratio of medians (<1: {names[0]} faster): "
            f"cold compile {ratio(lambda r: [c['cold'] for c in r['cases'].values()])}, "
            f"mask/token {ratio(lambda r: r['tok'])}, batch-{args.batch} fill/step "
            f"{ratio(lambda r: r['steps'])}"
        )
    say("\ninstall footprint:")
    for pkg in ("xgrammar", "llguidance"):
        say(f"  {footprint(pkg) if version(pkg) != 'not installed' else pkg + ': not installed'}")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
