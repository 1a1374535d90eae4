"""The consumer's REST API: one router per resource, included here. Errors are raised where
they happen and mapped to problem+json once (errors.install_error_handlers)."""

from fastapi import APIRouter

from notification_consumer.http.routers import dead_letters, events, notifications, parked, stats

router = APIRouter()
for resource in (events, notifications, dead_letters, parked, stats):
    router.include_router(resource.router)
