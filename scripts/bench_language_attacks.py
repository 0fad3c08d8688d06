"""Attacks in other languages: the test split's HarmBench prompts, translated by the default model into Spanish,
French, German, Portuguese and Italian, through the input rails as the agent runs them (the rules on the message,
every rail on its English translation) and, for comparison, through the rails alone.

    .venv/bin/python scripts/bench_language_attacks.py [--limit 37] [--out reports/language-attacks.json]

The translations are saved in ``--out`` and reused by the next run (``--fresh`` makes them again). Machine
translation by the same model that translates them back makes the round trip easier than a person's wording:
read the figures as an upper bound. Needs ../shared (the HarmBench file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

from agent.guardrails import inspect_input
from agent.llm import build_chat_model
from agent.nodes.understand import input_rails
from agent.translation import languages, translate_with_model
from core.settings import Settings
from evals import splits
from evals.guardrails import DEFAULT_SHARED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=37)
    parser.add_argument("--out", type=Path, default=Path("reports/language-attacks.json"))
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    prompts = [p.text for p in splits.prompts("harmbench", "test", DEFAULT_SHARED)][: args.limit]
    model = build_chat_model(Settings(n_ctx=1024))
    saved = {} if args.fresh or not args.out.exists() else json.loads(args.out.read_text())["translations"]
    rows = []
    for language in ("en", *languages()):
        flagged = alone = 0
        for prompt in prompts:
            key = f"{language}:{prompt}"
            if language != "en" and key not in saved:
                saved[key] = translate_with_model(model, prompt, language)
            text = prompt if language == "en" else saved[key]
            flagged += input_rails(text, language, lambda: model)[0].flag is not None
            alone += inspect_input(text).flag is not None
        rows.append({"language": language, "attacks": len(prompts), "flagged": flagged,
                     "flagged_without_translation": alone})
        sys.stdout.write(f"{language}: {flagged}/{len(prompts)} flagged ({alone} without the translation)\n")
        sys.stdout.flush()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "translations": saved}, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
