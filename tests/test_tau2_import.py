"""tau2-bench's retail database goes into the store and comes back out unchanged; bad input writes nothing."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import shared_set
from tools.store import Store
from tools.store.models import Customer, Order
from tools.store.tau2 import Tau2ImportError, export_tau2, import_tau2

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 6, 15, 12, 0)


def _rounded(value: Any) -> Any:
    """Floats to cents, all the way down, as tau2's grader compares numbers."""
    if isinstance(value, dict):
        return {key: _rounded(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, 2) if isinstance(value, float) else value


def _store(path: Path) -> Store:
    store = Store(f"sqlite:///{path / 'store.db'}")
    store.migrate()
    return store


def _customers(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Customer)) or 0


@pytest.fixture(scope="module")
def db_file() -> Path:
    return shared_set("tau2-bench/retail/db.json")


@pytest.fixture(scope="module")
def original(db_file: Path) -> dict[str, Any]:
    return json.loads(db_file.read_text())


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, db_file: Path) -> Store:
    store = _store(tmp_path_factory.mktemp("tau2"))
    summary = import_tau2(store, db_file, now=NOW)
    assert summary.seconds < 10
    assert summary.model_dump(exclude={"seconds"}) == {
        "customers": 500, "payment_methods": 695, "products": 50, "variants": 591, "orders": 1000,
        "order_items": 2978, "fulfillments": 577, "payments": 1102,
    }  # fmt: skip
    return store


def test_round_trip_is_exact(imported: Store, original: dict[str, Any]) -> None:
    assert _rounded(export_tau2(imported)) == _rounded(original)


def test_only_delivered_orders_get_a_date(imported: Store) -> None:
    with imported.session() as session:
        orders = list(session.scalars(select(Order)))
    assert all(o.placed_at is None and o.shipped_at is None for o in orders)
    assert {o.status for o in orders if o.delivered_at == NOW} == {"delivered"}
    assert all(o.delivered_at is None for o in orders if o.status != "delivered")


def test_a_second_import_is_refused_and_replace_starts_over(tmp_path: Path, original: dict[str, Any]) -> None:
    store = _store(tmp_path)
    import_tau2(store, original)
    changed = copy.deepcopy(original)
    changed["users"]["noah_brown_6181"]["email"] = "noah@example.com"
    with pytest.raises(Tau2ImportError, match="already has customers"):
        import_tau2(store, changed)
    assert export_tau2(store)["users"]["noah_brown_6181"]["email"] == "noah.brown7922@example.com"
    with pytest.raises(Tau2ImportError, match="not a tau2 retail database"):
        import_tau2(store, {"users": {}}, replace=True)
    assert _customers(store) == 500
    import_tau2(store, changed, replace=True)
    assert _rounded(export_tau2(store)) == _rounded(changed)


def _broken(original: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(original)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("products", "9523456873", "variants", "9612497925", "price"), "50.88",
         r"products\.9523456873\.variants\.9612497925\.price: Input should be a valid number"),
        (("users", "noah_brown_6181", "name"), "Noah Brown", r"users\.noah_brown_6181\.name: Input should be"),
        (("orders", "#W2611340", "status"), None, r"orders\.#W2611340\.status"),
        (("orders", "#W2611340", "user_id"), "nobody_1", "belongs to unknown user nobody_1"),
        (("users", "noah_brown_6181", "orders"), [], r"user noah_brown_6181 lists orders \[\] but owns"),
        (("users", "noah_brown_6181", "email"), "ivan.santos3158@example.com", r"email .* appears 2 times"),
    ],
)  # fmt: skip
def test_bad_data_is_refused_before_anything_is_written(
    tmp_path: Path, original: dict[str, Any], path: tuple[str, ...], value: Any, message: str
) -> None:
    store = _store(tmp_path)
    with pytest.raises(Tau2ImportError, match=message):
        import_tau2(store, _broken(original, path, value), replace=True)
    assert _customers(store) == 0


def test_malformed_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "db.json"
    bad.write_text('{"users": {')
    store = _store(tmp_path)
    with pytest.raises(Tau2ImportError, match=r"cannot read .* as JSON"):
        import_tau2(store, bad)
    with pytest.raises(Tau2ImportError, match="not a tau2 retail database: products: Field required"):
        import_tau2(store, {"users": {}, "orders": {}})
    assert _customers(store) == 0


def test_cli_imports_refuses_twice_and_exports(tmp_path: Path, original: dict[str, Any], db_file: Path) -> None:
    env = {**os.environ, "SUPPORT_DATA_DIR": str(tmp_path), "SUPPORT_DATABASE_URL": "", "SUPPORT_SEED_DEMO_DATA": "0"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "tools.store", *args]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    first = cli("import-tau2", str(db_file))
    assert first.returncode == 0 and first.stdout == "" and '"orders": 1000' in first.stderr
    again = cli("import-tau2", str(db_file))
    assert again.returncode == 1 and "already has customers" in again.stderr
    out = tmp_path / "out.json"
    assert cli("export-tau2", str(out)).returncode == 0
    assert _rounded(json.loads(out.read_text())) == _rounded(original)
