"""The import contract of the pure core: ``streams/`` imports no shell.

Every module under ``streams/`` may import the standard library, a few pure libraries
and other ``campaignpulse.streams`` modules; never Kafka, Prometheus or ClickHouse
clients, the settings, the sinks, the producers, the worker or any other part of the
composition root. Checked twice: statically (every import statement, also those inside
functions) and by importing the whole core in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CORE = ROOT / "streams"
#: third-party packages the core may use: pure data handling, no I/O (datasketch:
#: MinHash LSH for near-duplicate comments, issue 19)
ALLOWED_THIRD_PARTY = {"msgspec", "orjson", "pydantic", "datasketch"}
#: what must never be loaded with the core (the shell's libraries and packages)
SHELL = ("aiokafka", "kafka", "prometheus_client", "clickhouse_driver", "chdb",
         "campaignpulse.settings", "campaignpulse.sinks", "campaignpulse.producers",
         "campaignpulse.worker", "campaignpulse.metrics")


def imports(source: str, package: str) -> list[str]:
    """Absolute names of every module an import statement in ``source`` names."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.append(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.append(node.module)
    return names


def violations(source: str, package: str) -> list[str]:
    bad = []
    for name in imports(source, package):
        top = name.split(".")[0]
        if top == "campaignpulse":
            if not (name == "campaignpulse.streams" or name.startswith("campaignpulse.streams.")):
                bad.append(name)
        elif top in sys.stdlib_module_names or top == "__future__":
            continue
        elif top not in ALLOWED_THIRD_PARTY:
            bad.append(name)
    return bad


def core_modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        package = "campaignpulse." + ".".join(parts[:-1])
        out.append((path, package))
    return out


def test_the_checker_catches_shell_imports() -> None:
    source = ("import os\nfrom campaignpulse.streams.windows import HOUR_MS\n"
              "def f():\n    from aiokafka import AIOKafkaConsumer\n"
              "from campaignpulse.settings import Settings\nfrom ...sinks import writer\n"
              "import campaignpulse.broker\nfrom . import gate\n")
    assert sorted(violations(source, "campaignpulse.streams.spikes")) == [
        "aiokafka", "campaignpulse.broker", "campaignpulse.settings", "campaignpulse.sinks"]


def test_no_module_of_the_core_imports_the_shell() -> None:
    modules = core_modules()
    assert len(modules) > 25  # the whole core, not an empty directory
    found = {str(path.relative_to(ROOT)): bad for path, package in modules
             if (bad := violations(path.read_text(), package))}
    assert found == {}


def test_importing_the_whole_core_loads_no_shell_library() -> None:
    names = [f"{package}.{path.stem}".removesuffix(".__init__") for path, package in core_modules()]
    script = ("import importlib, sys\n"
              f"for name in {names!r}:\n    importlib.import_module(name)\n"
              f"print(sorted(m for m in sys.modules if m.startswith({SHELL!r})))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "[]", done.stdout
