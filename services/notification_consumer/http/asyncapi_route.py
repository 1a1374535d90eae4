"""GET /asyncapi.json: the AsyncAPI 3.0 document of the event and dead-letter topics.

Rendered from the contract models, so it is the committed file byte for byte (a unit test
holds the file to the models)."""

from functools import cache

from fastapi import APIRouter, Response

from payment_events.asyncapi import render

router = APIRouter()


@cache
def _document() -> bytes:
    return render().encode()


# Like /openapi.json: a document about the service, not an endpoint of its API.
@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> Response:
    return Response(_document(), media_type="application/json")
