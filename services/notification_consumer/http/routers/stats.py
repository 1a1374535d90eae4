"""/stats: counters, lag per partition and the consumer's own health. A pure read."""

from fastapi import APIRouter

from notification_consumer.http.dependencies import CallerDep, Context
from notification_consumer.http.schemas import Stats, problems
from notification_consumer.store.reads import reading_errors

router = APIRouter(tags=["operations"])


@router.get("/stats", response_model=Stats, responses=problems(401, 503),
            summary="Processed, duplicates, dead letters, lag per partition and in total")
async def stats(ctx: Context, caller: CallerDep) -> Stats:
    async with reading_errors():
        snapshot = await ctx.monitor.snapshot()
    return Stats(**snapshot, consumer=ctx.ingest.health().as_dict())
