"""Text that PostgreSQL always accepts, for columns filled from hostile input."""


def safe_text(value: str, limit: int) -> str:
    """At most `limit` characters, NUL bytes escaped, unpaired surrogates replaced."""
    cleaned = value[:limit].replace("\x00", "\\0")
    return cleaned.encode("utf-8", "replace").decode("utf-8")


def display_bytes(raw: bytes) -> str:
    """Bytes shown as text: UTF-8 where valid (invalid bytes as U+FFFD), NUL escaped."""
    return raw.decode("utf-8", "replace").replace("\x00", "\\0")
