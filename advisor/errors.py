"""Errors a user can cause: one clear message with the fix, exit code 2, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: a bad file, a bad answer, an unknown model.

    `message` says what is wrong (with the bad value); `fix` says what to do instead.
    """

    exit_code = 2

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  Fix: {self.fix}" if self.fix else self.message
