"""`install(app, console)`: the console's routers and static files, the only hook the app needs."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from notification_consumer.console.pages import router as pages
from notification_consumer.console.pages_letters import router as letter_pages
from notification_consumer.console.pages_parked import router as parked_pages
from notification_consumer.console.rest import router as rest
from notification_consumer.console.runtime import HERE, Console


def install(app: FastAPI, console: Console) -> None:
    app.state.console = console
    app.include_router(rest)
    app.include_router(pages)
    app.include_router(letter_pages)
    app.include_router(parked_pages)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
