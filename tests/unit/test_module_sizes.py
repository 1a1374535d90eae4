"""One idea per module: no Python module of ours is over 250 lines (tests and bench too)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 250


def test_no_module_over_the_limit() -> None:
    long = {str(path.relative_to(ROOT)): n
            for folder in ("services", "shared", "tests", "bench", "tools", "deploy")
            for path in (ROOT / folder).rglob("*.py")
            if "migrations" not in path.parts and "peers" not in path.parts
            and (n := len(path.read_text().splitlines())) > LIMIT}
    assert long == {}
