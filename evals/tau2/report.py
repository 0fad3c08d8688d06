"""The replay report as text: the count, then refusals grouped by reason and mismatches with their diffs."""

from __future__ import annotations

from collections import defaultdict

from evals.tau2.replay import ReplayReport


def render(report: ReplayReport) -> str:
    results = report.results
    skipped = sum(r.skipped for r in results)
    lines = [f"{report.exact} of {len(results)} tasks replay exactly ({report.actual} against tau2; "
             f"{skipped} calculate actions skipped)"]
    refused: dict[str, list[str]] = defaultdict(list)
    for result in results:
        if result.status == "refused":
            first = result.refusals[0]
            refused[f"{first.tool} {first.outcome}: {first.message}"].append(result.task_id)
    if refused:
        lines.append(f"refused ({sum(map(len, refused.values()))}), first refusal per task:")
        lines += [f"  {reason}  [tasks {', '.join(ids)}]" for reason, ids in sorted(refused.items())]
    mismatched = [r for r in results if r.status == "mismatch"]
    if mismatched:
        lines.append(f"mismatch ({len(mismatched)}):")
        for result in mismatched:
            lines.append(f"  task {result.task_id}:")
            lines += [f"    {line}" for line in result.diff]
    accepted = [f"{r.task_id} ({a.action}: {a.message})" for r in results for a in r.accepted]
    if accepted:
        lines.append("gold actions tau2 refuses but ours carried out (not counted): " + "; ".join(accepted))
    return "\n".join(lines)
