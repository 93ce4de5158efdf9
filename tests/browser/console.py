"""What a page printed: console errors and warnings and uncaught exceptions (CSP violations land here)."""

from __future__ import annotations


class PageErrors:
    """Collects a page's console errors, warnings and uncaught exceptions from the moment it is attached."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type in ("error", "warning"):
            self.messages.append(f"console.{message.type}: {message.text}")
