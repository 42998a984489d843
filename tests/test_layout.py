"""The package's shape: no module imports one that imports it back, and registries import
no implementations (issue 18)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "rotelab"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """rotelab modules ``path`` imports anywhere in its body (function-level imports too),
    with ``from package import submodule`` resolved to the submodule."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_registries_import_no_implementations():
    graph = import_graph()
    assert graph["rotelab.papers"] == set()
    assert graph["rotelab.core.registry"] == set()
    # The figure registry knows claims, not figures; the catalog is the one list of families.
    assert not {m for m in graph["rotelab.figures.registry"] if m.startswith("rotelab.papers")}
    families = {m for m in graph["rotelab.figures.catalog"] if m.endswith("figures")}
    registered = {m for m in graph if m.endswith("figures") and m.startswith(("rotelab.papers", "rotelab.membership"))}
    assert families == registered


def test_flat_package_is_gone():
    """Only the package marker sits at the top; every module lives in a subpackage."""
    assert [p.name for p in PACKAGE.glob("*.py")] == ["__init__.py"]


def test_the_papers_map_points_at_what_exists():
    import importlib
    import re

    import yaml

    from rotelab.papers import PAPERS

    repo = SRC.parent
    schema = yaml.safe_load((repo / "config.schema.yaml").read_text())["properties"]
    for name, paper in PAPERS.items():
        assert paper.config and set(paper.config) <= set(schema), name
        assert paper.rules and all((repo / "rules" / r).is_file() for r in paper.rules), name
        importlib.import_module(paper.package)
        assert (repo / paper.doc).is_file(), name
    # Every paper code the docs and the code use is in the map (P8 is the worked example of
    # adding a paper in docs/extending.md).
    codes = {p.code for p in PAPERS.values() if p.code}
    texts = [
        repo / "README.md",
        *(repo / "docs").rglob("*.md"),
        *PACKAGE.rglob("*.py"),
        *(repo / "rules").glob("*.smk"),
    ]
    used = {(path.name, code) for path in texts for code in re.findall(r"\bP\d+\b", path.read_text())}
    assert {(file, code) for file, code in used if code not in codes} <= {("extending.md", "P8")}


def test_every_paper_with_figures_is_a_target():
    from rotelab.figures.catalog import figures
    from rotelab.papers import PAPERS

    tagged = {figures.get(name).paper for name in figures.names()}
    assert tagged <= set(PAPERS)
    assert {name for name, paper in PAPERS.items() if paper.code} == tagged


def test_planning_the_workflow_imports_no_training_library():
    """Every Snakemake invocation parses the Snakefile (a dry run, a rerun check, each SLURM
    job), so what its rules import at parse time is paid each time: torch and transformers
    (about 2 s of CPU together) belong in the jobs that train or score, not in the plan."""
    import re
    import subprocess
    import sys

    repo = SRC.parent
    sources = [repo / "Snakefile", *sorted((repo / "rules").rglob("*.smk"))]
    statements = sorted(
        {m.group(0) for path in sources for m in re.finditer(r"^(?:from \S+ )?import .+$", path.read_text(), re.M)}
    )
    assert any("rotelab.figures.catalog" in s for s in statements), "the rules' imports were not found"
    loaded = "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'}))"
    probe = "\n".join([*statements, "import sys", loaded])
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.strip() == "[]", out.stdout
