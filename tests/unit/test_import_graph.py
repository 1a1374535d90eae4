"""The import graph points one way: no circle (late and TYPE_CHECKING imports included), the
two services never import each other, and nothing outside tests imports tests."""

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"services": ROOT / "services", "shared": ROOT / "shared", "tests": ROOT / "tests",
           "bench": ROOT / "bench"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, base in SOURCES.items():
        prefix = base.parent if name in {"bench", "tests"} else base
        for path in base.rglob("*.py"):
            if "migrations" in path.parts or "peers" in path.parts:
                continue
            parts = list(path.relative_to(prefix).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """Every module this file imports anywhere in it, resolved to modules we own."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join([*module.split(".")[:-node.level], node.module])
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and known[name].name != "__init__.py":
                out.add(name)
    return out


@functools.cache  # parsed once for the tests below, which only read it
def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {m: _imports(p, m, known) for m, p in known.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle() -> None:
    assert _cycle(_graph()) is None


def test_the_checker_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_one_way_imports() -> None:
    wrong = []
    for module, deps in _graph().items():
        top = module.split(".")[0]
        for dep in deps:
            dtop = dep.split(".")[0]
            if top != "tests" and dtop == "tests":
                wrong.append((module, dep))
            if {top, dtop} == {"transaction_api", "notification_consumer"}:
                wrong.append((module, dep))
            if top in {"payment_events", "service_kit"} and dtop in {
                    "transaction_api", "notification_consumer", "bench"}:
                wrong.append((module, dep))
    assert wrong == []
