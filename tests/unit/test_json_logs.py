"""Every log line is one JSON object, whatever the `extra` fields hold."""

import logging

import orjson

from service_kit.logs import JsonFormatter


def record(**extra: object) -> logging.LogRecord:
    line = logging.LogRecord("notification_consumer.cli", logging.INFO, __file__, 1,
                             "group reset; start the consumer to reprocess", (), None)
    line.__dict__.update(extra)
    return line


def test_a_mapping_keyed_by_partition_is_logged() -> None:
    # reset-offsets logs {partition: offset}; orjson refuses int keys unless told otherwise.
    line = orjson.loads(JsonFormatter("notification-consumer").format(record(offsets={0: 5, 3: 7})))
    assert line["offsets"] == {"0": 5, "3": 7}
    assert line["msg"] == "group reset; start the consumer to reprocess"


def test_values_json_cannot_hold_become_text() -> None:
    line = orjson.loads(JsonFormatter("transaction-api").format(record(error=ValueError("x"))))
    assert line["error"] == "x"
