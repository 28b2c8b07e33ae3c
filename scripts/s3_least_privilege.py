"""Create the landing and warehouse buckets and three least-privilege users on a versitygw S3 server.

    python scripts/s3_least_privilege.py            # reads the variables below, prints what it did
    python scripts/s3_least_privilege.py --write-minio-policies   # regenerate docker/minio/policies/*.json

Only this initialisation uses the server's root credentials. Afterwards:

- landing-writer may put objects into the landing bucket and list its names (`lakehouse landing`
  skips files already there); it may not read them, delete them, or touch the warehouse;
- pipeline may read (get, list) the landing bucket and read and write the warehouse bucket
  (objects only: get, put, delete, list, multipart uploads); it may not write to landing;
- reader may read (get, list) the warehouse bucket, and nothing else.

versitygw keeps the users in its internal IAM (the server is started with `--iam-dir`): each is
created through the admin API (`PATCH /create-user`, what `versitygw admin create-user` sends),
with the role `user`, which grants nothing on buckets it does not own. The buckets belong to root;
what each user may do is each bucket's policy (PutBucketPolicy), whose principals are access keys.
An explicit Deny for the writer on reading landing keeps the rule even if someone widens a grant.

GRANTS is the one table of these rights. The Docker stack's MinIO gets the same table as IAM user
policies (docker/minio/policies/*.json, written by --write-minio-policies; docker/minio/init.sh
creates the users and attaches them), and tests/unit/test_s3_policies.py checks both grant the same.

Variables: S3_ENDPOINT_URL (or AWS_ENDPOINT_URL), S3_ROOT_ACCESS_KEY, S3_ROOT_SECRET_KEY, S3_REGION
(default us-east-1), LANDING_BUCKET (landing), WAREHOUSE_BUCKET (warehouse), and per user
<USER>_ACCESS_KEY / <USER>_SECRET_KEY with USER one of LANDING_WRITER, PIPELINE, READER
(the access key defaults to the user's name). Run it again at will: existing buckets and users are kept.
No secret is printed.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

USER_NAMES = ("landing-writer", "pipeline", "reader")
READ = ("s3:GetObject", "s3:ListBucket")
WRITE_OBJECTS = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                 "s3:ListBucketMultipartUploads")


@dataclass(frozen=True)
class Grant:
    """One statement: `effect` for `user` on every action in `actions` on one bucket ("landing" or "warehouse")."""

    sid: str
    effect: str
    user: str
    bucket: str
    actions: tuple[str, ...]


# The one table of who may do what. versitygw gets it as bucket policies (bucket_policies), MinIO in
# the Docker stack as user policies (minio_user_policies, written to docker/minio/policies/).
GRANTS = (
    Grant("WriterPuts", "Allow", "landing-writer", "landing",
          ("s3:PutObject", "s3:ListBucket", "s3:AbortMultipartUpload")),
    # Explicit, so the writer still cannot read or delete landing if someone widens a grant.
    Grant("WriterNeverReadsOrDeletes", "Deny", "landing-writer", "landing", ("s3:GetObject", "s3:DeleteObject")),
    Grant("PipelineReads", "Allow", "pipeline", "landing", READ),
    Grant("PipelineReadsAndWrites", "Allow", "pipeline", "warehouse", READ + WRITE_OBJECTS),
    Grant("ReaderReads", "Allow", "reader", "warehouse", READ),
)
MINIO_POLICY_DIR = Path(__file__).resolve().parents[1] / "docker" / "minio" / "policies"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # never show a secret in a log or a traceback
        return f"Credentials(access_key={self.access_key!r}, secret_key='***')"


@dataclass(frozen=True)
class Layout:
    endpoint: str
    root: Credentials
    users: dict[str, Credentials]
    landing_bucket: str = "landing"
    warehouse_bucket: str = "warehouse"
    region: str = "us-east-1"


def _resources(bucket: str) -> list[str]:
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


def bucket_policies(layout: Layout) -> dict[str, dict[str, object]]:
    """The policy of each bucket (versitygw): who may do what, by access key."""
    names = {"landing": layout.landing_bucket, "warehouse": layout.warehouse_bucket}
    policies: dict[str, dict[str, object]] = {}
    for grant in GRANTS:
        bucket = names[grant.bucket]
        policy = policies.setdefault(bucket, {"Version": "2012-10-17", "Statement": []})
        policy["Statement"].append({  # type: ignore[attr-defined]
            "Sid": grant.sid, "Effect": grant.effect, "Principal": {"AWS": [layout.users[grant.user].access_key]},
            "Action": list(grant.actions), "Resource": _resources(bucket)})
    return policies


def minio_user_policies(landing_bucket: str = "landing", warehouse_bucket: str = "warehouse") -> dict[str, dict]:
    """The policy of each user (MinIO IAM, attached with `mc admin policy attach`): the same grants."""
    names = {"landing": landing_bucket, "warehouse": warehouse_bucket}
    policies: dict[str, dict] = {user: {"Version": "2012-10-17", "Statement": []} for user in USER_NAMES}
    for grant in GRANTS:
        policies[grant.user]["Statement"].append({"Sid": grant.sid, "Effect": grant.effect,
                                                  "Action": list(grant.actions),
                                                  "Resource": _resources(names[grant.bucket])})
    return policies


def minio_policy_text(policy: dict) -> str:
    return json.dumps(policy, indent=2) + "\n"


def write_minio_policies(directory: Path = MINIO_POLICY_DIR) -> list[Path]:
    """docker/minio/policies/<user>.json; tests/unit/test_s3_policies.py fails when they are stale."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for user, policy in minio_user_policies().items():
        path = directory / f"{user}.json"
        path.write_text(minio_policy_text(policy))
        written.append(path)
    return written


