from __future__ import annotations

import email.utils
import json
import random
import time

import httpx2
import openai
import pytest

from concept_distill.models.retry import backoff_delay, classify, parse_retry_after


def _status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    return openai.APIStatusError("boom", response=response, body=None)


@pytest.mark.parametrize(
    ("status", "retryable"), [(429, True), (500, True), (503, True), (400, False), (404, False)]
)
def test_status_codes_are_classified(status: int, retryable: bool):
    failure = classify(_status_error(status), timeout_s=1)

    assert failure is not None
    assert failure.retryable is retryable
    assert f"HTTP {status}" in failure.cause


def test_retry_after_header_is_read_from_the_response():
    failure = classify(_status_error(429, {"Retry-After": "2.5"}), timeout_s=1)

    assert failure is not None and failure.retry_after == 2.5


def test_unrelated_errors_are_not_model_failures():
    assert classify(RuntimeError("bug"), timeout_s=1) is None
    decode = classify(json.JSONDecodeError("Expecting value", "{", 1), timeout_s=1)
    assert decode is not None and decode.retryable


def test_retry_after_accepts_seconds_and_http_dates():
    later = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert parse_retry_after("3") == 3.0
    assert 25 <= (parse_retry_after(later) or 0) <= 31
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_jittered_exponential_and_capped():
    rng = random.Random(7)
    delays = [
        backoff_delay(retry, initial_s=0.5, max_wait_s=4.0, retry_after=None, rng=rng)
        for retry in range(8)
        for _ in range(50)
    ]
    by_retry = [delays[i * 50 : (i + 1) * 50] for i in range(8)]

    assert all(0 <= (d or 0) <= 0.5 for d in by_retry[0])
    assert all(0 <= (d or 0) <= 4.0 for d in by_retry[7])
    assert max(d or 0 for d in by_retry[3]) > 0.5 + 1e-9
    assert len({d for d in by_retry[0]}) > 40


def test_retry_after_is_honoured_with_a_little_jitter_or_refused_when_too_long():
    rng = random.Random(1)

    delay = backoff_delay(0, initial_s=0.5, max_wait_s=10, retry_after=2.0, rng=rng)

    assert delay is not None and 2.0 <= delay <= 2.2
    assert backoff_delay(0, initial_s=0.5, max_wait_s=10, retry_after=11, rng=rng) is None
