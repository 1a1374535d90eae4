"""The ingest ceiling: the same body validation as POST /payments, a 202, and no I/O.

Served exactly like the real API (uvicorn + uvloop + httptools, one process), so the ratio
real/ceiling is what recording and publishing cost.
"""

import os
from uuid import uuid4

from fastapi import FastAPI, Request
from pydantic import ValidationError

from service_kit.bodies import read_json_object
from service_kit.problems import install_problem_handlers, validation_problem
from service_kit.responses import JsonResponse
from service_kit.serve import serve
from transaction_api.http.schemas import PaymentRequest

app = FastAPI()
install_problem_handlers(app)


@app.post("/payments", status_code=202)
async def accept(request: Request) -> JsonResponse:
    body = await read_json_object(request, 16_384)
    try:
        payment = PaymentRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_problem(list(exc.errors())) from exc
    return JsonResponse({"event_id": str(uuid4()), "status": "accepted",
                         "payer": payment.payer_id}, status_code=202)


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    serve(app, "127.0.0.1", int(os.environ["PORT"]))
