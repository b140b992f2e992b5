"""`manage.py run` says in plain words when the game cannot have its address, before it starts the
local model server (not daphne's "Listen failure" after it)."""
from __future__ import annotations

import socket

import pytest
from django.core.management import CommandError, call_command


def test_run__refuses_the_local_model_servers_port(settings, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setattr("llm.local_server.start_local_server", pytest.fail)  # must not get that far
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "LOCAL_PORT": 8765}

    with pytest.raises(CommandError, match="Port 8765 is the local model server's"):
        call_command("run", "--port", "8765")


def test_run__names_a_port_another_program_holds():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        with pytest.raises(CommandError, match=f"Port {port} on 127.0.0.1 is taken by another program"):
            call_command("run", "--port", str(port), "--no-local-model")


def test_run__names_an_address_this_machine_does_not_have():
    with pytest.raises(CommandError, match="cannot listen at 192.0.2.1"):
        call_command("run", "--host", "192.0.2.1", "--port", "8000", "--no-local-model")
