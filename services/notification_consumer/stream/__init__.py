"""The live notification stream: Server-Sent Events, resumable with Last-Event-ID."""
