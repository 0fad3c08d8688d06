"""The ops admin API on a live server: roles first, validation with the exact field, versions, If-Match,
history with diffs, rollback, and changes that the very next chat turn obeys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from tests.live_server import auth, free_port, serve_on_own_store
from tests.sse import read_events, reply_text

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory, world_settings: Settings) -> Iterator[tuple[str, Settings]]:
    """A server on its own store (the tests change the policy)."""
    with serve_on_own_store(tmp_path_factory.mktemp("admin"), world_settings) as running:
        yield running


def test_roles_are_checked_before_anything_else(admin: tuple[str, Settings]) -> None:
    base, settings = admin
    for path in ("/v1/admin/tools", "/v1/admin/tools/nope"):
        assert httpx.get(base + path).status_code == 401
    assert httpx.patch(f"{base}/v1/admin/tools/nope", json={}).status_code == 401
    for role in ("customer", "agent"):
        assert httpx.get(f"{base}/v1/admin/tools", headers=auth(settings, role)).status_code == 403
        assert httpx.patch(f"{base}/v1/admin/tools/nope", json={}, headers=auth(settings, role)).status_code == 403
    assert httpx.patch(f"{base}/v1/admin/tools/nope", json={"reason": "why not"},
                       headers=auth(settings, "ops")).status_code == 404


def test_tools_are_listed_with_schema_permissions_and_limits(admin: tuple[str, Settings]) -> None:
    base, settings = admin
    response = httpx.get(f"{base}/v1/admin/tools", headers=auth(settings, "ops"))
    tools = {t["name"]: t for t in response.json()}
    refund = tools["return_delivered_order_items"]
    assert refund["policy"]["enabled"] is True and refund["limits"]["auto_refund_limit"] == 200.0
    assert "order_id" in refund["argument_schema"]["properties"] and response.headers["etag"]


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "test", "limits": {"auto_refund_limit": -5}}, "auto_refund_limit"),
    ({"reason": "test", "enabled": "sometimes"}, "enabled"),
    ({"reason": "test", "colour": "red"}, "colour"),
    ({"reason": "test", "limits": {"restocking_fee": 1}}, "restocking_fee"),
])
def test_invalid_changes_are_422_with_the_field_and_change_nothing(admin: tuple[str, Settings], body: dict,
                                                                   field: str) -> None:
    base, settings = admin
    before = httpx.get(f"{base}/v1/admin/policy", headers=auth(settings, "ops")).json()["version"]
    response = httpx.patch(f"{base}/v1/admin/tools/return_delivered_order_items", json=body,
                           headers=auth(settings, "ops"))
    assert response.status_code == 422 and field in response.text
    assert httpx.get(f"{base}/v1/admin/policy", headers=auth(settings, "ops")).json()["version"] == before


def _refund_turn(base: str, settings: Settings) -> str:
    headers = auth(settings, "customer", "ethan_walker_2260")
    with httpx.stream("POST", f"{base}/v1/chat", json={"message": "I want to return the backpack from #W2260001"},
                      headers=headers, timeout=60) as response:
        return reply_text(read_events(response))


def test_disable_then_limit_then_rollback_govern_the_next_turn(admin: tuple[str, Settings]) -> None:
    base, settings = admin
    ops = auth(settings, "ops")
    assert "(yes/no)" in _refund_turn(base, settings)
    version = int(httpx.get(f"{base}/v1/admin/policy", headers=ops).json()["version"])
    off = httpx.patch(f"{base}/v1/admin/tools/return_delivered_order_items", headers={**ops, "If-Match": str(version)},
                      json={"enabled": False, "reason": "fraud wave"})
    assert off.status_code == 200 and off.json()["policy"]["enabled"] is False
    assert "can't do that in this chat right now" in _refund_turn(base, settings)
    stale = httpx.patch(f"{base}/v1/admin/tools/return_delivered_order_items",
                        headers={**ops, "If-Match": str(version)}, json={"enabled": True, "reason": "second editor"})
    assert stale.status_code == 412
    httpx.patch(f"{base}/v1/admin/tools/return_delivered_order_items", headers=ops,
                json={"enabled": True, "limits": {"auto_refund_limit": 50}, "reason": "tighter"})
    assert "needs to approve it" in _refund_turn(base, settings)  # $83.85 > $50
    history = httpx.get(f"{base}/v1/admin/policy/history", headers=ops).json()
    assert history[0]["author"] == "Sam Ortiz" and history[0]["fields"] == ["auto_refund_limit", "tools"]
    assert "diff" not in history[0] and history[0]["added"] == history[0]["removed"] >= 1
    diff = httpx.get(f"{base}/v1/admin/policy/versions/{history[0]['version']}/diff", headers=ops).json()["diff"]
    assert "+auto_refund_limit: 50" in diff.replace(".0", "")
    assert httpx.get(f"{base}/v1/admin/policy/versions/9999/diff", headers=ops).status_code == 404
    back = httpx.post(f"{base}/v1/admin/policy/rollback", headers=ops, json={"version": version, "reason": "undo"})
    assert back.status_code == 200 and back.json()["document"]["auto_refund_limit"] == 200.0
    assert "(yes/no)" in _refund_turn(base, settings)


def test_a_second_server_process_sees_a_change_within_a_second(admin: tuple[str, Settings]) -> None:
    base, settings = admin
    port = free_port()
    env = {**os.environ, "SUPPORT_DATA_DIR": str(settings.data_dir),
           "SUPPORT_CHROMA_PATH": str(settings.resolved_chroma_path), "SUPPORT_SEED_DEMO_DATA": "false",
           "SUPPORT_JWT_SECRET": settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""}
    other = subprocess.Popen([sys.executable, "server.py", "--port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        second = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while not _ready(second):
            assert time.monotonic() < deadline and other.poll() is None, "second server did not start"
            time.sleep(0.2)
        ops = auth(settings, "ops")
        changed = httpx.patch(f"{base}/v1/admin/tools/cancel_pending_order", headers=ops,
                              json={"requires_approval": True, "reason": "seen by every process?"})
        assert changed.status_code == 200
        started = time.monotonic()
        while not httpx.get(f"{second}/v1/admin/tools/cancel_pending_order",
                            headers=ops).json()["policy"]["requires_approval"]:
            assert time.monotonic() - started < 1.0
            time.sleep(0.02)
    finally:
        other.terminate()
        other.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
