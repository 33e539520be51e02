"""The commands that put scheduled min instances in place (docs/facts.md, Scheduled min
instances): Cloud Run has no schedule
of its own, so one Cloud Scheduler HTTP job per change of the floor sets the service-level min
instances through the Admin API (``PATCH`` of the service with the update mask
``scaling.minInstanceCount``: no new revision), acting as a service account allowed to update
the service; ``gcloud run services update --min`` sets the floor that holds now.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime

from foundation import names
from foundation.min_schedule import MinSchedule, days_text

ADMIN_API = "https://run.googleapis.com/v2"
SCHEDULER_ACCOUNT = "runwatch-min-schedule"  # the service account the jobs act as


def min_schedule_commands(
    schedule: MinSchedule,
    *,
    project: str,
    region: str,
    service: str,
    revision_min: int,
    now: datetime,
) -> list[str]:
    """Shell lines (comments start with #) that put ``schedule`` in place for ``service``;
    ``revision_min``: the serving revision's own min instances (revision-level, which the
    service-level floor cannot go below); ``now``: for the floor to set at once."""
    project, region, service = names.project(project), names.region(region), names.service(service)
    account = f"{SCHEDULER_ACCOUNT}@{project}.iam.gserviceaccount.com"
    where = f"--project={project} --region={region}"
    uri = (
        f"{ADMIN_API}/projects/{project}/locations/{region}/services/{service}"
        "?updateMask=scaling.minInstanceCount"
    )
    lines = [
        f"# Scheduled min instances for {service}: {schedule.describe()}",
        "# 1. A service account for the jobs, allowed to update the service:",
        f"gcloud iam service-accounts create {SCHEDULER_ACCOUNT} --project={project} "
        f"--display-name={shlex.quote('runwatch scheduled min instances')}",
        f"gcloud run services add-iam-policy-binding {service} {where} "
        f"--member=serviceAccount:{account} --role=roles/run.developer",
        "# 2. One Cloud Scheduler job per change of the floor (service-level min instances,",
        "#    no new revision):",
    ]
    for change in schedule.changes():
        days = days_text(change.days).replace(",", "-")
        hhmm = f"{change.minute // 60:02d}{change.minute % 60:02d}"
        job = f"{service}-min-{change.min_instances}-{days}-{hhmm}"
        body = json.dumps({"scaling": {"minInstanceCount": change.min_instances}})
        lines.append(
            f"gcloud scheduler jobs create http {job} --project={project} --location={region} "
            f"--schedule={shlex.quote(change.cron())} --time-zone={shlex.quote(schedule.tz)} "
            f"--uri={shlex.quote(uri)} --http-method=PATCH "
            "--headers=Content-Type=application/json "
            f"--message-body={shlex.quote(body)} --oauth-service-account-email={account}"
        )
    floor = schedule.floors(now, 1)[0]
    lines += [
        "# 3. The floor that holds now, until the next job runs:",
        f"gcloud run services update {service} {where} --min={floor}",
    ]
    if revision_min > schedule.levels()[0]:
        lines += [
            f"# The serving revision sets min instances {revision_min} itself (revision-level),",
            "# which holds whatever the schedule says: clear it (this deploys a new revision):",
            f"gcloud run services update {service} {where} --min-instances=default",
        ]
    return lines
