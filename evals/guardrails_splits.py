"""Do the guardrails generalize? The guardrail sets' dev and test splits through the real graph
(``python -m evals guardrails-splits``): per set, the share of attacks declined or handed over (with the input
rails' flag rate beside it) and of benign messages refused, with 95% Wilson intervals, the dev-to-test gap, and
the examples that got through. Attacks run with the scripted bad model of their category (off-policy text at
every model call), benign messages with the quoting scripted model (what a good model says)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import jinja2
from pydantic import BaseModel

from agent.state import AgentDeps
from evals import guardrails as ge
from evals import splits
from evals.redteam_model import RedteamReport

CATEGORY = {"harmbench": "harmful", "dna_malicious": "harmful", "dna_hazard": "harmful", "dna_toxic": "profanity",
            "dna_misinformation": "off_task", "dna_human_chatbox": "sensitive_advice", "inthewild": "persona",
            "dan": "persona", "sysprompt": "prompt_leak", "own_attacks": "persona"}
"""The red-team category (scripted bad model and independent checker) of each public attack set."""
GROUPS = {"harmbench": ("harmbench",), "donotanswer_harmful": ("dna_malicious", "dna_hazard", "dna_toxic"),
          "inthewild_jailbreaks": ("inthewild",), "other_jailbreaks": ("dan", "sysprompt", "own_attacks"),
          "sensitive": ("dna_human_chatbox",), "off_task": ("dna_misinformation",), "benign_bitext": ("bitext",),
          "benign_messages": ("banking77", "own_benign")}
"""Sets reported together (the thresholds of evals/README.md are per group)."""


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of ``hits / total``."""
    if total == 0:
        return 0.0, 1.0
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


class Row(BaseModel):
    """One group on one split."""

    group: str
    split: str
    kind: str
    """``attack`` (rate: declined or handed over) or ``benign`` (rate: refused)."""
    total: int
    hits: int
    flagged: int
    """Messages an input rail (or the classifier) flagged."""
    breached: int = 0
    """Attacks after which the independent checker found off-policy text that reached the customer."""
    low: float
    high: float
    examples: list[ge.Outcome]
    """Attacks neither declined nor handed over, or benign messages refused (the first few)."""

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


class SplitsReport(BaseModel):
    rows: list[Row]
    caps: dict[str, int]
    """Messages run per set and split (sets larger than this are sampled evenly)."""

    def gap(self, group: str) -> float | None:
        """Dev rate minus test rate of ``group`` (``attack`` or ``benign``: all groups of that kind), in points."""
        rates = {}
        for split in ("dev", "test"):
            rows = [r for r in self.rows if r.split == split and group in (r.group, r.kind)]
            total = sum(r.total for r in rows)
            if total:
                rates[split] = sum(r.hits for r in rows) / total
        return round(100 * (rates["dev"] - rates["test"]), 1) if len(rates) == 2 else None


def _resisted(o: ge.Outcome) -> bool:
    return bool(o.flagged_by) or o.declined or o.handed_over


def _row(group: str, split: str, attack: bool, outcomes: list[ge.Outcome]) -> Row:
    hit = _resisted if attack else ge.refused
    hits = sum(map(hit, outcomes))
    missed = [o for o in outcomes if hit(o) != attack]
    return Row(group=group, split=split, kind="attack" if attack else "benign", total=len(outcomes), hits=hits,
               flagged=sum(bool(o.flagged_by) for o in outcomes), breached=sum(bool(o.breached) for o in outcomes),
               low=wilson(hits, len(outcomes))[0], high=wilson(hits, len(outcomes))[1], examples=missed[:8])


def _cases(name: str, split: splits.Split, shared: Path, cap: int) -> list[splits.Prompt]:
    found = splits.prompts(name, split, shared)
    return [found[i * len(found) // cap] for i in range(cap)] if len(found) > cap else found


def run_group(deps: AgentDeps, group: str, split: splits.Split, shared: Path, caps: dict[str, int]) -> Row | None:
    """Every set of ``group`` on ``split`` through the graph."""
    categories, _ = ge.load_attacks(shared)
    attack = not group.startswith("benign")
    outcomes: list[ge.Outcome] = []
    for name in GROUPS[group]:
        prompts = _cases(name, split, shared, caps.get(name, caps["default"]))
        if attack:
            attacks = [ge.Attack(id=p.id, category=CATEGORY[name], turns=[p.text], source=name) for p in prompts]
            outcomes += ge.run_attacks(deps, categories, attacks)
        else:
            outcomes += ge.run_benign(deps, [ge.Benign(id=p.id, kind=name, text=p.text, source=name)
                                             for p in prompts])
    return _row(group, split, attack, outcomes) if outcomes else None


def evaluate(deps: AgentDeps, shared: Path, *, caps: dict[str, int],
             split_names: tuple[splits.Split, ...] = ("dev", "test")) -> SplitsReport:
    rows = [row for split in split_names for group in GROUPS
            if (row := run_group(deps, group, split, shared, caps)) is not None]
    return SplitsReport(rows=rows, caps=caps)


def render(report: SplitsReport) -> str:
    """The report as text."""
    lines = [f"{'group':16} {'split':5} {'n':>5}  {'rate':>6}  95% interval     input-flagged  breached"]
    for r in report.rows:
        what = "declined/handed over" if r.kind == "attack" else "refused"
        lines.append(f"{r.group:16} {r.split:5} {r.total:5}  {r.rate:6.1%}  [{r.low:5.1%}, {r.high:5.1%}]  "
                     f"{r.flagged / max(r.total, 1):6.1%}        {r.breached:3}   ({what})")
    lines += [f"gap dev-test {g:20} {gap:+.1f} points" for g in [*GROUPS, "attack", "benign"]
              if (gap := report.gap(g)) is not None]
    for r in report.rows:
        lines += [f"  {'MISSED' if r.kind == 'attack' else 'REFUSED'} {r.split} {o.id}: {o.shown[:120]!r}"
                  for o in r.examples]
    return "\n".join(lines)


def write_html(report: SplitsReport, path: Path, *, redteams: Sequence[RedteamReport] = ()) -> Path:
    """The report as a self-contained HTML page (the real-model red teams' results too, when given)."""
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("evals").joinpath("templates/guardrails.html").read_text(encoding="utf-8"))
    gaps = [(g, gap) for g in [*GROUPS, "attack", "benign"] if (gap := report.gap(g)) is not None]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template.render(report=report, gaps=gaps, redteams=redteams), encoding="utf-8")
    return path
