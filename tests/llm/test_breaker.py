"""The circuit breaker's states, on an injected clock."""
from __future__ import annotations

from llm.breaker import CircuitBreaker, breaker_for, reset_breakers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def failing(times: int, clock: Clock | None = None, **kwargs) -> CircuitBreaker:
    breaker = CircuitBreaker(clock=clock or Clock(), **kwargs)
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()
    return breaker


def test_breaker__stays_closed_below_the_threshold():
    breaker = failing(4)

    assert breaker.state == "closed" and breaker.allow()


def test_breaker__opens_after_five_consecutive_failures():
    breaker = failing(5)

    assert breaker.state == "open"
    assert not breaker.allow()


def test_breaker__a_success_resets_the_count():
    breaker = failing(4)
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state == "closed" and breaker.failures == 1


def test_breaker__half_opens_after_the_cooldown_and_lets_one_probe_through():
    clock = Clock()
    breaker = failing(5, clock)
    clock.now += 14.9
    assert breaker.state == "open"

    clock.now += 0.2

    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow()  # only one probe at a time


def test_breaker__a_good_probe_closes_it():
    clock = Clock()
    breaker = failing(5, clock)
    clock.now += 15
    breaker.allow()

    breaker.record_success()

    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_breaker__a_failed_probe_opens_it_for_another_cooldown():
    clock = Clock()
    breaker = failing(5, clock)
    clock.now += 15
    breaker.allow()

    breaker.record_failure()

    assert breaker.state == "open"
    clock.now += 15
    assert breaker.state == "half_open"


def test_breaker__an_abandoned_probe_lets_the_next_caller_probe():
    clock = Clock()
    breaker = failing(5, clock)
    clock.now += 15
    assert breaker.allow()

    breaker.release()

    assert breaker.allow()


def test_breaker_for__one_breaker_per_backend():
    reset_breakers()
    first = breaker_for("http://a.example/v1")

    assert breaker_for("http://a.example/v1/") is first
    assert breaker_for("http://b.example/v1") is not first
    reset_breakers()
    assert breaker_for("http://a.example/v1") is not first
