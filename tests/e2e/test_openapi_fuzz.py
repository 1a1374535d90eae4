"""Schemathesis against both services' own OpenAPI: no server errors, conforming responses."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import Service
from tests.support import unique

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


@pytest.mark.parametrize("script", ["transaction-api", "notification-consumer"])
def test_openapi_fuzz_finds_no_server_error(
    database_url: str, topics: tuple[str, str], script: str
) -> None:
    main, dlq = topics
    env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": unique("group"), "LOG_LEVEL": "WARNING"}
    # The consumer's lineage asks the API; without one it answers 503, which is a server error.
    api = Service("transaction-api", env).start() if script == "notification-consumer" else None
    service = Service(script, {**env, "API_URL": api.url} if api else env).start()
    try:
        if api is not None:
            api.wait_ready()
        service.wait_ready()
        st = Path(sys.executable).parent / "schemathesis"
        run = subprocess.run(
            [str(st), "run", f"{service.url}/openapi.json", "--checks", CHECKS,
             # One worker: CPython 3.11.7's AST constructor is not thread-safe (gh-106905), and
             # hypothesis parses lambda sources while two schemathesis workers run.
             "--phases", "examples,coverage,fuzzing", "--max-time", "25", "--workers", "1",
             "--suppress-health-check", "all", "--warnings", "off"],
            capture_output=True, text=True, timeout=240,
        )
    finally:
        service.kill()
        if api is not None:
            api.kill()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
