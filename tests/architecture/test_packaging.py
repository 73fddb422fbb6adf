"""`pip install .` adds one top-level package, `recassist`, and every subpackage of the source tree."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("recassist", "foundation", "assistant", "retrieval", "ranking", "prompts", "ui")


def _site_packages(env_dir: Path) -> Path:
    return next((env_dir / "lib").glob("python3*/site-packages"))


def _top_level(site: Path) -> set[str]:
    return {p.name for p in site.iterdir() if p.name != "__pycache__"}


@pytest.mark.slow
def test_wheel_installs_only_the_recassist_namespace(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    wheel = next(wheels.glob("recassist-*.whl"))
    # System site packages give the wheel its dependencies without a download, and pip itself (installing
    # pip into the venv first cost ~8 s); pip run by the venv's Python installs into the venv. The venv's own
    # site-packages come first, so what is imported below is the wheel's copy.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    site = _site_packages(env_dir)
    before = _top_level(site)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True,
                   capture_output=True)
    added = _top_level(site) - before
    assert {a for a in added if not a.endswith(".dist-info")} == {"recassist"}

    installed = {str(p.parent.relative_to(site)).replace("/", ".") for p in (site / "recassist").rglob("__init__.py")}
    expected = {"recassist"}
    for folder in FOLDERS[1:]:
        for init in (ROOT / folder).rglob("__init__.py"):
            expected.add(".".join(["recassist", *init.parent.relative_to(ROOT).parts]))
    assert installed == expected
    # Data files travel with their packages.
    assert (site / "recassist/foundation/demo_data/ml-latest-small/movies.csv").is_file()
    assert (site / "recassist/foundation/demo_data/goodbooks-10k/books_top20_tags.csv").is_file()
    assert (site / "recassist/foundation/demo_data/goodbooks-10k/LICENSE").is_file()
    assert (site / "recassist/prompts/explain_item.yaml").is_file()
    assert (site / "recassist/assistant/extraction/synonyms.yaml").is_file()

    probe = ("import recassist.cli, recassist.prompts as p, recassist.foundation.settings as s; "
             "print(recassist.cli.__file__); print(len(p.available_prompts())); print(s.DEMO_CATALOG_DIR.is_dir())")
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    where, prompts, demo_data = out.stdout.split()
    assert where.startswith(str(site)), "the wheel's copy must be the one imported"
    assert int(prompts) == len(list((ROOT / "prompts").glob("*.yaml")))
    assert demo_data == "True"
