"""The README stays honest: every setting is documented, and the commands it names exist."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [name for name in Settings.model_fields if f"`SUPPORT_{name.upper()}`" not in README]
    assert missing == []


def test_the_two_commands_are_the_makefile_and_ci_ones() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "make run" in README and "make test" in README
    assert "\nrun:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_scripts_the_readme_names_exist() -> None:
    for script in ("scripts/bench_chat.py", "scripts/bench_knowledge.py", "scripts/bench_rails.py",
                   "scripts/bench_planner.py", "scripts/bench_cluster.py"):
        assert Path(script).name in README or script in README
        assert (ROOT / script).is_file()
