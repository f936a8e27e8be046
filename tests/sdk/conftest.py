"""Fixtures of the SDK suite: the real labelsync binary on a free port, a fresh data dir,
a document root for Local Files, and a LabelStudio SDK client pointed at it."""
import json
import os
import pathlib
import subprocess
import tempfile
import uuid

import pytest
from label_studio_sdk import LabelStudio

REPO = pathlib.Path(__file__).resolve().parents[2]
TOKEN = "sdk-suite-token-0123456789abcdef"
BINARY = pathlib.Path(os.environ.get("LABELSYNC_BIN", REPO / "target" / "debug" / "labelsync"))
TOOL = pathlib.Path(os.environ.get("LABELSYNC_STORAGE_TOOL", REPO / "target" / "debug" / "examples" / "storage_tool"))


def emulator(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this suite through scripts/test, which starts the storage servers")
    return value


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp, "root").resolve()
        root.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_", "GOOGLE_"))}
        env.update(LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true", LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(root),
                   RUST_LOG="warn")
        log = open(pathlib.Path(tmp, "server.log"), "w")
        proc = subprocess.Popen([str(BINARY), "start", "--port", "0", "--data-dir", str(pathlib.Path(tmp, "data")),
                                 "--username", "sdk@example.com", "--password", "sdk-password", "--user-token", TOKEN],
                                stdout=subprocess.PIPE, stderr=log, env=env, text=True)
        line = proc.stdout.readline()
        assert line.startswith("labelsync listening on "), line
        try:
            yield {"url": line.split()[-1], "root": root, "log": pathlib.Path(tmp, "server.log")}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def client(server):
    return LabelStudio(base_url=server["url"], api_key=TOKEN)


class Storage:
    """One storage type's settings for the SDK (keyword arguments it knows, plus the fields
    it does not know, sent through request_options), and direct access to its objects."""

    def __init__(self, kind, kwargs, extra, root):
        self.kind, self.kwargs, self.extra, self.root = kind, kwargs, extra, root

    @property
    def fields(self):
        return {**self.kwargs, **self.extra}

    @property
    def options(self):
        return {"additional_body_parameters": self.extra} if self.extra else None

    def _tool(self, command, direction, name, *rest):
        env = dict(os.environ, LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(self.root))
        return subprocess.run([str(TOOL), command, self.kind, direction, json.dumps(self.fields), name, *rest],
                              env=env, capture_output=True, text=True)

    def put(self, name, content):
        result = self._tool("write", "import", name, content)
        assert result.returncode == 0, result.stderr

    def exported(self, name):
        result = self._tool("read", "export", name)
        return json.loads(result.stdout) if result.returncode == 0 else None


def storage_settings(kind, root, label):
    prefix = f"{label}-{uuid.uuid4().hex[:12]}"
    if kind == "s3":
        return Storage(kind, {"bucket": "test-bucket", "prefix": prefix, "region_name": "us-east-1",
                              "aws_access_key_id": "testing", "aws_secret_access_key": "sdk-secret-key"},
                       {"s3_endpoint": emulator("EMU_S3_ENDPOINT")}, root)
    if kind == "gcs":
        credentials = pathlib.Path(emulator("GOOGLE_SERVICE_ACCOUNT")).read_text()
        return Storage(kind, {"bucket": "test-bucket", "prefix": prefix, "google_application_credentials": credentials},
                       {"gcs_endpoint": emulator("EMU_GCS_BASE_URL")}, root)
    if kind == "azure":
        return Storage(kind, {"container": "test-bucket", "prefix": prefix, "account_name": "devstoreaccount1",
                              "account_key": emulator("AZURE_STORAGE_ACCOUNT_KEY")},
                       {"azure_endpoint": emulator("EMU_AZURE_ENDPOINT")}, root)
    if kind == "redis":
        host, port = emulator("EMU_REDIS_URL").removeprefix("redis://").rstrip("/").split(":")
        return Storage(kind, {"host": host, "port": port, "path": f"{prefix}:"}, {}, root)
    path = root / prefix
    path.mkdir()
    return Storage("localfiles", {"path": str(path)}, {}, root)
