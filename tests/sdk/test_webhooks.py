"""Webhooks through label-studio-sdk: the API (create, get, list, update, delete, info), real
deliveries to a receiver on 127.0.0.1 (annotation events with their payloads, the storage
sync events Label Studio never had, signatures), and a receiver that is down when the event
happens and gets it once it is back."""
import hashlib
import hmac
import json
import pathlib
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from conftest import TOKEN, storage_settings
from test_storages import wait_synced

RECEIVER = pathlib.Path(__file__).with_name("webhook_receiver.py")
CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>')
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """The receiver process; `start` again after `kill` listens on the same port."""

    def __init__(self, tmp_path):
        self.port, self.file, self.proc = free_port(), tmp_path / "deliveries.jsonl", None
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        self.proc = subprocess.Popen([sys.executable, str(RECEIVER), str(self.port), str(self.file)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def deliveries(self):
        """The deliveries the receiver has finished recording: a line it is still writing
        (no newline yet) is read next time."""
        if not self.file.exists():
            return []
        *complete, _partial = self.file.read_text().split("\n")
        return [json.loads(line) for line in complete]

    def wait_for(self, action, count=1, timeout=30):
        deadline = time.time() + timeout
        while True:
            found = [d for d in self.deliveries() if d["body"]["action"] == action]
            if len(found) >= count:
                return found
            assert time.time() < deadline, f"no {action} after {timeout}s: got {[d['body']['action'] for d in self.deliveries()]}"
            time.sleep(0.05)


@pytest.fixture
def receiver(tmp_path):
    receiver = Receiver(tmp_path)
    receiver.start()
    yield receiver
    if receiver.proc.poll() is None:
        receiver.kill()


def project_with_task(client):
    project = client.projects.create(title=f"hooks {uuid.uuid4().hex[:8]}", label_config=CONFIG)
    client.projects.import_tasks(id=project.id, request=[{"text": "hello"}])
    task = next(iter(client.tasks.list(project=project.id)))
    return project, task


def test_webhook_api_round_trip(client, receiver):
    project = client.projects.create(title=f"hooks api {uuid.uuid4().hex[:8]}", label_config=CONFIG)
    created = client.webhooks.create(url=receiver.url, project=project.id, send_payload=True,
                                     send_for_all_actions=False, actions=["ANNOTATION_CREATED"],
                                     headers={"X-Team": "vision", "Authorization": "Bearer hidden-value"},
                                     request_options={"additional_body_parameters": {"secret": "signing-secret"}})
    assert (created.url, created.project, created.actions, created.is_active) == \
        (receiver.url, project.id, ["ANNOTATION_CREATED"], True)
    # Credentials never come back: the secret is write-only, a credential header is masked.
    assert created.headers == {"X-Team": "vision", "Authorization": "********"}
    assert "signing-secret" not in json.dumps(created.dict(), default=str)
    assert client.webhooks.get(created.id).url == receiver.url
    assert [w.id for w in client.webhooks.list(project=project.id)] == [created.id]

    updated = client.webhooks.update(created.id, is_active=False, actions=["ANNOTATION_UPDATED"],
                                     headers={"X-Team": "nlp", "Authorization": "********"})
    assert (updated.is_active, updated.actions, updated.headers["X-Team"]) == (False, ["ANNOTATION_UPDATED"], "nlp")

    names = set(client.webhooks.info().dict(exclude_none=True))
    assert {"ANNOTATION_CREATED", "TASKS_CREATED", "PROJECT_DELETED", "STORAGE_SYNC_COMPLETED",
            "STORAGE_SYNC_FAILED", "STORAGE_SYNC_STARTED"} <= names
    org_only = client.webhooks.info(organization_only=True)
    assert set(org_only.dict(exclude_none=True)) == {"PROJECT_CREATED", "PROJECT_DELETED"}

    with pytest.raises(Exception) as bad:
        client.webhooks.create(url="ftp://example.org/hook", project=project.id)
    assert "url" in str(bad.value)
    with pytest.raises(Exception) as bad:
        client.webhooks.update(created.id, actions=["NOT_AN_ACTION"])
    assert "NOT_AN_ACTION" in str(bad.value)

    client.webhooks.delete(created.id)
    assert client.webhooks.list(project=project.id) == []


def test_annotation_and_sync_events_reach_the_receiver(client, server, receiver):
    project, task = project_with_task(client)
    hook = client.webhooks.create(url=receiver.url, project=project.id, send_payload=True,
                                  send_for_all_actions=True, headers={"X-Team": "vision"},
                                  request_options={"additional_body_parameters": {"secret": "signing-secret"}})

    annotation = client.annotations.create(id=task.id, result=RESULT, lead_time=2.5)
    [created] = receiver.wait_for("ANNOTATION_CREATED")
    body = created["body"]
    assert body["annotation"]["id"] == annotation.id
    assert body["annotation"]["result"] == RESULT
    assert body["annotation"]["lead_time"] == 2.5
    assert body["task"]["id"] == task.id and body["task"]["data"] == {"text": "hello"}
    assert body["project"]["id"] == project.id and body["project"]["title"] == project.title
    assert created["headers"]["x-team"] == "vision"
    expected = "sha256=" + hmac.new(b"signing-secret", created["raw"].encode(), hashlib.sha256).hexdigest()
    assert created["headers"]["x-labelsync-signature"] == expected

    # The payload shows the annotation as it was created, not as the update left it.
    client.annotations.update(id=annotation.id, result=[{**RESULT[0], "value": {"choices": ["neg"]}}])
    [updated] = receiver.wait_for("ANNOTATION_UPDATED")
    assert updated["body"]["annotation"]["result"][0]["value"] == {"choices": ["neg"]}
    assert receiver.wait_for("ANNOTATION_CREATED")[0]["body"]["annotation"]["result"] == RESULT

    source = storage_settings("localfiles", server["root"], "hooks")
    for n in range(3):
        source.put(f"t{n}.json", json.dumps({"text": f"synced {n}"}))
    storage = client.import_storage.local.create(project=project.id, title="hooked folder", **source.kwargs)
    client.import_storage.local.sync(storage.id)
    assert wait_synced(client.import_storage.local.get, storage.id).status == "completed"

    [done] = receiver.wait_for("STORAGE_SYNC_COMPLETED")
    assert done["body"]["storage"]["id"] == storage.id
    assert done["body"]["storage"]["type"] == "localfiles"
    assert done["body"]["storage"]["title"] == "hooked folder"
    assert done["body"]["sync"]["status"] == "completed" and done["body"]["sync"]["count"] == 3
    assert done["body"]["project"]["id"] == project.id
    started = receiver.wait_for("STORAGE_SYNC_STARTED")
    assert started[0]["body"]["storage"]["id"] == storage.id
    # One TASKS_CREATED for the three synced tasks (after the one for the imported task).
    batches = receiver.wait_for("TASKS_CREATED")
    synced = [b for b in batches if b["body"]["tasks"][0]["data"]["text"].startswith("synced")]
    assert len(synced) == 1
    assert sorted(t["data"]["text"] for t in synced[0]["body"]["tasks"]) == ["synced 0", "synced 1", "synced 2"]

    client.annotations.delete(id=annotation.id)
    [deleted] = receiver.wait_for("ANNOTATIONS_DELETED")
    assert deleted["body"]["annotations"] == [{"id": annotation.id}]

    # Every delivery is in the webhook's history with the receiver's status code.
    history = httpx.get(f"{server['url']}/api/webhooks/{hook.id}/deliveries/",
                        headers={"Authorization": f"Token {TOKEN}"}).json()
    assert {d["status"] for d in history} == {"delivered"}
    assert {d["status_code"] for d in history} == {200}


def test_a_receiver_that_was_down_gets_the_event_when_it_is_back(client, server, receiver):
    project, task = project_with_task(client)
    hook = client.webhooks.create(url=receiver.url, project=project.id, send_payload=False,
                                  send_for_all_actions=False, actions=["ANNOTATION_CREATED", "ANNOTATION_UPDATED"])
    receiver.kill()

    annotation = client.annotations.create(id=task.id, result=RESULT)
    client.annotations.update(id=annotation.id, result=RESULT)
    auth = {"Authorization": f"Token {TOKEN}"}
    deadline = time.time() + 30
    while True:
        history = httpx.get(f"{server['url']}/api/webhooks/{hook.id}/deliveries/", headers=auth).json()
        if history and history[-1]["attempts"] >= 1:
            break
        assert time.time() < deadline, history
        time.sleep(0.1)
    assert {d["status"] for d in history} == {"pending"}
    assert history[-1]["error"]

    receiver.start()
    first = receiver.wait_for("ANNOTATION_CREATED", timeout=60)
    receiver.wait_for("ANNOTATION_UPDATED", timeout=60)
    # Without send_payload the body is the action alone, as in Label Studio; order is kept.
    assert first[0]["body"] == {"action": "ANNOTATION_CREATED"}
    assert [d["body"]["action"] for d in receiver.deliveries()] == ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"]
