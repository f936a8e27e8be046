"""The Data Manager through label-studio-sdk only: predictions, filtered and ordered task lists,
views, actions and the project list's filters, with the 2.x client and the legacy `Client`."""
import json
import uuid

import pytest
from label_studio_sdk import Client
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.data_manager import Column, Filters, Operator, Type

from conftest import TOKEN

CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>')
LABELED = {"conjunction": "and", "items": [
    {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}


def choice(label):
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def new_project(client, texts):
    """A project with one task per text; returns (project, task ids in order)."""
    project = client.projects.create(title=f"dm {uuid.uuid4().hex[:8]}", label_config=CONFIG)
    client.projects.import_tasks(id=project.id, request=[{"text": t} for t in texts])
    ids = sorted(t.id for t in client.tasks.list(project=project.id, fields="task_only"))
    assert len(ids) == len(texts)
    return project, ids


def ids_of(pager):
    return [task.id for task in pager]


def test_projects_list_filters_by_title_and_ids(client):
    tag = uuid.uuid4().hex[:8]
    first = client.projects.create(title=f"Alpha {tag}", label_config=CONFIG)
    second = client.projects.create(title=f"beta {tag}", label_config=CONFIG)
    assert [p.id for p in client.projects.list(title=f"ALPHA {tag}")] == [first.id]
    assert sorted(p.id for p in client.projects.list(ids=f"{first.id},{second.id}")) == sorted([first.id, second.id])
    ordered = [p.title for p in client.projects.list(title=tag, ordering="-title")]
    assert ordered == [f"beta {tag}", f"Alpha {tag}"]


def test_predictions_api_and_prediction_import(client):
    project, tasks = new_project(client, ["one", "two", "three"])
    made = client.predictions.create(task=tasks[0], result=choice("pos"), score=0.9, model_version="m1")
    assert (made.task, made.model_version, made.score) == (tasks[0], "m1", 0.9)
    assert [p.id for p in client.predictions.list(task=tasks[0])] == [made.id]
    assert [p.id for p in client.predictions.list(project=project.id)] == [made.id]
    assert client.predictions.get(id=made.id).result == choice("pos")
    assert client.predictions.update(id=made.id, score=0.25).score == 0.25
    imported = client.projects.import_predictions(id=project.id, request=[
        {"task": tasks[1], "result": choice("neg"), "score": 0.5, "model_version": "m2"},
        {"task": tasks[2], "result": choice("pos")}])
    assert imported.created == 2
    task = client.tasks.get(id=str(tasks[1]))
    assert task.total_predictions == 1
    assert task.predictions[0].model_version == "m2"
    client.predictions.delete(id=made.id)
    assert client.tasks.get(id=str(tasks[0])).total_predictions == 0
    with pytest.raises(ApiError) as refused:
        client.predictions.create(task=tasks[0], result=42)
    assert refused.value.status_code == 400


def test_filtered_ordered_lists_and_fields_all(client):
    project, tasks = new_project(client, ["a cat", "a dog", "CAT again", "bird"])
    for task in (tasks[0], tasks[2]):
        client.annotations.create(id=task, result=choice("pos"))
    client.predictions.create(task=tasks[1], result=choice("neg"), score=0.4, model_version="m1")
    query = json.dumps({"filters": LABELED, "ordering": ["-tasks:id"]})
    assert ids_of(client.tasks.list(project=project.id, query=query)) == [tasks[2], tasks[0]]
    contains = {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:data.text", "operator": "contains", "type": "String", "value": "cat"}]}}
    assert ids_of(client.tasks.list(project=project.id, query=json.dumps(contains))) == [tasks[0], tasks[2]]
    versions = {"filters": {"conjunction": "or", "items": [
        {"filter": "filter:tasks:predictions_model_versions", "operator": "contains", "type": "List", "value": ["m1"]},
        {"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": tasks[3]}]}}
    assert ids_of(client.tasks.list(project=project.id, query=json.dumps(versions))) == [tasks[1], tasks[3]]

    full = {t.id: t for t in client.tasks.list(project=project.id)}  # the SDK asks for fields=all
    assert len(full[tasks[0]].annotations) == 1
    assert full[tasks[1]].predictions[0].score == 0.4
    assert full[tasks[0]].completed_at is not None and full[tasks[3]].completed_at is None

    bad = {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:no_such_column", "operator": "equal", "type": "String", "value": "x"}]}}
    with pytest.raises(ApiError) as refused:
        list(client.tasks.list(project=project.id, query=json.dumps(bad)))
    assert refused.value.status_code == 400
    assert "no_such_column" in json.dumps(refused.value.body)


def test_large_pages_are_served_whole(client):
    project, tasks = new_project(client, [f"t{i}" for i in range(1_500)])
    pager = client.tasks.list(project=project.id, page_size=1_500, fields="task_only")
    assert [t.id for t in pager.items] == tasks, "one page of 1,500, nothing cut"


def test_views_filter_the_task_list(client):
    project, tasks = new_project(client, ["x", "y", "z"])
    client.annotations.create(id=tasks[1], result=choice("neg"))
    view = client.views.create(project=project.id, data={"title": "Labeled", "filters": LABELED, "ordering": ["-tasks:id"]})
    assert view.project == project.id and view.data["title"] == "Labeled"
    assert ids_of(client.tasks.list(project=project.id, view=view.id)) == [tasks[1]]
    other = client.views.create(project=project.id, data={"title": "All"})
    client.views.update_order(project=project.id, ids=[other.id, view.id])
    assert [v.id for v in client.views.list(project=project.id)] == [other.id, view.id]
    renamed = client.views.update(id=str(view.id), data={"title": "Done", "filters": LABELED})
    assert client.views.get(id=str(view.id)).data["title"] == renamed.data["title"] == "Done"
    client.views.delete(id=str(view.id))
    assert [v.id for v in client.views.list(project=project.id)] == [other.id]
    client.views.delete_all(project=project.id)
    assert client.views.list(project=project.id) == []


def test_actions_delete_a_selection(client):
    project, tasks = new_project(client, ["p", "q", "r", "s", "t"])
    for task in tasks[:2]:
        client.annotations.create(id=task, result=choice("pos"))
    assert "delete_tasks" in [a.id for a in client.actions.list(project=project.id)]
    client.actions.create(id="delete_tasks_annotations", project=project.id, filters=LABELED,
                          selected_items={"all": True, "excluded": [tasks[0]]})
    assert [t.total_annotations for t in client.tasks.list(project=project.id)] == [1, 0, 0, 0, 0]
    client.actions.create(id="delete_tasks", project=project.id,
                          selected_items={"all": False, "included": tasks[2:5]})
    assert ids_of(client.tasks.list(project=project.id)) == tasks[:2]


def test_legacy_client_data_manager(server):
    legacy = Client(url=server["url"], api_key=TOKEN)
    project = legacy.start_project(title=f"legacy {uuid.uuid4().hex[:8]}", label_config=CONFIG)
    tasks = project.import_tasks([{"text": t} for t in ["one", "two", "three", "four"]])
    assert len(tasks) == 4
    project.create_annotation(tasks[1], result=choice("pos"))
    project.create_annotation(tasks[3], result=choice("neg"))
    assert project.get_labeled_tasks_ids() == [tasks[1], tasks[3]]
    assert project.get_unlabeled_tasks_ids() == [tasks[0], tasks[2]]

    prediction = project.create_prediction(tasks[0], result="pos", score=0.7, model_version="m1")
    assert prediction["result"] == choice("pos")
    assert project.create_predictions([{"task": tasks[2], "result": choice("neg"), "score": 0.1}]) == {"created": 1}
    assert [p["score"] for p in project.get_task(tasks[0])["predictions"]] == [0.7]

    filters = Filters.create(Filters.AND, [
        Filters.item(Column.total_predictions, Operator.GREATER, Type.Number, Filters.value(0))])
    assert [t["id"] for t in project.get_tasks(filters=filters, ordering=["-" + Column.id])] == [tasks[2], tasks[0]]
    view = project.create_view(filters, title="Predicted")
    assert [v["id"] for v in project.get_views()] == [view["id"]]
    assert project.get_tasks_ids(view_id=view["id"]) == [tasks[0], tasks[2]]
    project.delete_view(view["id"])
    assert project.get_views() == []

    project.delete_tasks([tasks[0], tasks[1]])
    assert project.get_tasks_ids() == [tasks[2], tasks[3]]
    assert [p.id for p in legacy.list_projects(title=project.params["title"])] == [project.id]
