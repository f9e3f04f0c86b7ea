"""schemathesis hooks for fuzzing jaxserve: the one request rule JSON Schema cannot state.

A text prompt (or a chat's messages through the template) longer than `max_model_len` tokens is
a 400, but its length in tokens depends on the tokenizer, so the schema calls it valid and
`positive_data_acceptance` would count the 400 against the server. Such a failure is dropped
(the run's summary counts it) only when the answer is exactly that rule's 400 and the token
count it reports really is over the limit; every other failure stands.

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


def is_prompt_too_long(status: int, body: bytes | str) -> bool:
    """Whether a response is the 400 of a prompt over `max_model_len` tokens, and says so."""
    if status != 400:
        return False
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return False
    match = PROMPT_TOO_LONG.match(message) if isinstance(message, str) else None
    return match is not None and int(match.group(1)) >= int(match.group(2))


@schemathesis.hook
def filter_failure(
    context: HookContext, failure: Failure, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    """Keeps every failure but a schema-valid prompt that is too long in tokens."""
    rejected_valid = type(failure).__name__ == "RejectedPositiveData"
    return not (rejected_valid and is_prompt_too_long(response.status_code, response.content))
