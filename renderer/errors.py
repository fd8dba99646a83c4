"""The one error hierarchy of the renderer.

Every failure a user can cause or meet is one of these. The core raises them and
never prints; ``renderer.cli`` renders them once, at the boundary, and maps them
to exit codes. Third-party exceptions (PyYAML, Jinja2, jsonschema, httpx) are
translated into these where they enter, so no traceback ever reaches a user::

    RendererError
    ├── UsageError              bad command line                        exit 2
    ├── UserError               bad input, with a Location              exit 1
    │   ├── LoadError           YAML syntax, duplicate key, tag, encoding, size
    │   ├── SchemaError         a value breaks a JSON Schema
    │   ├── BadReference        unknown endpoint / needs, cycles, unmatched needs
    │   ├── TemplateError       Jinja syntax, undefined name, sandbox violation
    │   ├── DataFileError       matrix data files: missing, outside, malformed
    │   ├── LimitError          a configured bound (instances, render time, size)
    │   └── CampaignWarning     not an error: shown, exit code unchanged
    ├── Invalid                 many UserErrors collected, reported together  exit 1
    ├── BudgetExceeded          the plan or the run would pass max_credits     exit 3
    ├── Declined                run on a terminal: the answer to "Send them?" was not yes  exit 1
    ├── ConfigError             environment: a key or base URL missing/bad     exit 1
    ├── StateError              the journal: unreadable, corrupt, refused      exit 1
    │   └── RunLocked           another run of the campaign holds its lock     exit 2
    ├── StalePlan               run --plan: the files no longer match the plan exit 1
    └── ApiError                a provider answered with an error              exit 1
        └── TransportError      no answer (connect, timeout, reset)

A ``Location`` names the file, 1-based line and column, and when it applies the
job instance (``teaser[city=lisbon]``). ``str(error)`` is the one line a person
reads: ``FILE:LINE:COL: [instance] message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int = 0  # 1-based; 0 means "the whole file"
    col: int = 0
    instance: str | None = None

    def with_instance(self, instance: str | None) -> "Location":
        return Location(self.file, self.line, self.col, instance)

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.col, self.instance or "")


class RendererError(Exception):
    """Base of every error the renderer raises on purpose."""

    exit_code = 1


class UsageError(RendererError):
    exit_code = 2


class UserError(RendererError):
    """Bad input. Always carries where it is."""

    kind = "error"

    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        prefix = f"{self.location}: "
        if self.location.instance:
            prefix += f"{self.location.instance}: "
        return prefix + self.message

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and other.message == self.message
            and other.location == self.location
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.message, self.location))


class LoadError(UserError):
    pass


class SchemaError(UserError):
    pass


class BadReference(UserError):
    """A name that points nowhere: an unknown endpoint or job, a cycle of needs."""


class TemplateError(UserError):
    pass


class DataFileError(UserError):
    pass


class LimitError(UserError):
    pass


class CampaignWarning(UserError):
    """Allowed, but probably not what was meant (a language the docs do not list).

    Never raised: commands return warnings beside their result, and the CLI shows
    each as ``FILE:LINE:COL: warning: message``; the exit code does not change.
    """

    kind = "warning"

    def __str__(self) -> str:
        prefix = f"{self.location}: warning: "
        if self.location.instance:
            prefix += f"{self.location.instance}: "
        return prefix + self.message


class Invalid(RendererError):
    """Every problem found in one or more files, in file/line order."""

    def __init__(self, errors: Iterable[UserError]) -> None:
        unique = sorted(set(errors), key=lambda e: (e.location.sort_key(), e.message))
        self.errors: list[UserError] = unique
        super().__init__(f"{len(unique)} error(s)")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class BudgetExceeded(RendererError):
    exit_code = 3


class Declined(RendererError):
    """`renderer run` asked before paying and the answer was not yes: nothing was sent."""


class ConfigError(RendererError):
    pass


class StateError(RendererError):
    pass


class RunLocked(StateError):
    """Another run of the campaign holds its lock (on this machine or, with a shared store, any)."""

    exit_code = 2


class StalePlan(RendererError):
    """``run --plan``: the campaign, manifest or prices changed since the plan was reviewed."""


class ApiError(RendererError):
    """A provider answered, with an error status. Never holds a credential."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransportError(ApiError):
    """No answer came back (connect error, timeout, reset)."""
