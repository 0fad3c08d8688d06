"""Access tokens: the signing secret is the setting or one generated per database (never a constant in the code),
tokens name their issuer and audience, and staff tokens name the person."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from agent.bootstrap import token_keys
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.auth import AuthError, TokenKeys, issue_token, verify_token
from core.settings import Settings
from server import cli
from tests.conftest import SHOWCASE, make_settings
from tests.live_server import private_store, serve

ROOT = Path(__file__).resolve().parents[1]
OLD_BUILT_IN_SECRET = "dev-only-insecure-secret-change-me-0000"
"""The constant that signed tokens when no secret was set, before secrets were generated."""


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SUPPORT_")}
    env["SUPPORT_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "server.py", "token", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_without_a_setting_each_database_generates_its_own_secret_once(tmp_path: Path) -> None:
    first = token_keys(make_settings(tmp_path / "a", jwt_secret=None))
    assert first == token_keys(make_settings(tmp_path / "a", jwt_secret=None))  # every process: the same
    other = token_keys(make_settings(tmp_path / "b", jwt_secret=None))
    assert len(first.secret) >= 32 and first.secret != other.secret != OLD_BUILT_IN_SECRET


def test_a_set_secret_must_be_long_and_empty_means_generated(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        make_settings(tmp_path, jwt_secret="short-secret")
    assert make_settings(tmp_path, jwt_secret="").jwt_secret is None
    assert token_keys(make_settings(tmp_path, jwt_secret="s" * 32)).secret == "s" * 32


def test_tokens_carry_issuer_and_audience_and_both_are_checked() -> None:
    keys = TokenKeys(secret="k" * 32, issuer="https://login.example", audience="support")
    principal = verify_token(keys, issue_token(keys, role="customer", subject=SHOWCASE))
    assert (principal.role, principal.subject) == ("customer", SHOWCASE)
    for other in (TokenKeys("k" * 32, "https://evil.example", "support"), TokenKeys("k" * 32, keys.issuer, "x")):
        with pytest.raises(AuthError, match="invalid token"):
            verify_token(keys, issue_token(other, role="customer", subject=SHOWCASE))


def test_the_token_command_signs_with_the_databases_secret_and_names_staff(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``python server.py token`` once as a process; its other uses in this one (each process imports the whole
    service: 4 s here)."""
    customer = _cli(tmp_path, "--customer", SHOWCASE)
    assert customer.returncode == 0, customer.stderr
    for key in [key for key in os.environ if key.startswith("SUPPORT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(ROOT)
    staff = CliRunner().invoke(cli, ["token", "--role", "agent", "--name", "Pat Lee"])
    assert staff.exit_code == 0, staff.output
    keys = token_keys(make_settings(tmp_path, jwt_secret=None))
    assert verify_token(keys, customer.stdout.strip()).subject == SHOWCASE
    assert verify_token(keys, staff.stdout.strip()).model_dump() == {"role": "agent", "subject": "Pat Lee"}
    nameless = CliRunner().invoke(cli, ["token", "--role", "ops"])
    assert nameless.exit_code != 0 and "--name" in nameless.output
    refused = CliRunner().invoke(cli, ["token", "--role", "root", "--name", "x"])
    assert refused.exit_code != 0 and "agent|ops" in refused.output


def test_a_server_without_a_secret_setting_refuses_the_old_constant(
    world: AgentDeps, world_settings: Settings, tmp_path: Path,
) -> None:
    store = private_store(world_settings, tmp_path / "store")
    settings = make_settings(tmp_path, jwt_secret=None, database_url=str(store.engine.url))
    keys = token_keys(settings)
    old = TokenKeys(OLD_BUILT_IN_SECRET, keys.issuer, keys.audience)
    own_store = lambda s: dataclasses.replace(world, settings=s, store=store, model=ScriptedChatModel())  # noqa: E731
    with serve(settings, deps_factory=own_store) as base:
        def status(token_keys_: TokenKeys) -> int:
            token = issue_token(token_keys_, role="customer", subject=SHOWCASE)
            return httpx.get(f"{base}/v1/conversations", headers={"Authorization": f"Bearer {token}"}).status_code

        assert (status(keys), status(old)) == (200, 401)

