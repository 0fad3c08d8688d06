"""Suite files are validated with pydantic; a bad file names its file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from evals.cases import FormatError, load_paths
from evals.scenario import Scenario, ToolCall
from evals.thresholds import load_thresholds

GOOD = """\
suite: demo
defaults:
  customer: {id: olivia_martin_4821}
  tags: [core]
scenarios:
  - id: status
    turns: ["where is my order #W4821002?"]
    expect:
      tools: [{name: get_order_details, args: {order_id: "#W4821002"}}]
"""


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(FormatError) as caught:
        load_paths([path])
    return str(caught.value)


def test_a_good_file_loads_with_its_defaults(tmp_path: Path) -> None:
    [case] = load_paths([write(tmp_path, GOOD)])
    assert case.suite == "demo" and case.id == "status"
    assert case.scenario is not None and case.scenario.customer.id == "olivia_martin_4821"
    assert case.tags == ["core"]


def test_a_missing_field_names_line_and_path(tmp_path: Path) -> None:
    bad = GOOD.replace("{name: get_order_details, args", "{nam: get_order_details, args")
    message = error_of(write(tmp_path, bad))
    assert "suite.yaml:9: scenarios[0].expect.tools[0].name: Field required" in message
    assert "suite.yaml:9: scenarios[0].expect.tools[0].nam: Extra inputs are not permitted" in message


def test_a_wrong_type_deep_in_the_file(tmp_path: Path) -> None:
    bad = GOOD + """\
  - id: second
    turns: ["hi"]
    max_turns: lots
    expect:
      escalation: {handoff: maybe}
