"""The shape of the code (issue 19): one direction of flow, commands that only parse options
and call the use cases, reporters that read neither files nor the clock, and no hand-written
list of output formats. Checked on the import statements of every module."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "scanner"


def _imports(path: Path) -> set[str]:
    """Every scanner module a file imports (``from scanner.x import y`` counts x and x.y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "scanner" or name.startswith("scanner.")}


def _modules(under: str = "") -> dict[str, set[str]]:
    root = PACKAGE / under if under else PACKAGE
    return {str(path.relative_to(REPO)): _imports(path) for path in sorted(root.rglob("*.py"))}


def test_nothing_imports_the_command_line():
    offenders = {path: sorted(i for i in imports if i == "scanner.cli" or i.startswith("scanner.cli."))
                 for path, imports in _modules().items() if path not in ("scanner/cli.py", "scanner/__main__.py")}
    assert {p: i for p, i in offenders.items() if i} == {}


def test_only_commands_and_the_cli_import_commands():
    offenders = {path: sorted(i for i in imports if i.startswith("scanner.commands"))
                 for path, imports in _modules().items()
                 if not path.startswith("scanner/commands/") and path != "scanner/cli.py"}
    assert {p: i for p, i in offenders.items() if i} == {}


# What a command may reach: the use cases, option parsing, and the console views. The
# engine, the collectors, the pack loader and evaluation are the use cases' business.
COMMANDS_MAY_NOT_IMPORT = ("scanner.packs", "scanner.rules", "scanner.evaluate.evaluation", "scanner.evaluate.waivers",
                           "scanner.collect.runner", "scanner.inputs.inventory_file.load_inventory",
                           "scanner.report.digest")


def test_commands_call_the_use_cases_not_the_layers_below():
    offenders = {path: sorted(i for i in imports if i.startswith(COMMANDS_MAY_NOT_IMPORT))
                 for path, imports in _modules("commands").items()}
    assert {p: i for p, i in offenders.items() if i} == {}


def test_reporters_read_neither_policy_files_nor_the_clock():
    """Framework titles travel in the ScanReport; the generated time is passed in. (A saved
    results file is read by results_json.read, the one reader of that format.)"""
    offenders = {path: sorted(i for i in imports if i.startswith(("scanner.usecases", "scanner.packs",
                                                                   "scanner.inputs.yamlfile.load_yaml",
                                                                   "scanner.collect")))
                 for path, imports in _modules("report").items()}
    assert {p: i for p, i in offenders.items() if i} == {}
    wall_clock = ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today(")
    readers = {str(path.relative_to(REPO)): [call for call in wall_clock if call in path.read_text()]
               for path in sorted((PACKAGE / "report").rglob("*.py"))}
    assert {p: calls for p, calls in readers.items() if calls} == {}


def test_the_engine_and_evaluation_do_no_io():
    offenders = {path: sorted(i for i in imports if i.startswith(("scanner.inputs.yamlfile", "scanner.usecases",
                                                                   "scanner.report", "scanner.collect")))
                 for path, imports in {**_modules("rules"), **_modules("evaluate")}.items()}
    assert {p: i for p, i in offenders.items() if i} == {}
