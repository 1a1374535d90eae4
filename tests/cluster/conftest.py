"""The cluster fault tests need the local 3-broker cluster: `make test-cluster` starts it and
sets PAYSTREAM_CLUSTER; under plain `make test` (one broker) they are skipped."""

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("PAYSTREAM_CLUSTER"):
        return
    skip = pytest.mark.skip(reason="needs the 3-broker cluster: run make test-cluster")
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(skip)
