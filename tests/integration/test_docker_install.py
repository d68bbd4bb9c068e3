"""The Docker image's install step, without Docker: the file set that
docker/Dockerfile.dockerignore lets into the build context becomes a wheel (as the
Dockerfile's first stage builds it), the wheel goes into a fresh venv, and the CLI runs
there, away from the repository, for every package the metadata lists."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORE_FILE = ROOT / "docker" / "Dockerfile.dockerignore"


def build_context_files() -> list[Path]:
    """The repository files the .dockerignore rules send to the build (a subset of the
    syntax: `*`, `!path/`, `!file`, `**/name`)."""
    rules = [
        line.strip()
        for line in IGNORE_FILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "the ignore file must start from nothing and let files in"
    sent = []
    for path in sorted(ROOT.rglob("*")):
        if not path.is_file() or ".venv" in path.parts or ".git" in path.parts:
            continue
        rel = path.relative_to(ROOT).as_posix()
        included = False
        for rule in rules[1:]:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            hit = rel == pattern or rel.startswith(pattern + "/")
            if pattern.startswith("**/"):
                hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in rel.split("/"))
            if hit:
                included = negate
        if included:
            sent.append(path)
    return sent


def test_given_the_dockerignore_then_every_package_of_the_metadata_is_in_the_context() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in meta["tool"]["setuptools"]["packages"]["find"]["include"]}
    tops = {p.relative_to(ROOT).parts[0] for p in build_context_files()}
    assert packages <= tops, f"packages left out of the Docker build: {packages - tops}"


@pytest.mark.slow
def test_given_the_image_file_set_when_installed_in_a_fresh_venv_then_the_cli_runs(
    tmp_path: Path,
) -> None:
    context = tmp_path / "context"
    for path in build_context_files():
        target = context / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(context)],
        check=True,
        cwd=tmp_path,
    )
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    # The wheel's dependencies come from the test venv (PyPI is not the point here).
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    found = subprocess.run(
        [str(python), "-c", "import dialer.control.app, ivr.fastagi; print(ivr.fastagi.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_relative_to(fresh)
    # The dashboard's page, script and style are package data: the service serves them.
    dashboard = subprocess.run(
        [str(python), "-c", "from dialer.control.service.http_dashboard import ASSETS, asset\n"
         "print(all(asset(name) for name in ASSETS))"],
        cwd=workdir, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert dashboard.stdout.strip() == "True", dashboard.stderr
    for example in ("campaign.yaml", "campaign-keypad.yaml"):
        checked = subprocess.run(
            [str(fresh / "bin" / "dialer"), "validate", str(ROOT / "examples" / example)],
            cwd=workdir,
            env={**env, "DIALER_AMI_SECRET": "unused"},
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "is valid" in checked.stdout
