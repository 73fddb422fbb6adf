"""API fuzzing with Schemathesis, in-process against the ASGI app: positive and negative data for every operation.

Each generated request is sent once; the run counts server errors (5xx), responses that do not conform
to the published OpenAPI schema (status code documented, body matching the declared model, content
type), and 4xx answers whose body lacks the shared error shape or an actionable message. A fixed
Hypothesis seed makes the run repeatable.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from robust_harness import Tally
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

REQUEST_TIMEOUT_S = 120.0
CHECKS = [status_code_conformance, response_schema_conformance, content_type_conformance]


class FuzzResult(Tally):
    COUNTS = ("requests", "server_errors", "nonconforming", "unhelpful_4xx", "no_answer")

    def __init__(self, **counts: int) -> None:
        super().__init__(**counts)
        self.by_status: Counter = Counter()


def actionable(body: object) -> bool:
    """The shared error shape, with a message that says something (names a field, a limit or what to do)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return False
    err = body["error"]
    return isinstance(err.get("message"), str) and len(err["message"]) >= 15 and isinstance(err.get("code"), str)


def fuzz(app, *, per_operation_mode: int, fuzz_seed: int = 20261129) -> FuzzResult:
    """Run `per_operation_mode` cases for each (operation, positive|negative); returns the counts."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    result = FuzzResult()
    for op_result in schema.get_all_operations():
        op = op_result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(op, mode, per_operation_mode, fuzz_seed, result)
    return result


def _run_operation(op, mode, n: int, fuzz_seed: int, result: FuzzResult) -> None:
    try:
        strategy = op.as_strategy(generation_mode=mode)
    except Exception as e:  # an operation with nothing to negate (no parameters, no body)
        result.examples.append(f"{op.label} {mode.value}: no strategy ({type(e).__name__})")
        return

    @seed(fuzz_seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data) -> None:
        case = data.draw(strategy)
        try:
            # A generous timeout: on a shared 2-core machine a catalog update can take seconds.
            response = case.call(timeout=REQUEST_TIMEOUT_S)
        except Exception as e:
            # A timeout is no answer; anything else is the app raising through the in-process transport (a 500).
            result.requests += 1
            timed_out = "timeout" in type(e).__name__.lower()
            result.no_answer += timed_out
            result.server_errors += not timed_out
            result.examples.append(f"{case.method} {case.formatted_path} ({mode.value}): raised {e!r}"[:300])
            return
        result.requests += 1
        result.by_status[response.status_code] += 1
        label = f"{case.method} {case.formatted_path} ({mode.value})"
        if response.status_code >= 500:
            result.server_errors += 1
            result.examples.append(f"{label}: {response.status_code} {response.text[:200]}")
            return
        if 400 <= response.status_code < 500:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not actionable(body):
                result.unhelpful_4xx += 1
                result.examples.append(f"{label}: unhelpful {response.status_code} {response.text[:200]}")
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as e:  # schemathesis raises a FailureGroup naming every failed check
            result.nonconforming += 1
            result.examples.append(f"{label}: {response.status_code} nonconforming: {str(e)[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing to negate: an operation without parameters or body has no negative data
        result.examples.append(f"{op.label} {mode.value}: no data to generate")
