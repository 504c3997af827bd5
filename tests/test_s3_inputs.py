"""s3:// inputs against moto's S3 server on 127.0.0.1 (skipped where moto is not installed):
reads are signed with the AWS SDK's credential chain (here a profile file, no AWS_* key
variable), and unsigned only where the source says `anonymous: true`."""

from __future__ import annotations

import contextlib
import inspect
import json
import urllib.request

import pytest

from curator.errors import ManifestError
from curator.manifest import ExtractSettings, Source
from stages.inputs import S3_CONNECT_TIMEOUT_S, _arrow_fs, list_source_files, open_input
from stages.warc_source import read_warc
from tests.test_sources import build_warc

_AWS_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION",
)
SNAP = "CC-MAIN-2024-10"


@pytest.fixture
def s3(tmp_path, monkeypatch):
    """A moto S3 server with a private bucket `signed` and a public-read bucket `open`, each
    holding two WARCs; the environment holds no credentials, only the endpoint and region."""
    moto_server = pytest.importorskip("moto.moto_server.threaded_moto_server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=10).close()  # moto's state outlives a server in-process
        for k in _AWS_VARS:
            monkeypatch.delenv(k, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to find here
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1",
                 "aws_access_key_id": "admin", "aws_secret_access_key": "admin"}
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        client = boto3.client("s3", **admin)
        warc = tmp_path / "a.warc.gz"
        build_warc(warc)
        for bucket, acl in (("signed", "private"), ("open", "public-read")):
            client.create_bucket(Bucket=bucket)
            for name in ("1/a.warc.gz", "2/b.warc.gz"):
                client.put_object(Bucket=bucket, Key=f"{SNAP}/{name}", Body=warc.read_bytes(), ACL=acl)
            client.put_object(Bucket=bucket, Key="warc.paths", Body=f"{SNAP}/1/a.warc.gz\n{SNAP}/2/b.warc.gz\n".encode(),
                              ACL=acl)
        yield {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "warc": warc, "dir": tmp_path}
    finally:
        server.stop()


@contextlib.contextmanager
def iam_checked():
    """moto checks every request's signature against its IAM keys (a made-up key fails)."""
    from moto.core.authorization import enable_iam_authentication

    with enable_iam_authentication():
        yield


def profile_file(s3, monkeypatch, profile: str, key: str, secret: str) -> None:
    path = s3["dir"] / "credentials"
    path.write_text(f"[{profile}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))


def fates(rows):
    return [(r["id"], r["url"], r["drop_reason"], r["text"]) for r in rows]


def source(**kw) -> Source:
    return Source(**{"name": "cc", "kind": "warc", "domain": "web", **kw})


def test_default_profile_signs_reads_with_no_aws_key_variable(s3, monkeypatch):
    """The old code went anonymous whenever AWS_ACCESS_KEY_ID/AWS_PROFILE were unset, so a
    bucket that needs credentials was unreadable with only ~/.aws/credentials."""
    profile_file(s3, monkeypatch, "default", s3["key"], s3["secret"])
    with iam_checked():
        uris = list_source_files(source(inputs=[f"s3://signed/{SNAP}/*/*.warc.gz"]), str(s3["dir"]), 0)
        assert uris == [f"s3://signed/{SNAP}/1/a.warc.gz", f"s3://signed/{SNAP}/2/b.warc.gz"]
        rows = list(read_warc(uris[1], "cc", "web", ExtractSettings()))
    assert fates(rows) == fates(read_warc(str(s3["warc"]), "cc", "web", ExtractSettings()))
    assert {r["meta"]["snapshot"] for r in rows} == {SNAP}


def test_named_profile_from_aws_profile_and_a_wrong_key_is_refused(s3, monkeypatch):
    profile_file(s3, monkeypatch, "crawl", s3["key"], s3["secret"])
    monkeypatch.setenv("AWS_PROFILE", "crawl")
    with iam_checked():
        paths = source(paths_file="s3://signed/warc.paths", prefix="s3://signed/")
        assert list_source_files(paths, str(s3["dir"]), 0) == [f"s3://signed/{SNAP}/1/a.warc.gz",
                                                              f"s3://signed/{SNAP}/2/b.warc.gz"]
        with open_input(f"s3://signed/{SNAP}/1/a.warc.gz") as f:
            assert f.read() == s3["warc"].read_bytes()
        profile_file(s3, monkeypatch, "crawl", "AKIAMADEUPMADEUP0000", "nope")  # the chain uses the file's key
        with pytest.raises(ManifestError, match=r"sources\[0\]\.inputs\[0\]: cannot list s3://signed/"):
            list_source_files(source(inputs=[f"s3://signed/{SNAP}/"]), str(s3["dir"]), 0)
        rows = list(read_warc(f"s3://signed/{SNAP}/1/a.warc.gz", "cc", "web", ExtractSettings()))
    assert [r["drop_reason"] for r in rows] == ["warc.unreadable"]


def test_anonymous_source_reads_a_public_bucket_without_credentials(s3):
    """No credentials anywhere: `anonymous: true` lists, reads the paths file and opens files
    with unsigned requests; the private bucket stays closed to it."""
    src = source(inputs=[f"s3://open/{SNAP}/*/*.warc.gz"], anonymous=True)
    uris = list_source_files(src, str(s3["dir"]), 0)
    assert uris == [f"s3://open/{SNAP}/1/a.warc.gz", f"s3://open/{SNAP}/2/b.warc.gz"]
    paths = source(paths_file="s3://open/warc.paths", prefix="s3://open/", anonymous=True)
    assert list_source_files(paths, str(s3["dir"]), 0) == uris
    with open_input(uris[0], anonymous=True) as f:
        assert f.read() == s3["warc"].read_bytes()
    with pytest.raises(OSError):
        open_input(f"s3://signed/{SNAP}/1/a.warc.gz", anonymous=True).read()


def test_endpoint_region_and_timeouts_reach_the_client(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    fs, path = _arrow_fs("s3://bucket/key", anonymous=True)
    assert path == "bucket/key" and fs.region == "eu-west-3"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")  # the S3-specific one wins
    fs, _ = _arrow_fs("s3://bucket/key", anonymous=True)
    assert "127.0.0.1:1" in repr(fs.__reduce__()) and S3_CONNECT_TIMEOUT_S in fs.__reduce__()[1][0].values()


def test_anonymous_is_a_source_setting():
    assert source(inputs=["s3://b/k"]).anonymous is False
    with pytest.raises(Exception, match="anonymous"):
        source(inputs=["s3://b/k"], anonymous="sometimes")


@pytest.mark.skipif("anonymous" not in inspect.signature(read_warc).parameters,
                    reason="needs the pipeline/warc_source edit that hands `anonymous` to the tasks")
def test_an_extract_task_of_an_anonymous_source_reads_unsigned(s3):
    """The setting travels with the task (the sources map of curator/pipeline.py) to the
    executor's read; without it the task would sign, and fail, with no credentials."""
    from curator.pipeline import _task_rows

    uri = f"s3://open/{SNAP}/1/a.warc.gz"
    sources = {"cc": {"snapshot": None, "licenses": [], "anonymous": True}}
    rows = list(_task_rows(0, ("cc", "web", "warc", uri), ExtractSettings(), sources))
    assert fates(rows) == fates(read_warc(str(s3["warc"]), "cc", "web", ExtractSettings()))
