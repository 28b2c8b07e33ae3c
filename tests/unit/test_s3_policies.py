"""The Docker stack's MinIO user policies (docker/minio/policies/*.json) grant exactly what the
versitygw bucket policies grant, which tests/robustness/test_s3_least_privilege.py proves against a
real server. Both come from GRANTS in scripts/s3_least_privilege.py; these checks need no server."""

from __future__ import annotations

import json

import pytest

from tests.robustness.test_s3_least_privilege import MATRIX
from tests.services.s3_users import init_script

SCRIPT = init_script()
POLICY_DIR = SCRIPT.MINIO_POLICY_DIR
# The S3 action behind each verb of the robustness matrix.
VERB_ACTIONS = {"put": "s3:PutObject", "list": "s3:ListBucket", "get": "s3:GetObject", "delete": "s3:DeleteObject"}


def minio_files() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(POLICY_DIR.glob("*.json"))}


def bucket_of(resources: list[str]) -> str:
    buckets = {resource.removeprefix("arn:aws:s3:::").split("/")[0] for resource in resources}
    assert len(buckets) == 1, f"one statement, one bucket: {resources}"
    (bucket,) = buckets
    assert sorted(resources) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"], resources
    return bucket


def minio_grants(policies: dict[str, dict]) -> set[tuple[str, str, str, str]]:
    """(user, bucket, effect, action) of user policies: the file's name is the user."""
    return {(user, bucket_of(statement["Resource"]), statement["Effect"], action)
            for user, policy in policies.items() for statement in policy["Statement"]
            for action in statement["Action"]}


def versitygw_grants() -> set[tuple[str, str, str, str]]:
    """(user, bucket, effect, action) of the bucket policies, principals mapped back to user names."""
    keys = {f"key-of-{name}": name for name in SCRIPT.USER_NAMES}
    users = {name: SCRIPT.Credentials(key, "unused") for key, name in keys.items()}
    layout = SCRIPT.Layout(endpoint="http://unused", root=SCRIPT.Credentials("root", "unused"), users=users)
    grants = set()
    for bucket, policy in SCRIPT.bucket_policies(layout).items():
        for statement in policy["Statement"]:
            assert bucket_of(statement["Resource"]) == bucket
            for principal in statement["Principal"]["AWS"]:
                grants |= {(keys[principal], bucket, statement["Effect"], action) for action in statement["Action"]}
    return grants


def allowed(policy: dict, action: str, bucket: str) -> bool:
    """IAM evaluation for one user: an explicit Deny wins, otherwise some Allow is needed."""
    effects = {statement["Effect"] for statement in policy["Statement"]
               if action in statement["Action"] and bucket_of(statement["Resource"]) == bucket}
    return "Allow" in effects and "Deny" not in effects


def test_policy_files_are_the_ones_the_table_generates():
    generated = SCRIPT.minio_user_policies()
    assert sorted(generated) == sorted(SCRIPT.USER_NAMES)
    assert sorted(minio_files()) == sorted(generated), f"one file per user in {POLICY_DIR}"
    for user, policy in generated.items():
        assert (POLICY_DIR / f"{user}.json").read_text() == SCRIPT.minio_policy_text(policy), (
            f"{POLICY_DIR / (user + '.json')} is stale: run python scripts/s3_least_privilege.py --write-minio-policies")


def test_minio_and_versitygw_grant_the_same_user_bucket_action_set():
    from_files = minio_grants(minio_files())
    assert from_files == versitygw_grants()
    assert {user for user, *_ in from_files} == set(SCRIPT.USER_NAMES)
    assert {bucket for _, bucket, *_ in from_files} == {"landing", "warehouse"}


@pytest.mark.parametrize(("user", "verb", "bucket", "expected"), MATRIX,
                         ids=[f"{user}-{verb}-{bucket}" for user, verb, bucket, _ in MATRIX])
def test_minio_policies_decide_the_robustness_matrix_as_versitygw_does(user, verb, bucket, expected):
    assert allowed(minio_files()[user], VERB_ACTIONS[verb], bucket) is expected


def test_the_writers_explicit_deny_survives_a_widened_grant():
    writer = minio_files()["landing-writer"]
    widened = {"Statement": [*writer["Statement"], {"Effect": "Allow", "Action": list(VERB_ACTIONS.values()),
                                                    "Resource": ["arn:aws:s3:::landing", "arn:aws:s3:::landing/*"]}]}
    assert not allowed(widened, "s3:GetObject", "landing")
    assert not allowed(widened, "s3:DeleteObject", "landing")
    assert allowed(widened, "s3:PutObject", "landing")


def test_no_policy_grants_wildcards_or_bucket_administration():
    for user, policy in minio_files().items():
        for statement in policy["Statement"]:
            for action in statement["Action"]:
                assert "*" not in action, f"{user}: {action}"
                assert not action.startswith(("s3:PutBucket", "s3:DeleteBucket", "s3:CreateBucket", "admin:")), (
                    f"{user} may change a bucket: {action}")
