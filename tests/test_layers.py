"""The layers as folders: the installed monitor never imports the sandbox, nor its SMTP server, and
imports run with the flow: the ground (monitor/) → connectors → rules → reports; only the commands
(the CLI, the nightly pipeline, the scheduler) import every layer."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONITOR_PACKAGES = ("monitor", "connectors", "rules", "reports")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_of_the_monitor_imports_the_sandbox_at_load_time():
    # `motcua demo` loads the sandbox inside the command, so the CLI module is checked at run time below.
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imported_modules(path)
                                            if name.split(".")[0] in ("sandbox", "aiosmtpd"))
        for package in MONITOR_PACKAGES for path in (ROOT / package).rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names and path != "monitor/cli.py"} == {}


def test_importing_the_cli_loads_neither_the_sandbox_nor_aiosmtpd():
    probe = ("import sys, monitor.cli; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sandbox', 'aiosmtpd')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]"


def test_the_installed_monitor_does_not_depend_on_the_sandbox_smtp_server():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(dependency.startswith("aiosmtpd") for dependency in project["dependencies"])
    assert any(dependency.startswith("aiosmtpd") for dependency in project["optional-dependencies"]["demo"])


# Each layer, and the layers it must never import (the flow runs one way).
FORBIDDEN = {
    "connectors": ("rules", "reports"),
    "rules": ("connectors", "reports"),
    "reports": ("connectors",),
    "monitor": ("connectors", "rules", "reports"),
}
# The commands sit on top of every layer, though their files live in monitor/.
COMMANDS = ("monitor/cli.py", "monitor/pipeline.py", "monitor/scheduler.py")
# The one import against the flow, and why: the keys of config [rules] are the parameters the
# rules declare, and those of [index] the indicators of the index, so reading a config asks their
# registry (inside the function, so importing monitor.config loads no rule).
ALLOWED = {("monitor/config.py", "rules.registry")}


def test_imports_run_with_the_flow():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imported_modules(path)
                                            if name.split(".")[0] in forbidden)
        for package, forbidden in FORBIDDEN.items() for path in (ROOT / package).rglob("*.py")}
    against_the_flow = {path: [name for name in names if (path, name) not in ALLOWED]
                        for path, names in offenders.items() if path not in COMMANDS}
    assert {path: names for path, names in against_the_flow.items() if names} == {}


def test_a_source_kind_depends_only_on_the_declarations_of_monitor_sources():
    # The config imports every kind; a kind that imported more would pull it into every layer.
    kinds = [ROOT / "monitor" / "sources.py", *(ROOT / "monitor" / "kinds").glob("*.py")]
    imported = {str(path.relative_to(ROOT)): sorted(name for name in _imported_modules(path)
                                                    if name.split(".")[0] in MONITOR_PACKAGES)
                for path in kinds}
    assert {path: names for path, names in imported.items() if set(names) - {"monitor.sources"}} == {}


def test_reading_the_config_loads_no_connector():
    probe = ("import sys, monitor.config; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('connectors', 'rules', 'reports')), "
             "sorted(monitor.config.KINDS))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[] ['dvcqg_stream', 'onestop_api', 'portal_html', 'tracking_book']"
def _imported_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every `from module import name` of a file."""
    return {(node.module, alias.name) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}


# What a report may read of the store: what the audit stage stored for it, and the outbox.
REPORT_TABLES = {"ReportSnapshot", "ReportAgency", "ReportFinding", "ReportFigures", "ReportIndex", "OutboxMessage"}


def test_reports_only_read_what_the_audit_stage_stored():
    offenders = {}
    for path in (ROOT / "reports").rglob("*.py"):
        imported = _imported_names(path)
        wrong = sorted(f"{module}.{name}" for module, name in imported
                       if module.split(".")[0] == "connectors"
                       or (module == "monitor.models" and name not in REPORT_TABLES)
                       or (module.startswith("rules.") and name in ("run_audit", "audit_figures", "publish"))
                       or module in ("rules.publish", "rules.exemptions", "monitor.pipeline"))
        if wrong:
            offenders[str(path.relative_to(ROOT))] = wrong
    assert offenders == {}


def test_the_rules_import_neither_the_connectors_nor_the_reports():
    offenders = {str(path.relative_to(ROOT)): sorted(name for name in _imported_modules(path)
                                                     if name.split(".")[0] in ("connectors", "reports"))
                 for path in (ROOT / "rules").rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}
