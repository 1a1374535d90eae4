"""The operator console (/console/): pages, the live overview, lineage and bulk replay.
`console.mount.install(app, console)` is the only hook the app needs."""
