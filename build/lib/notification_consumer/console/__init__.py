"""The operator console (/console/) and the dead-letter replay and lineage endpoints it shares
with the REST API. `install(app, console)` is the only hook the app needs."""
