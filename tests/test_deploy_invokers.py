"""Who may open the dashboard: INVOKERS must name people or an organisation, never the public,
neither directly (allUsers) nor through a public mail domain (domain:gmail.com lets anyone with
a free account in), and only in IAM's own spelling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.options import OptionError, member
from tests._deploy_helpers import bare_path_dir, make_deploy


@pytest.fixture(scope="module")
def bare_path() -> Iterator[str]:
    with bare_path_dir() as path:
        yield path


@pytest.mark.parametrize(
    "value",
    [
        "domain:gmail.com",
        "domain:GMail.com",
        "domain:googlemail.com",
        "domain:mail.gmail.com",
        "domain:yahoo.com",
        "domain:yahoo.co.uk",
        "domain:hotmail.fr",
        "domain:outlook.com",
        "domain:live.com",
        "domain:icloud.com",
        "domain:proton.me",
        "domain:gmx.de",
        "domain:qq.com",
    ],
)
def test_public_mail_domains_are_refused(value: str) -> None:
    with pytest.raises(OptionError, match="public mail domain") as err:
        member(value)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize(
    "value",
    [
        "allUsers",
        "ALLUSERS",
        "allAuthenticatedUsers",
        "AllAuthenticatedUsers",
        "user:allUsers",
        "group:AllAuthenticatedUsers",
        "all Users",
        "allUsers\n",
        "\tallAuthenticatedUsers",
    ],
)
def test_public_principals_are_refused_in_any_case_or_spacing(value: str) -> None:
    with pytest.raises(OptionError, match="INVOKERS"):
        member(value)


@pytest.mark.parametrize(
    "value",
    [
        "User:ana@example.com",  # IAM's kinds are case-sensitive
        "DOMAIN:example.com",
        "serviceaccount:x@p.iam.gserviceaccount.com",
        "user:ana@example.com\n",
        "user:ana @example.com",
        'user:"ana"@example.com',
        "user:a$(id)@example.com",
        "user:a`id`@example.com",
        "domain:-corp-.example.com",
        "domain:corp..example.com",
        "domain:exampl\u0131.com",  # dotless i: a non-ASCII look-alike
        "domain:example.co\u212a",  # Kelvin sign, matched by [a-z] under re.I
        "user:ana@example.com,group:x@example.com",
    ],
)
def test_only_iam_spelling_is_accepted(value: str) -> None:
    with pytest.raises(OptionError, match="not an IAM principal"):
        member(value)


@pytest.mark.parametrize(
    "value",
    [
        "user:ana@gmail.com",  # one person with a consumer account is fine
        "user:o'brien@example.com",
        "user:Ana.Lopez+dash@Example.com",
        "group:sre@example.com",
        "serviceAccount:ci@host-proj-1.iam.gserviceaccount.com",
        "domain:example.com",
        "domain:corp.example.co.uk",
        "domain:mail.example.com",
        "domain:gmailcompany.com",
    ],
)
def test_people_groups_and_organisations_are_accepted(value: str) -> None:
    assert member(value) == value


def test_make_deploy_refuses_a_public_mail_domain(bare_path: str) -> None:
    done = make_deploy(
        bare_path,
        PROJECT="host-proj-1",
        REGION="europe-west1",
        INVOKERS="group:sre@example.com,domain:gmail.com",
        DRY_RUN="1",
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "INVOKERS: 'domain:gmail.com' is a public mail domain" in done.stderr
