"""Text that PostgreSQL always accepts, for columns filled from hostile input."""


def safe_text(value: str, limit: int) -> str:
    """At most `limit` characters, NUL bytes escaped, unpaired surrogates replaced."""
    cleaned = value[:limit].replace("\x00", "\\0")
    return cleaned.encode("utf-8", "replace").decode("utf-8")


def display_bytes(raw: bytes) -> str:
    """Bytes shown as text: UTF-8 where valid (invalid bytes as U+FFFD), NUL escaped."""
    return raw.decode("utf-8", "replace").replace("\x00", "\\0")


def header_key_bytes(key: str) -> bytes:
    """A header key's exact bytes as they came off the wire (a key that was not UTF-8 was
    read with `surrogateescape`; see lenient_records)."""
    try:
        return key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return key.encode("utf-8", "surrogatepass")


def header_key_is_text(key: str) -> bool:
    """True when the key is valid UTF-8 text (ASCII, the usual case, is checked in O(1))."""
    if key.isascii():
        return True
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def wire_header_key(key: str) -> str:
    """A key any producer can send again: undecodable bytes become U+FFFD."""
    return key if header_key_is_text(key) else header_key_bytes(key).decode("utf-8", "replace")
