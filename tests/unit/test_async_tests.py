"""An async test never blocks its event loop, where producers, consumers and servers keep
running: it awaits a process's ready(), terminate() and crash() and support.wait_until,
not the synchronous wait_ready(), stop(), kill(), time.sleep or httpx's module calls."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
BLOCKING_METHODS = {"wait_ready", "stop", "kill"}
BLOCKING_CALLS = {"time.sleep", "httpx.get", "httpx.post", "httpx.request", "subprocess.run"}


def blocking_calls(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        awaited = {id(node.value) for node in ast.walk(function) if isinstance(node, ast.Await)}
        for node in ast.walk(function):
            if not isinstance(node, ast.Call) or id(node) in awaited:
                continue
            name = ast.unparse(node.func)
            method = isinstance(node.func, ast.Attribute) and node.func.attr in BLOCKING_METHODS
            # os.kill sends a signal and returns; it is not a process's kill().
            if (method and name != "os.kill") or name in BLOCKING_CALLS:
                found.append((f"{function.name}: {name}()", node.lineno))
    return found


def test_the_check_finds_a_blocking_call() -> None:
    source = ("async def test_x(s):\n    s.wait_ready()\n    await s.terminate()\n"
              "    time.sleep(1)\n")
    assert [what for what, _ in blocking_calls(ast.parse(source))] == [
        "test_x: s.wait_ready()", "test_x: time.sleep()"]


def test_async_tests_await_async_helpers() -> None:
    offenders = [f"{path.relative_to(TESTS)}:{line} {what}"
                 for path in sorted(TESTS.rglob("*.py"))
                 for what, line in blocking_calls(ast.parse(path.read_text()))]
    assert offenders == []
