"""Who the dashboard runs as, from the metadata server (Cloud Run, GCE, GKE).

On Cloud Run the project and the service account come from the metadata server; elsewhere
there is none and ``runtime_identity`` returns None quickly instead of failing. The caller
(app_data) shows the identity so a missing role can be traced to the account that lacks it;
collectors.rpc already turns PERMISSION_DENIED into a message naming that role.

Requests go straight to the metadata server (any HTTP proxy configured in the environment is
bypassed), carry ``Metadata-Flavor: Google`` and accept only answers that carry it back.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import NamedTuple

from foundation import names

METADATA_HOST = "metadata.google.internal"
_PROJECT_PATH = "/computeMetadata/v1/project/project-id"
_EMAIL_PATH = "/computeMetadata/v1/instance/service-accounts/default/email"
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RuntimeIdentity(NamedTuple):
    project_id: str
    service_account_email: str

    def describe(self) -> str:
        return f"Running as {self.service_account_email} in project {self.project_id}"


def _get(host: str, path: str, timeout_s: float) -> str | None:
    request = urllib.request.Request(f"http://{host}{path}", headers={"Metadata-Flavor": "Google"})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            if response.status != 200 or response.headers.get("Metadata-Flavor") != "Google":
                return None
            body: bytes = response.read(4096)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    try:
        return body.decode("ascii").strip()
    except UnicodeDecodeError:
        return None


def runtime_identity(
    timeout_s: float = 1.0, *, host: str = METADATA_HOST
) -> RuntimeIdentity | None:
    """(project id, service account email) from the metadata server, or None when absent.

    ``timeout_s`` bounds each of the two requests; when the first fails the second is not
    tried, so without a metadata server this returns within about ``timeout_s``. Answers that
    are not a valid project id or e-mail address count as absent.
    """
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    project = _get(host, _PROJECT_PATH, timeout_s)
    if project is None:
        return None
    try:
        names.project(project)
    except names.InvalidName:
        return None
    email = _get(host, _EMAIL_PATH, timeout_s)
    if email is None or not _EMAIL.fullmatch(email):
        return None
    return RuntimeIdentity(project, email)
