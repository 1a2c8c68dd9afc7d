"""The package's import graph: no cycles, and imports flow one way between layers.

Every import counts, function-level ones included: an import moved into a function to
dodge a cycle still ties the two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "noderr_deploy"

# Lower layers never import higher ones. Within a layer, any direction without cycles.
LAYERS: list[tuple[str, ...]] = [
    (
        "errors",
        "units",
        "text",
        "redact",
        "results",
        "keccak",
        "_keccak",
        "_survey",
        "environment",
        "files",
    ),
    ("cohorts", "nodeids"),
    ("config", "health"),
    ("rollback",),
    ("chain", "images"),
    ("ui",),
    ("commands",),
    ("cli", "__main__"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("noderr_deploy", *parts))


def modules() -> dict[str, Path]:
    # A compiled module (noderr_deploy._keccak) is known by its stub.
    found = {module_name(path): path for path in PACKAGE.rglob("*.pyi")}
    return found | {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The package modules ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("noderr_deploy"):
                continue
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
    return found


def graph() -> dict[str, set[str]]:
    known = set(modules())
    return {name: imports(path, known) - {name} for name, path in modules().items()}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package itself (noderr_deploy.__version__)
    for rank, names in enumerate(LAYERS):
        if parts[1] in names:
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_imports_flow_down_the_layers() -> None:
    wrong = []
    for module, targets in graph().items():
        rank = layer_of(module)
        for target in targets:
            target_rank = layer_of(target)
            if rank is not None and target_rank is not None and target_rank > rank:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


@pytest.mark.parametrize("package", ["config", "health", "chain", "images", "ui", "commands"])
def test_subpackages_import_nothing_on_their_own(package: str) -> None:
    # Importing one module of a subpackage must not import the rest (start-up time).
    tree = ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_top_level_stays_small() -> None:
    # Subpackages by concern: the top level keeps the entry point, the error hierarchy
    # and the small domain modules that read well on their own.
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == [
        "__init__",
        "__main__",
        "cli",
        "cohorts",
        "environment",
        "errors",
        "files",
        "keccak",
        "nodeids",
        "redact",
        "results",
        "text",
        "units",
    ]


# Side effects come in through noderr_deploy.environment.Environment: only it (and the
# entry point, which must write an error even when no Environment could be built) touches
# the process's streams, environment variables or clock.
SIDE_EFFECTS = ("os.environ", "os.getenv", "sys.stdin", "sys.stdout", "sys.stderr", "datetime.now")
ALLOWED = {"noderr_deploy.environment", "noderr_deploy.cli"}


def test_side_effects_come_through_the_environment() -> None:
    found = []
    for name, path in modules().items():
        if name in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                dotted = ast.unparse(node)
                if dotted in SIDE_EFFECTS:
                    found.append(f"{name}:{node.lineno}: {dotted}")
    assert found == []


def _calls(path: Path, dotted: str) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == dotted
    ]


# Where json.dumps may run outside the one encoder (noderr_deploy.ui.output.to_json), and
# why: none of these writes a --json document.
JSON_DUMPS_ALLOWED = {
    "noderr_deploy.ui.output": "the one encoder",
    "noderr_deploy.ui.cohort": "the escaped inside of one id's JSON string (streaming rows)",
    "noderr_deploy.chain.rpc": "a JSON-RPC request body",
    "noderr_deploy.chain.proposal": "the Safe app's checksum serialisation (JSON.stringify)",
    "noderr_deploy.chain.binding": "a tuple argument as the Safe app's input text",
}


def test_json_documents_go_through_the_one_encoder() -> None:
    found = [
        f"{name}:{line}"
        for name, path in modules().items()
        if name not in JSON_DUMPS_ALLOWED
        for line in _calls(path, "json.dumps")
    ]
    assert found == []


def test_one_result_model_type() -> None:
    # Every result is a noderr_deploy.results.Document (or built from one); the other
    # msgspec structs are the health reader's input records and its process messages.
    found = [
        f"{name}:{node.lineno}: class {node.name}"
        for name, path in modules().items()
        if name != "noderr_deploy.results" and not name.startswith("noderr_deploy.health.")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base) in ("msgspec.Struct", "Struct") for base in node.bases)
    ]
    assert found == []
    # No result writes its own JSON: documents are encoded by ui.output.to_json alone.
    methods = [
        f"{name}:{node.lineno}"
        for name, path in modules().items()
        if name != "noderr_deploy.ui.output"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name in ("to_json", "as_json", "to_dict")
    ]
    assert methods == []


def test_one_escaper() -> None:
    # Text from outside is escaped by noderr_deploy.text alone; others import it.
    names = {"printable", "one_line", "clipped"}
    found = [
        f"{name}:{node.lineno}: def {node.name}"
        for name, path in modules().items()
        if name != "noderr_deploy.text"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name in names
    ]
    assert found == []


# Split by responsibility before a module passes ~400 lines (STYLE.md). A module allowed
# past it is listed here with its reason; none is today.
MAX_MODULE_LINES = 400
LARGER_MODULES: dict[str, str] = {}


def test_modules_stay_small() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()
    }
    found = {
        name: n for name, n in sizes.items() if n > MAX_MODULE_LINES and name not in LARGER_MODULES
    }
    assert found == {}
    # An exception that no longer needs its place loses it.
    assert {name for name in LARGER_MODULES if sizes.get(name, 0) <= MAX_MODULE_LINES} == set()


CLI_MODULES = ("exits", "groups", "params", "completion")


def test_the_entry_point_and_the_command_line_modules_stay_small() -> None:
    # cli.py is the entry point (issue 11: it had grown to 560 lines holding six concerns);
    # the command-line machinery beside it is one module per concern.
    paths = [PACKAGE / "cli.py", *(PACKAGE / "ui" / f"{n}.py" for n in CLI_MODULES)]
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in paths}
    assert {name: n for name, n in sizes.items() if n > 300} == {}
