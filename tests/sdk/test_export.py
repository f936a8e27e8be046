"""Project export through label-studio-sdk: the 2.x client's `projects.exports` (formats and
the streamed download in every format labelsync writes) and the legacy `Client`'s
`export_tasks`."""
import csv
import io
import json
import uuid
import zipfile

from label_studio_sdk import Client

from conftest import TOKEN

CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>')


def labeled_project(client):
    """Three tasks, the first two annotated (pos, neg); returns (project, task ids)."""
    project = client.projects.create(title=f"export {uuid.uuid4().hex[:8]}", label_config=CONFIG)
    client.projects.import_tasks(id=project.id, request=[{"text": t} for t in ["one", "two", "three"]])
    ids = sorted(t.id for t in client.tasks.list(project=project.id, fields="task_only"))
    for task, label in zip(ids, ["pos", "neg"]):
        client.annotations.create(id=task, result=[
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}])
    return project, ids


def download(client, project, **options):
    return b"".join(client.projects.exports.download_sync(project.id, **options))


def test_every_format_downloads_with_the_2x_client(client):
    project, ids = labeled_project(client)
    names = [f["name"] for f in client.projects.exports.list_formats(project.id) if not f["disabled"]]
    assert names == ["JSON", "JSON_MIN", "CSV", "TSV"]

    tasks = json.loads(download(client, project, export_type="JSON"))
    assert [t["id"] for t in tasks] == ids[:2]
    assert tasks[0]["annotations"][0]["result"][0]["value"] == {"choices": ["pos"]}
    everything = json.loads(download(client, project, export_type="JSON", download_all_tasks=True))
    assert [t["id"] for t in everything] == ids
    chosen = json.loads(download(client, project, export_type="JSON", ids=[str(ids[2]), str(ids[0])]))
    assert [t["id"] for t in chosen] == [ids[0]], "named tasks, only the annotated by default"
    chosen = json.loads(download(client, project, export_type="JSON", ids=[str(ids[2]), str(ids[0])],
                                 download_all_tasks=True))
    assert [t["id"] for t in chosen] == [ids[0], ids[2]]

    minimal = json.loads(download(client, project, export_type="JSON_MIN"))
    assert [(r["id"], r["text"], r["sentiment"]) for r in minimal] == [(ids[0], "one", "pos"), (ids[1], "two", "neg")]

    for export_type, dialect in [("CSV", csv.excel), ("TSV", csv.excel_tab)]:
        rows = list(csv.DictReader(io.StringIO(download(client, project, export_type=export_type).decode()), dialect=dialect))
        assert [(int(r["id"]), r["text"], r["sentiment"]) for r in rows] == [(ids[0], "one", "pos"), (ids[1], "two", "neg")]


def test_legacy_client_export_tasks(server, tmp_path):
    legacy = Client(url=server["url"], api_key=TOKEN)
    project = legacy.start_project(title=f"legacy export {uuid.uuid4().hex[:8]}", label_config=CONFIG)
    tasks = project.import_tasks([{"text": "a"}, {"text": "b"}])
    project.create_annotation(tasks[1], result=[
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}])
    assert [t["id"] for t in project.export_tasks()] == [tasks[1]]
    assert [t["id"] for t in project.export_tasks(download_all_tasks=True)] == tasks
    path = project.export_tasks(export_type="CSV", export_location=str(tmp_path / "out" / "tasks.csv"))
    rows = list(csv.DictReader(open(path)))
    assert [(r["text"], r["sentiment"]) for r in rows] == [("b", "pos")]


def test_versions_and_health(client, server):
    version = client.versions.get()
    assert version.release == "1.23.2"
    assert version.edition == "Community"
    legacy = Client(url=server["url"], api_key=TOKEN)
    assert legacy.check_connection() == {"status": "UP"}


def test_snapshots_with_the_2x_client(client):
    project, ids = labeled_project(client)
    snapshot = client.projects.exports.create(project.id, title="before review")
    assert (snapshot.title, snapshot.status, snapshot.counters) == ("before review", "completed", {"task_number": 3})
    assert [s.id for s in client.projects.exports.list(project.id)] == [snapshot.id]
    assert client.projects.exports.get(project.id, snapshot.id).md5 == snapshot.md5
    tasks = json.loads(b"".join(client.projects.exports.download(project.id, snapshot.id, export_type="JSON")))
    assert [t["id"] for t in tasks] == ids
    rows = list(csv.DictReader(io.StringIO(
        b"".join(client.projects.exports.download(project.id, snapshot.id, export_type="CSV")).decode())))
    assert [r["sentiment"] for r in rows if r.get("sentiment")] == ["pos", "neg"]
    client.projects.exports.delete(project.id, snapshot.id)
    assert list(client.projects.exports.list(project.id)) == []


BOXES = ('<View><Image name="image" value="$image"/>'
         '<RectangleLabels name="label" toName="image"><Label value="Cat"/><Label value="Dog"/></RectangleLabels></View>')


def test_coco_and_yolo_zips_with_the_2x_client(client):
    project = client.projects.create(title=f"boxes {uuid.uuid4().hex[:8]}", label_config=BOXES)
    client.projects.import_tasks(id=project.id, request=[{"image": "s3://bucket/pets/rex.jpg"}])
    task = next(iter(client.tasks.list(project=project.id)))
    client.annotations.create(id=task.id, result=[{
        "from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 400,
        "original_height": 200, "value": {"x": 10, "y": 20, "width": 50, "height": 25, "rotation": 0,
                                          "rectanglelabels": ["Dog"]}}])
    names = [f["name"] for f in client.projects.exports.list_formats(project.id) if not f["disabled"]]
    assert {"COCO", "YOLO", "COCO_WITH_IMAGES", "YOLO_WITH_IMAGES"} <= set(names)

    coco = zipfile.ZipFile(io.BytesIO(download(client, project, export_type="COCO")))
    result = json.loads(coco.read("result.json"))
    assert result["categories"] == [{"id": 0, "name": "Cat"}, {"id": 1, "name": "Dog"}]
    assert result["images"] == [{"width": 400, "height": 200, "id": 0, "file_name": "s3://bucket/pets/rex.jpg"}]
    assert result["annotations"][0]["bbox"] == [40.0, 40.0, 200.0, 50.0]
    assert result["annotations"][0]["category_id"] == 1

    yolo = zipfile.ZipFile(io.BytesIO(download(client, project, export_type="YOLO")))
    assert yolo.read("classes.txt") == b"Cat\nDog\n"
    assert yolo.read("labels/rex.txt") == b"1 0.35 0.325 0.5 0.25\n"
