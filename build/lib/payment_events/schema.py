"""The JSON Schema of the event value, generated from the models and committed.

Regenerate after changing events.py: `python -m payment_events.schema` (a unit test fails
while the committed file and the models disagree).
"""

import json
from pathlib import Path
from typing import Any

from payment_events.events import SCHEMA_VERSION, PaymentAccepted

SCHEMA_FILE = Path(__file__).parent / "schemas" / f"payment-accepted.v{SCHEMA_VERSION}.json"


def generate() -> dict[str, Any]:
    schema = PaymentAccepted.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:paystream:schema:payment-accepted:v{SCHEMA_VERSION}",
        **schema,
    }


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
