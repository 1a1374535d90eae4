"""Plumbing both services share and that is not part of their contract: settings, logs,
API-key auth, problem+json errors, database engine set-up."""
