"""Convention tests: layering of imports, every setting documented, every example runs."""

from __future__ import annotations

import ast
import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from ci_jobs import config
from ci_jobs.engine.dispatch import MODULES
from ci_jobs.tags import REGISTRY

from .harness import ServerThread

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "ci_jobs"

def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_import_contracts_hold() -> None:
    """The layering and library boundaries of .importlinter (import-linter, also run by `make lint`)."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]


def test_media_package_does_not_import_av_eagerly() -> None:
    assert "av" not in _imports(PKG / "media" / "__init__.py")


def test_every_schema_has_a_tag_module_a_driver_and_an_example() -> None:
    names = {p.stem for p in (PKG / "schemas").glob("*.xsd") if p.stem[0].isupper()}
    assert names == set(REGISTRY) == set(MODULES)
    for tag, spec in REGISTRY.items():
        assert (PKG / "tags" / f"{tag.lower()}.py").is_file(), tag
        assert (PKG / "media" / f"{spec.driver}.py").is_file(), tag
        assert (ROOT / "examples" / "jobs" / f"{tag}.xml").is_file(), tag


def _plain(value: object, where: str) -> None:
    """Typed ops hold scalars, tuples and frozen dataclasses only: no wire dicts or lists left inside."""
    if dataclasses.is_dataclass(value):
        assert type(value).__dataclass_params__.frozen, f"{where}: {type(value).__name__} is not frozen"  # type: ignore[attr-defined]
        for f in dataclasses.fields(value):
            _plain(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            _plain(item, f"{where}[{i}]")
    else:
        assert value is None or isinstance(value, str | int | float | bool), f"{where} is a {type(value).__name__}"


@pytest.mark.parametrize("tag", sorted(REGISTRY))
def test_every_tag_parses_its_example_into_a_frozen_typed_op(tag: str) -> None:
    """Workers receive the typed op, never the wire dict (issue 8, typed ops)."""
    from ci_jobs import tags, xmlio

    request = xmlio.to_dict(xmlio.parse((ROOT / "examples" / "jobs" / f"{tag}.xml").read_bytes()))
    op = tags.parse(tag, request["Operation"])
    assert dataclasses.is_dataclass(op) and not isinstance(op, type), f"{tag} parses into {type(op).__name__}"
    _plain(op, f"{tag}Op")
    assert pickle.loads(pickle.dumps(op)) == op  # it crosses to the worker process as it is


# Where a Tag's name may be written as a string: its own tag module, its media driver, the presets, and
# the protocols, whose wire elements share some Tags' names (CI's `<MediaInfo>` answer of ci-process).
TAG_NAME_HOMES = ("tags/", "presets.py", "protocols/")


def test_generic_code_never_names_a_tag() -> None:
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith(TAG_NAME_HOMES):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in REGISTRY:
                driver = REGISTRY[node.value].driver
                if rel != f"media/{driver}.py":
                    bad.append(f"{rel}:{node.lineno} names {node.value!r}")
    assert bad == []


def test_every_setting_appears_in_conf() -> None:
    text = (ROOT / "conf" / "ci-jobs.toml").read_text()
    for cls in (config.ServerSettings, config.SchedulerSettings, config.CallbackSettings):
        for f in dataclasses.fields(cls):
            assert f"\n{f.name} = " in text, f"{cls.__name__}.{f.name} is not in conf/ci-jobs.toml"


def test_shipped_defaults_are_the_conf_file() -> None:
    assert config.DEFAULTS.read_text() == (ROOT / "conf" / "ci-jobs.toml").read_text()
    settings = config.load()
    assert settings.server.port == 8080 and settings.server.host == "127.0.0.1"
    assert settings.accounts[0] == config.Account("1250000000", "AKIDEXAMPLE", "EXAMPLEKEY")
    assert settings.buckets[0] == config.Bucket("examplebucket-1250000000", "ap-guangzhou")


def test_env_and_flags_override(tmp_path: Path) -> None:
    extra = tmp_path / "x.toml"
    extra.write_text("[server]\nport = 9001\n[scheduler]\nworkers = 3\n")
    s = config.load(extra, {"host": "127.0.0.2"}, environ={"CI_JOBS_SCHEDULER_FAST_LANE": "2",
                                                           "CI_JOBS_DATA_DIR": "/tmp/x"})
    assert (s.server.port, s.server.host, s.server.data_dir) == (9001, "127.0.0.2", "/tmp/x")
    assert (s.scheduler.workers, s.scheduler.fast_lane) == (3, 2)


def test_demo_key_refused_on_public_address() -> None:
    out = subprocess.run([sys.executable, "-m", "ci_jobs", "serve", "--host", "0.0.0.0", "--ephemeral"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "demo key" in out.stderr


@pytest.mark.parametrize("script", ["sdk_transcode.py"])
def test_example_scripts_run(server: ServerThread, script: str) -> None:
    env = {**os.environ, "CI_JOBS_PORT": str(server.port)}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "downloaded" in out.stdout


def test_curl_example_runs(server: ServerThread) -> None:
    env = {**os.environ, "EP": server.endpoint, "PY": sys.executable}
    out = subprocess.run(["bash", str(ROOT / "examples" / "curl.sh")], env=env, capture_output=True, text=True,
                         timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert ": Success" in out.stdout
