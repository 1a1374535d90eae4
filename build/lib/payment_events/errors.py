"""The one error of the contract: bytes that can never become a valid event."""


class PoisonMessage(Exception):
    """The record's bytes can never become a valid event; `reason` is a short machine code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
