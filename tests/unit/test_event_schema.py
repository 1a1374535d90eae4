import json

from jsonschema_rs import validator_for

from payment_events.codec import encode
from payment_events.schema import SCHEMA_FILE, render
from tests.unit.test_codec import event


def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text() == render(), "run: python -m payment_events.schema"


def test_an_encoded_event_validates_against_the_committed_schema() -> None:
    validator = validator_for(json.loads(SCHEMA_FILE.read_text()))
    assert validator.is_valid(json.loads(encode(event()).value))
    assert not validator.is_valid({"event_id": "x"})
