"""Validation of the names that reach a Google API filter or resource path.

Rules from docs/reliability.md item 10. Every user-supplied name (sidebar choices, URL query
parameters, environment variables, command-line flags) passes through one of these before it is
quoted into a filter. Validators return the name unchanged or raise InvalidName with a message
that says what is wrong in plain words.
"""

from __future__ import annotations

import re

SERVICE_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$")
# Revision names are "<service>-<suffix>": same alphabet, up to 63 characters.
REVISION_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z]+(?:-[a-z]+)+[0-9]+$")


class InvalidName(ValueError):
    """A name that must not reach a filter."""


def _check(kind: str, value: object, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise InvalidName(f"{shown} is not a valid {kind}: {rule}")
    return value


def service(value: object) -> str:
    return _check(
        "Cloud Run service name",
        value,
        SERVICE_RE,
        "lower-case letters, digits and hyphens, starting with a letter, at most 49 characters",
    )


def revision(value: object) -> str:
    return _check(
        "Cloud Run revision name",
        value,
        REVISION_RE,
        "lower-case letters, digits and hyphens, starting with a letter, at most 63 characters",
    )


def project(value: object) -> str:
    return _check(
        "Google Cloud project id",
        value,
        PROJECT_RE,
        "6 to 30 lower-case letters, digits and hyphens, starting with a letter",
    )


def region(value: object) -> str:
    return _check("region", value, REGION_RE, "a region name such as europe-west1")
