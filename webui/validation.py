"""`validator=`: a function run on an event's inputs before it joins the queue (Gradio 6).

It takes what fn takes and returns `gr.validate(is_valid, message)` for each input (a list),
or one for all. Any invalid one refuses the join with HTTP 422, whose detail lists a
`{is_valid, message, parameter_name}` per input, as Gradio answers.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from webui.processing import preprocess

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from webui.events import Dependency
    from webui.processing import SessionState, Trigger

VALIDATE = "validate"


def validate(is_valid: bool, message: str) -> dict[str, Any]:
    """Return from a validator, one per input: whether it is valid, and what to tell the user."""
    return {"__type__": VALIDATE, "is_valid": bool(is_valid), "message": message}


def validation_data(dependency: Dependency, response: Any) -> list[dict[str, Any]]:
    """One `{is_valid, message[, parameter_name]}` per input, as Gradio reports them."""
    names: list[str] = []
    if dependency.fn is not None:
        try:
            names = list(inspect.signature(dependency.fn).parameters)
        except (TypeError, ValueError):
            names = []
    if isinstance(response, tuple | list):
        data = []
        for index, item in enumerate(response):
            if isinstance(item, dict) and item.get("__type__") == VALIDATE:
                name = names[index] if index < len(names) else f"parameter_{index}"
                data.append({**item, "parameter_name": name})
            else:
                data.append({"is_valid": True, "message": ""})
        return data
    if isinstance(response, dict) and response.get("is_valid") is False:
        return [response]
    return [{"is_valid": True, "message": ""}]


async def run_validator(
    dependency: Dependency,
    data: list[Any],
    state: SessionState,
    trigger: Trigger | None,
    executor: Executor,
) -> list[dict[str, Any]] | None:
    """None when the inputs pass (or there is no validator), else the validation data."""
    validator = dependency.validator
    if validator is None:
        return None
    args = preprocess(dependency, data, state, trigger)
    if inspect.iscoroutinefunction(validator):
        response = await validator(*args)
    else:
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(executor, lambda: validator(*args))
    found = validation_data(dependency, response)
    return None if all(item.get("is_valid") is True for item in found) else found