"""
    message = error_of(write(tmp_path, bad))
    assert "suite.yaml:12: scenarios[1].max_turns: Input should be a valid integer" in message
    assert "suite.yaml:14: scenarios[1].expect.escalation.handoff: Input should be a valid boolean" in message


def test_an_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "suite: x\nscenarioz: []\n"))
    assert "suite.yaml:2: scenarioz: Extra inputs are not permitted" in message


def test_yaml_syntax_and_duplicate_keys_give_the_line(tmp_path: Path) -> None:
    assert "broken.yaml:3" in error_of(write(tmp_path, "suite: x\nscenarios:\n  - id: a: b\n", "broken.yaml"))
    duplicate = "suite: x\nsuite: y\nscenarios: []\n"
    assert "dup.yaml:2: duplicate key 'suite'" in error_of(write(tmp_path, duplicate, "dup.yaml"))


def test_empty_turns_and_duplicate_ids(tmp_path: Path) -> None:
    empty = GOOD.replace('turns: ["where is my order #W4821002?"]', "turns: []")
    assert "suite.yaml:7: scenarios[0].turns: List should have at least 1 item" in error_of(write(tmp_path, empty))
    folder = tmp_path / "twice"
    folder.mkdir()
    write(folder, GOOD, "a.yaml")
    write(folder, GOOD.replace("suite: demo", "suite: other"), "b.yaml")
    assert "ids used more than once: status" in error_of(folder)


def test_include_that_matches_nothing(tmp_path: Path) -> None:
    assert "include 'nothing*.yaml' matches no file" in error_of(
        write(tmp_path, "suite: x\ninclude: ['nothing*.yaml']\n"))


def test_threshold_files_are_checked_too(tmp_path: Path) -> None:
    path = write(tmp_path, "min:\n  task_success_rate: 0.9\n  task_sucess: 0.5\n", "limits.yaml")
    with pytest.raises(FormatError, match=r"limits.yaml:1: min: Value error, unknown metric\(s\) \['task_sucess'\]"):
        load_thresholds(path)


def test_every_shipped_suite_is_valid() -> None:
    cases = load_paths([Path("evals/suites/core"), Path("evals/suites/escalation.yaml")])
    core = [c for c in cases if "core" in c.tags]
    labelled = [c for c in cases if {"must-escalate", "must-not-escalate"} & set(c.tags)]
    assert len(core) >= 80 and len(labelled) == len([c for c in cases if c.suite == "escalation"])


def test_the_understanding_suite_is_big_enough_and_not_in_the_ci_gate() -> None:
    cases = load_paths([Path("evals/suites/understanding")])
    assert len(cases) >= 150
    assert all("understanding" in c.tags and "ci" not in c.tags for c in cases)
    assert len({c.suite for c in cases}) >= 8  # one file per theme


@dataclass
class Demo:
    """The demo data as plain lookups."""

    owner: dict[str, str]
    """Order id -> customer id."""
    items: dict[str, dict[str, tuple[str, float]]]
    """Order id -> item id -> (product id, price)."""
    product_of: dict[str, str]
    """Variant item id -> product id."""
    methods: dict[str, set[str]]
    emails: dict[str, str]
    """Customer id -> email."""
    who: dict[tuple[str, ...], str]
    """(email,) or (full name, zip) -> customer id."""

    def customer(self, scenario: Scenario) -> str | None:
        c = scenario.customer
        return c.id or self.who.get((c.email or "",)) or self.who.get((c.name or "", c.zip or ""))


def _demo(path: Path) -> Demo:
    from tools.store import Store
    from tools.store.demo import seed_demo_data
    from tools.store.models import Customer, Order, Product

    store = Store(f"sqlite:///{path}")
    store.migrate()
    seed_demo_data(store)
    with store.session() as session:
        customers = list(session.query(Customer))
        orders = list(session.query(Order))
        who: dict[tuple[str, ...], str] = {(c.email,): c.id for c in customers}
        who |= {(f"{c.first_name} {c.last_name}", c.address["zip"]): c.id for c in customers}
        return Demo(owner={o.id: o.customer_id for o in orders},
                    items={o.id: {i.item_id: (i.product_id, float(i.price)) for i in o.items} for o in orders},
                    product_of={v.item_id: p.id for p in session.query(Product) for v in p.variants},
                    methods={c.id: {m.id for m in c.payment_methods} for c in customers},
                    emails={c.id: c.email for c in customers}, who=who)


def _call_problems(demo: Demo, who: str, call: ToolCall) -> list[str]:
    order = call.args.get("order_id")
    if order and demo.owner.get(order) != who:
        return [f"{order} is not {who}'s"]
    held = demo.items.get(order, {})
    problems = [f"item {i} is not in {order}" for i in call.args.get("item_ids", []) if i not in held]
    olds = sorted(held[i][0] for i in call.args.get("item_ids", []) if i in held)
    news = sorted(str(demo.product_of.get(i)) for i in call.args.get("new_item_ids", []))
    if news and news != olds:
        problems.append(f"new items {call.args['new_item_ids']} are not options of the same products")
    method = call.args.get("payment_method_id")
    if method and method not in demo.methods[who]:
        problems.append(f"{method} is not {who}'s")
    return problems


def _state_problems(demo: Demo, who: str, scenario: Scenario) -> list[str]:
    state = scenario.expect.state
    if state is None:
        return []
    problems = [f"order {o} is not {who}'s" for o in [r.order for r in state.refunds] + [o.id for o in state.orders]
                if demo.owner.get(o) != who]
    problems += [f"email {m.to} is not {who}'s" for m in state.outbox if m.to != demo.emails[who]]
    for refund in state.refunds:
        returned = [c.args["item_ids"] for c in scenario.expect.tools if c.name == "return_delivered_order_items"
                    and c.args.get("order_id") == refund.order and c.args.get("item_ids")]
        held = demo.items.get(refund.order, {})
        if refund.total is not None and returned and all(i in held for i in returned[0]):
            total = sum(held[i][1] for i in returned[0])
            if abs(total - refund.total) > 0.005:
                problems.append(f"refund {refund.total} but the items cost {total:.2f}")
    return problems


def test_the_understanding_suite_names_only_what_the_demo_customer_owns(tmp_path: Path) -> None:
    """Every order, item, new option, payment method, email and refund total a scenario expects exists for its
    customer in the demo data (so a failure is the agent's, not the scenario's)."""
    demo = _demo(tmp_path / "demo.db")
    problems = []
    for case in load_paths([Path("evals/suites/understanding")]):
        scenario = case.scenario
        assert scenario is not None
        who = demo.customer(scenario)
        if who is None:
            continue
        found = [p for call in scenario.expect.tools for p in _call_problems(demo, who, call)]
        found += _state_problems(demo, who, scenario)
        problems += [f"{scenario.id}: {p}" for p in found]
    assert not problems, "\n".join(problems)