def create_user(layout: Layout, user: Credentials) -> bool:
    """Create one user (role `user`) through the admin API; False when it already exists."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as SigningCredentials

    body = (f"<Account><Access>{escape(user.access_key)}</Access><Secret>{escape(user.secret_key)}</Secret>"
            "<Role>user</Role><UserID>0</UserID><GroupID>0</GroupID><ProjectID>0</ProjectID></Account>").encode()
    request = AWSRequest(method="PATCH", url=f"{layout.endpoint.rstrip('/')}/create-user", data=body)
    request.headers["X-Amz-Content-Sha256"] = _sha256(body)
    SigV4Auth(SigningCredentials(layout.root.access_key, layout.root.secret_key), "s3", layout.region).add_auth(request)
    prepared = urllib.request.Request(request.url, data=body, method="PATCH", headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=30):
            return True
    except urllib.error.HTTPError as exc:
        answer = exc.read().decode("utf-8", "replace")
        if "exists" in answer.lower():
            return False
        raise RuntimeError(f"creating the S3 user '{user.access_key}' failed: HTTP {exc.code} {answer[:300]}") from None


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def root_client(layout: Layout):
    import boto3

    return boto3.client("s3", endpoint_url=layout.endpoint, region_name=layout.region,
                        aws_access_key_id=layout.root.access_key, aws_secret_access_key=layout.root.secret_key)


def initialise(layout: Layout, say=print) -> None:
    """Buckets, users and policies, idempotently."""
    client = root_client(layout)
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    for bucket in (layout.landing_bucket, layout.warehouse_bucket):
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
            say(f"created bucket {bucket}")
    for name in USER_NAMES:
        user = layout.users[name]
        say(f"{'created' if create_user(layout, user) else 'kept existing'} user {user.access_key} ({name})")
    for bucket, policy in bucket_policies(layout).items():
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        say(f"set the policy of bucket {bucket}")


def layout_from_env(env: dict[str, str]) -> Layout:
    def need(*names: str) -> str:
        for name in names:
            if env.get(name):
                return env[name]
        raise SystemExit(f"s3_least_privilege: set {' or '.join(names)}")

    users = {}
    for name in USER_NAMES:
        prefix = name.upper().replace("-", "_")
        users[name] = Credentials(env.get(f"{prefix}_ACCESS_KEY") or name, need(f"{prefix}_SECRET_KEY"))
    return Layout(endpoint=need("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
                  root=Credentials(need("S3_ROOT_ACCESS_KEY"), need("S3_ROOT_SECRET_KEY")), users=users,
                  landing_bucket=env.get("LANDING_BUCKET") or "landing",
                  warehouse_bucket=env.get("WAREHOUSE_BUCKET") or "warehouse",
                  region=env.get("S3_REGION") or "us-east-1")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-minio-policies"]:
        for written in write_minio_policies():
            print(f"wrote {written}")
    else:
        initialise(layout_from_env(dict(os.environ)))
    sys.exit(0)
