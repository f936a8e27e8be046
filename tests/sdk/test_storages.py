"""The whole storage workflow through label-studio-sdk only, for every storage type."""
import json
import time

import pytest
from label_studio_sdk.core.api_error import ApiError

from conftest import storage_settings

CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="choice" toName="text"><Choice value="yes"/><Choice value="no"/></Choices></View>')
KINDS = ["localfiles", "s3", "gcs", "azure", "redis"]
SDK_NAME = {"localfiles": "local", "s3": "s3", "gcs": "gcs", "azure": "azure", "redis": "redis"}


def wait_synced(getter, storage_id):
    deadline = time.time() + 60
    while True:
        storage = getter(storage_id)
        if storage.status in ("completed", "completed_with_errors", "failed"):
            return storage
        assert time.time() < deadline, f"sync did not end: {storage}"
        time.sleep(0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_storage_workflow(client, server, kind):
    source = storage_settings(kind, server["root"], "sdk-src")
    target = storage_settings(kind, server["root"], "sdk-dst")
    source.put("one.json", json.dumps({"text": "first"}))
    source.put("many.json", json.dumps([{"text": "second"}, {"data": {"text": "third"}}]))
    imports = getattr(client.import_storage, SDK_NAME[kind])
    exports = getattr(client.export_storage, SDK_NAME[kind])

    project = client.projects.create(title=f"sdk {kind}", label_config=CONFIG)
    imports.validate(project=project.id, **source.kwargs, request_options=source.options)
    created = imports.create(project=project.id, title="source", **source.kwargs, request_options=source.options)
    assert created.id and created.status == "initialized"
    assert getattr(created, "type", kind) == kind
    assert imports.get(created.id).title == "source"
    updated = imports.update(created.id, title="renamed source")
    assert updated.title == "renamed source"
    assert created.id in [s.id for s in imports.list(project=project.id)]

    queued = imports.sync(created.id)
    assert queued.status in ("queued", "in_progress", "completed")
    synced = wait_synced(imports.get, created.id)
    assert synced.status == "completed", synced.traceback
    assert synced.last_sync_count == 3

    tasks = list(client.tasks.list(project=project.id))
    assert sorted(t.data["text"] for t in tasks) == ["first", "second", "third"]

    annotation = client.annotations.create(id=tasks[0].id, result=[
        {"from_name": "choice", "to_name": "text", "type": "choices", "value": {"choices": ["yes"]}}])
    client.annotations.update(id=annotation.id, result=[
        {"from_name": "choice", "to_name": "text", "type": "choices", "value": {"choices": ["no"]}}])
    assert client.annotations.get(id=annotation.id).result[0]["value"]["choices"] == ["no"]

    export = exports.create(project=project.id, title="target", **target.kwargs, can_delete_objects=True,
                            request_options=target.options)
    wait_synced(exports.get, export.id)
    exports.sync(export.id)
    done = wait_synced(exports.get, export.id)
    assert done.status == "completed"
    document = target.exported(str(annotation.id))
    assert document is not None, "the annotation is in the target storage"
    assert document["result"][0]["value"]["choices"] == ["no"]
    assert document["task"]["data"]["text"] == tasks[0].data["text"]

    client.annotations.delete(id=annotation.id)
    deadline = time.time() + 15
    while target.exported(str(annotation.id)) is not None:
        assert time.time() < deadline, "deleting the annotation removes its exported object"
        time.sleep(0.1)

    imports.delete(created.id)
    assert created.id not in [s.id for s in imports.list(project=project.id)]
    assert len(list(client.tasks.list(project=project.id))) == 3, "tasks stay when their storage goes"


def test_storage_types_are_listed(client):
    names = {t.name for t in client.import_storage.list_types()}
    assert {"s3", "gcs", "azure", "redis", "localfiles"} <= names
    assert {"s3", "gcs", "azure", "redis", "localfiles"} <= {t.name for t in client.export_storage.list_types()}


@pytest.mark.parametrize("kind, change, message", [
    ("s3", {"bucket": "no-such-bucket-here"}, "Cannot find bucket"),
    ("s3", {"aws_secret_access_key": None}, "must be provided together"),
    ("azure", {"account_key": "d3Jvbmcga2V5"}, "refused"),
    ("redis", {"port": "9"}, "Can't connect to Redis"),
    ("localfiles", {"path": "/"}, "LOCAL_FILES_DOCUMENT_ROOT"),
])
def test_bad_settings_raise_the_sdks_api_error(client, server, kind, change, message):
    settings = storage_settings(kind, server["root"], "sdk-bad")
    kwargs = {k: v for k, v in {**settings.kwargs, **change}.items() if v is not None}
    project = client.projects.create(title="errors", label_config=CONFIG)
    imports = getattr(client.import_storage, SDK_NAME[kind])
    with pytest.raises(ApiError) as error:
        imports.create(project=project.id, **kwargs, request_options=settings.options)
    assert error.value.status_code == 400
    assert message in json.dumps(error.value.body)


def test_import_tasks_resolve_and_pagination(client, server):
    project = client.projects.create(title="import", label_config=CONFIG)
    result = client.projects.import_tasks(project.id, request=[{"text": f"t{i}"} for i in range(250)],
                                          return_task_ids=True)
    assert result.task_count == 250
    tasks = list(client.tasks.list(project=project.id, page_size=100))
    assert len(tasks) == 250, "the pager walks every page"
    assert len({t.id for t in tasks}) == 250

    source = storage_settings("s3", server["root"], "sdk-media")
    source.put("img.png", "png")
    client.import_storage.s3.create(project=project.id, use_blob_urls=True, **source.kwargs,
                                    request_options=source.options)
    storage = client.import_storage.s3.list(project=project.id)[0]
    client.import_storage.s3.sync(storage.id)
    wait_synced(client.import_storage.s3.get, storage.id)
    media = [t for t in client.tasks.list(project=project.id, page_size=1000) if t.storage_filename]
    assert len(media) == 1
    resolved = client.tasks.get(str(media[0].id))
    assert resolved.data["text"].startswith(f"/tasks/{media[0].id}/resolve/?fileuri=")
    raw = client.tasks.get(str(media[0].id), request_options={"additional_query_parameters": {"resolve_uri": "false"}})
    assert raw.data["text"].startswith("s3://test-bucket/")


def test_personal_access_token_is_the_sdks_default_auth(client, server):
    """Label Studio 1.23 hands out JWT personal access tokens; the SDK refreshes them itself."""
    from label_studio_sdk import LabelStudio

    personal = client.tokens.create().token
    jwt_client = LabelStudio(base_url=server["url"], api_key=personal)
    assert not jwt_client._client_wrapper._tokens_client._use_legacy_token, "the SDK took the JWT path"
    project = jwt_client.projects.create(title="via personal token", label_config=CONFIG)
    assert jwt_client.projects.get(id=project.id).title == "via personal token"
    assert any(p.id == project.id for p in client.projects.list())
