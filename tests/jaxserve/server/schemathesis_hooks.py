"""schemathesis hooks for fuzzing jaxserve: the request rules JSON Schema cannot state.

- A text prompt (or a chat's messages through the template) longer than `max_model_len`
  tokens is a 400, but its length in tokens depends on the tokenizer, so the schema calls it
  valid. Dropped only when the token count the answer reports really is over the limit.
- A grammar (a JSON schema, regex, Lark or GBNF text) that does not compile, a named
  tool_choice that is not among the tools, and messages a chat template (the model's, or one
  the request sends) refuses to render: the schema can say "an object" or "a string", not "a
  valid regex" or "what this Jinja program accepts". Dropped only when the 400 is exactly that
  rule's, on the field that sent it.

`positive_data_acceptance` would count these 400s against the server; the run's summary counts
each dropped one, and every other failure stands.

Load it with `SCHEMATHESIS_HOOKS=tests.jaxserve.server.schemathesis_hooks` (from the repo root,
with `PYTHONPATH=.`), or by importing this module before the schema is loaded.
"""

from __future__ import annotations

import json
import re

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.hooks import HookContext

PROMPT_TOO_LONG = re.compile(r"^the prompt has (\d+) tokens, but max_model_len is (\d+) ")
UNCOMPILABLE = re.compile(
    r"^(invalid (JSON schema|JSON object grammar|regex|choice|grammar): "
    r"|structured_outputs\.json is not valid JSON: "
    r"|tool_choice names the function .*, which is not among the tools )"
)
GRAMMAR_FIELDS = frozenset({"structured_outputs", "response_format", "tools", "tool_choice"})
TEMPLATE_REFUSED = "the chat template rejected the messages: "


def _error(body: bytes | str) -> dict:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return {}
    return error if isinstance(error, dict) else {}


def is_prompt_too_long(status: int, body: bytes | str) -> bool:
    """Whether a response is the 400 of a prompt over `max_model_len` tokens, and says so."""
    if status != 400:
        return False
    message = _error(body).get("message")
    match = PROMPT_TOO_LONG.match(message) if isinstance(message, str) else None
    return match is not None and int(match.group(1)) >= int(match.group(2))


def is_uncompilable(status: int, body: bytes | str) -> bool:
    """Whether a response is the 400 of a grammar that does not compile (or a tool_choice
    naming no listed tool), on the field that sent it."""
    error = _error(body)
    message = error.get("message")
    return (
        status == 400
        and error.get("param") in GRAMMAR_FIELDS
        and isinstance(message, str)
        and UNCOMPILABLE.match(message) is not None
    )


def is_template_refusal(status: int, body: bytes | str) -> bool:
    """Whether a response is the 400 of messages the chat template refused to render."""
    error = _error(body)
    message = error.get("message")
    return (
        status == 400
        and error.get("param") == "messages"
        and isinstance(message, str)
        and message.startswith(TEMPLATE_REFUSED)
    )


@schemathesis.hook
def filter_failure(
    context: HookContext, failure: Failure, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    """Keeps every failure but the rules above."""
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    status, body = response.status_code, response.content
    return not (
        is_prompt_too_long(status, body)
        or is_uncompilable(status, body)
        or is_template_refusal(status, body)
    )
