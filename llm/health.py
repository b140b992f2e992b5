"""Health of the model backend, for /ht/: reachable, serving the model, breaker not open.

A django-health-check check (`health_check.base.HealthCheck`). It never includes the base URL
or the API key in what it reports: /ht/ is public.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import urllib.error
import urllib.request

from health_check.base import HealthCheck
from health_check.exceptions import ServiceReturnedUnexpectedResult, ServiceUnavailable

from llm.breaker import OPEN, breaker_state
from llm.local_server import llm_api_key, llm_base_url, llm_is_local, llm_model_name, local_server_problem, local_server_status
from llm.selftest import selftest_problem

PROBE_TIMEOUT = 2.0  # seconds for GET /models: a health check must answer quickly


class ModelsUnreachable(Exception):
    """GET /models got no answer (refused, timed out, HTTP error)."""


def models_served(*, base_url: str, api_key: str, timeout: float, use_proxy: bool) -> list[str]:
    """The model ids listed by GET {base_url}/models. Raises ModelsUnreachable, ValueError (not JSON)."""
    handlers = [] if use_proxy else [urllib.request.ProxyHandler({})]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/models", headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ModelsUnreachable(f"HTTP {error.code}") from error
    except urllib.error.URLError as error:
        raise ModelsUnreachable(_reason(error.reason)) from error
    except OSError as error:  # timeouts and resets while reading
        raise ModelsUnreachable(_reason(error)) from error
    return [str(model.get("id")) for model in body.get("data", []) if isinstance(model, dict)]


def _reason(error: object) -> str:
    """A short cause without addresses: "connection refused", "timed out", ..."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) if isinstance(error, str) else type(error).__name__


def _known_problem(local: bool) -> str:
    """What this process already knows is wrong with the model: a local server given up on, or a
    failed self-test (`manage.py run` makes one at start)."""
    given_up = local_server_problem() if local else ""
    if given_up:
        return given_up
    failed = selftest_problem()
    return f"model self-test failed: {failed}" if failed else ""


@dataclasses.dataclass
class LLMBackend(HealthCheck):
    """The OpenAI-compatible backend answers GET /models listing our model, and its breaker is not open."""

    timeout = datetime.timedelta(seconds=PROBE_TIMEOUT + 1)

    async def run(self) -> None:
        base_url = llm_base_url()
        local = llm_is_local()
        problem = _known_problem(local)
        if problem:
            raise ServiceUnavailable(problem)
        if breaker_state(base_url) == OPEN:
            raise ServiceUnavailable("circuit breaker open: recent model calls failed")
        try:
            served = await asyncio.to_thread(
                models_served, base_url=base_url, api_key=llm_api_key(), timeout=PROBE_TIMEOUT, use_proxy=not local
            )
        except ModelsUnreachable as error:
            raise ServiceUnavailable(await self._unreachable_reason(local, str(error))) from error
        except (ValueError, AttributeError) as error:
            raise ServiceReturnedUnexpectedResult("GET /models did not answer a model list") from error
        self._check_model_loaded(served)

    @staticmethod
    async def _unreachable_reason(local: bool, error: str) -> str:
        if not local:
            return f"model backend unreachable ({error})"
        status = await asyncio.to_thread(local_server_status)
        if status["supervised_here"] and not status["running"]:
            return f"local model server not running (restarts: {status['restarts']})"
        return f"local model server not answering ({error})"

    @staticmethod
    def _check_model_loaded(served: list[str]) -> None:
        if not served:
            raise ServiceUnavailable("the backend serves no model")
        wanted = llm_model_name()
        # "default" means no model was named: whatever the backend serves will answer.
        if wanted != "default" and wanted not in served:
            raise ServiceUnavailable(f"model {wanted!r} is not loaded")
