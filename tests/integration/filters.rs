//! The Data Manager's query language on `GET /api/tasks`: every filter operator on every
//! kind of column, ordering, selected items, and what a bad query gets (a 400 naming it).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Env, Server};

const TEXT_CONFIG: &str = r#"<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>"#;

/// A project whose eight tasks differ in every column a filter can look at:
///
/// | task | data | annotations | predictions | other |
/// |---|---|---|---|---|
/// | 1 | text "Alpha cat", size 10, flag true, when 2026-01-02 | A: pos | m1 0.9 pos | |
/// | 2 | text "beta dog", size 20, flag false, when 2026-01-05T09:00Z | B: neg | m2 0.2 neg | |
/// | 3 | text "gamma", size "30" (text) | A: skipped | | |
/// | 4 | text "", size 5 | | | A's draft |
/// | 5 | size null, no text | | | |
/// | 6 | text "Delta CAT", size 40 | A: pos, then B: pos | m1 0.5, m2 0.7 | |
/// | 7, 8 | blob files photos/x1.png, photos/y2.png | | | synced: storage file names |
struct Fixture {
    server: Server,
    project: i64,
    /// Task ids in the table's order (index 0 is task 1).
    tasks: Vec<i64>,
    /// The members: A (the test user) and B.
    users: [i64; 2],
    _env: Env,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        env.file("photos/x1.png", b"x1");
        env.file("photos/y2.png", b"y2");
        let server = env.start();
        let (status, project) = server.post(
            "/api/projects/",
            json!({"title": "filters", "label_config": TEXT_CONFIG}),
        );
        assert_eq!(status, 201, "{project}");
        let project = project["id"].as_i64().unwrap();
        let (status, imported) = server.post(
            &format!("/api/projects/{project}/import?return_task_ids=true"),
            json!([
                {"text": "Alpha cat", "size": 10, "flag": true, "when": "2026-01-02"},
                {"text": "beta dog", "size": 20, "flag": false, "when": "2026-01-05T10:00:00+01:00"},
                {"text": "gamma", "size": "30"},
                {"text": "", "size": 5},
                {"size": null},
                {"text": "Delta CAT", "size": 40},
            ]),
        );
        assert_eq!(status, 201, "{imported}");
        let mut tasks: Vec<i64> = serde_json::from_value(imported["task_ids"].clone()).unwrap();
        let source = server.local_source(
            project,
            &env.root.join("photos"),
            json!({"use_blob_urls": true}),
        );
        server.sync("localfiles", source);
        let all = server.tasks(project);
        tasks.extend(all[6..].iter().map(|t| t["id"].as_i64().unwrap()));
        let me = server.get("/api/current-user/whoami").1["id"]
            .as_i64()
            .unwrap();
        let (other, other_token) = server.member(project, "b@example.com");
        let fixture = Fixture {
            server,
            project,
            tasks,
            users: [me, other],
            _env: env,
        };
        fixture.annotate(1, None, "pos", false);
        fixture.annotate(2, Some(&other_token), "neg", false);
        fixture.annotate(3, None, "pos", true);
        fixture.annotate(6, None, "pos", false);
        fixture.annotate(6, Some(&other_token), "pos", false);
        fixture.predict(1, "m1", 0.9, "pos");
        fixture.predict(2, "m2", 0.2, "neg");
        fixture.predict(6, "m1", 0.5, "pos");
        fixture.predict(6, "m2", 0.7, "pos");
        let (status, draft) = fixture.server.post(
            &format!("/api/tasks/{}/drafts", fixture.task(4)),
            json!({"result": []}),
        );
        assert_eq!(status, 201, "{draft}");
        fixture
    }

    fn task(&self, n: usize) -> i64 {
        self.tasks[n - 1]
    }

    fn tasks(&self, numbers: &[usize]) -> Vec<i64> {
        numbers.iter().map(|n| self.task(*n)).collect()
    }

    fn annotate(&self, n: usize, as_user: Option<&str>, choice: &str, skipped: bool) {
        let path = format!("/api/tasks/{}/annotations/", self.task(n));
        let body = json!({"was_cancelled": skipped, "result": [
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]});
        let (status, made) = match as_user {
            Some(token) => self.server.call_as(token, Method::POST, &path, Some(body)),
            None => self.server.post(&path, body),
        };
        assert_eq!(status, 201, "{made}");
    }

    fn predict(&self, n: usize, version: &str, score: f64, choice: &str) {
        let (status, made) = self.server.post(
            "/api/predictions/",
            json!({"task": self.task(n), "model_version": version, "score": score, "result": choice}),
        );
        assert_eq!(status, 201, "{made}");
    }

    /// The task list for a query (any page size), as (status, body).
    fn list(&self, query: &Value, extra: &[(&str, &str)]) -> (u16, Value) {
        let project = self.project.to_string();
        let query = query.to_string();
        let mut params = vec![("project", project.as_str()), ("query", query.as_str())];
        params.extend_from_slice(extra);
        crate::common::send(
            self.server
                .request(Method::GET, "/api/tasks")
                .query(&params),
        )
    }

    /// Ids the query finds, in its order.
    fn found(&self, query: Value) -> Vec<i64> {
        let (status, body) = self.list(&query, &[]);
        assert_eq!(status, 200, "{query}: {body}");
        let ids: Vec<i64> = body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(body["total"], ids.len(), "{query}: total");
        ids
    }

    /// Checks that one filter finds exactly the numbered tasks.
    fn expect(&self, filter: Value, numbers: &[usize]) {
        let query = json!({"filters": {"conjunction": "and", "items": [filter.clone()]}});
        assert_eq!(self.found(query), self.tasks(numbers), "{filter}");
    }
}

fn item(column: &str, operator: &str, kind: &str, value: Value) -> Value {
    json!({"filter": format!("filter:tasks:{column}"), "operator": operator, "type": kind, "value": value})
}

#[test]
fn numbers_filter_with_every_operator() {
    let f = Fixture::new();
    let id = |n| json!(f.task(n));
    f.expect(item("id", "equal", "Number", id(2)), &[2]);
    f.expect(
        item("id", "not_equal", "Number", id(2)),
        &[1, 3, 4, 5, 6, 7, 8],
    );
    f.expect(item("id", "less", "Number", id(3)), &[1, 2]);
    f.expect(item("id", "greater", "Number", id(6)), &[7, 8]);
    f.expect(item("id", "less_or_equal", "Number", id(2)), &[1, 2]);
    f.expect(item("id", "greater_or_equal", "Number", id(7)), &[7, 8]);
    f.expect(
        item(
            "id",
            "in",
            "Number",
            json!({"min": f.task(2), "max": f.task(4)}),
        ),
        &[2, 3, 4],
    );
    f.expect(
        item(
            "id",
            "not_in",
            "Number",
            json!({"min": f.task(2), "max": f.task(4)}),
        ),
        &[1, 5, 6, 7, 8],
    );
    f.expect(
        item("id", "in_list", "Number", json!([f.task(1), f.task(5)])),
        &[1, 5],
    );
    f.expect(
        item("id", "not_in_list", "Number", json!([f.task(1), f.task(5)])),
        &[2, 3, 4, 6, 7, 8],
    );
    f.expect(item("inner_id", "equal", "Number", json!(3)), &[3]);
    f.expect(
        item("total_annotations", "greater", "Number", json!(0)),
        &[1, 2, 6],
    );
    f.expect(
        item("total_annotations", "empty", "Number", json!(true)),
        &[3, 4, 5, 7, 8],
    );
    f.expect(
        item("cancelled_annotations", "equal", "Number", json!(1)),
        &[3],
    );
    f.expect(
        item(
            "total_predictions",
            "greater_or_equal",
            "Number",
            json!("2"),
        ),
        &[6],
    );
    f.expect(
        item("predictions_score", "greater", "Number", json!(0.5)),
        &[1, 6],
    );
    f.expect(
        item("predictions_score", "less", "Number", json!(0.5)),
        &[2],
    );
    f.expect(
        item("predictions_score", "empty", "Number", json!(true)),
        &[3, 4, 5, 7, 8],
    );
    f.expect(
        item("data.size", "greater", "Number", json!(15)),
        &[2, 3, 6],
    );
    f.expect(
        item("data.size", "in", "Number", json!({"min": 5, "max": 10})),
        &[1, 4],
    );
    f.expect(
        item("data.size", "empty", "Number", json!(true)),
        &[5, 7, 8],
    );
}

#[test]
fn times_booleans_and_text_filter_with_every_operator() {
    let f = Fixture::new();
    let long_ago = "2000-01-01T00:00:00.000Z";
    let far_ahead = "2100-01-01T00:00:00.000000Z";
    f.expect(
        item("completed_at", "empty", "Datetime", json!(false)),
        &[1, 2, 6],
    );
    f.expect(
        item("completed_at", "empty", "Datetime", json!(true)),
        &[3, 4, 5, 7, 8],
    );
    f.expect(
        item("completed_at", "greater", "Datetime", json!(long_ago)),
        &[1, 2, 6],
    );
    f.expect(
        item("completed_at", "less", "Datetime", json!(long_ago)),
        &[],
    );
    f.expect(
        item(
            "completed_at",
            "in",
            "Datetime",
            json!({"min": long_ago, "max": far_ahead}),
        ),
        &[1, 2, 6],
    );
    f.expect(
        item(
            "completed_at",
            "not_in",
            "Datetime",
            json!({"min": long_ago, "max": far_ahead}),
        ),
        &[3, 4, 5, 7, 8],
    );
    f.expect(
        item(
            "created_at",
            "greater_or_equal",
            "Datetime",
            json!("2000-01-01"),
        ),
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    f.expect(
        item("updated_at", "less_or_equal", "Datetime", json!(long_ago)),
        &[],
    );
    // Times in the data, however spelled, compare as times.
    f.expect(
        item(
            "data.when",
            "in",
            "Datetime",
            json!({"min": "2026-01-01", "max": "2026-01-03"}),
        ),
        &[1],
    );
    f.expect(
        item(
            "data.when",
            "greater",
            "Datetime",
            json!("2026-01-05T08:59:59.000Z"),
        ),
        &[2],
    );
    f.expect(
        item(
            "data.when",
            "less",
            "Datetime",
            json!("2026-01-05T09:00:00Z"),
        ),
        &[1],
    );

    f.expect(
        item("is_labeled", "equal", "Boolean", json!(true)),
        &[1, 2, 6],
    );
    f.expect(
        item("is_labeled", "not_equal", "Boolean", json!("true")),
        &[3, 4, 5, 7, 8],
    );
    f.expect(item("draft_exists", "equal", "Boolean", json!(true)), &[4]);
    f.expect(item("ground_truth", "equal", "Boolean", json!(true)), &[]);
    f.expect(item("data.flag", "equal", "Boolean", json!(true)), &[1]);
    f.expect(item("data.flag", "equal", "Boolean", json!(false)), &[2]);
    f.expect(item("data.flag", "empty", "Boolean", json!(false)), &[1, 2]);

    f.expect(
        item("data.text", "contains", "String", json!("cat")),
        &[1, 6],
    );
    f.expect(
        item("data.text", "not_contains", "String", json!("cat")),
        &[2, 3, 4, 5, 7, 8],
    );
    f.expect(item("data.text", "equal", "String", json!("gamma")), &[3]);
    f.expect(
        item("data.text", "not_equal", "String", json!("gamma")),
        &[1, 2, 4, 5, 6, 7, 8],
    );
    f.expect(
        item("data.text", "regex", "String", json!("^[A-Z]")),
        &[1, 6],
    );
    f.expect(
        item(
            "data.text",
            "in_list",
            "String",
            json!(["gamma", "beta dog"]),
        ),
        &[2, 3],
    );
    f.expect(item("data.text", "empty", "String", json!(true)), &[4, 5]);
    f.expect(
        item("data.text", "empty", "String", json!(false)),
        &[1, 2, 3, 6, 7, 8],
    );
    // Blob tasks keep their file under $undefined$, shown (and filtered) as `text`.
    f.expect(
        item("data.text", "contains", "Unknown", json!("x1.png")),
        &[7],
    );
    f.expect(item("data.text", "contains", "String", json!("100%_")), &[]);
    f.expect(
        item("storage_filename", "contains", "String", json!("y2")),
        &[8],
    );
    f.expect(
        item("storage_filename", "empty", "String", json!(true)),
        &[1, 2, 3, 4, 5, 6],
    );
    f.expect(
        item("file_upload", "empty", "String", json!(true)),
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
}

#[test]
fn lists_filter_by_their_members_and_filters_combine() {
    let f = Fixture::new();
    let [a, b] = f.users;
    f.expect(item("annotators", "contains", "List", json!(a)), &[1, 3, 6]);
    f.expect(
        item("annotators", "contains", "List", json!(b.to_string())),
        &[2, 6],
    );
    f.expect(
        item("annotators", "not_contains", "List", json!(b)),
        &[1, 3, 4, 5, 7, 8],
    );
    f.expect(
        item("annotators", "empty", "List", json!(true)),
        &[4, 5, 7, 8],
    );
    f.expect(
        item("annotators", "empty", "List", json!(false)),
        &[1, 2, 3, 6],
    );
    f.expect(item("updated_by", "contains", "List", json!(b)), &[2, 6]);
    f.expect(
        item(
            "predictions_model_versions",
            "contains",
            "List",
            json!(["m2"]),
        ),
        &[2, 6],
    );
    f.expect(
        item(
            "predictions_model_versions",
            "not_contains",
            "List",
            json!(["m2"]),
        ),
        &[1, 3, 4, 5, 7, 8],
    );
    f.expect(
        item("predictions_model_versions", "empty", "List", json!(true)),
        &[3, 4, 5, 7, 8],
    );
    f.expect(
        item("annotations_results", "contains", "String", json!("NEG")),
        &[2],
    );
    f.expect(
        item(
            "annotations_results",
            "not_contains",
            "String",
            json!("pos"),
        ),
        &[2, 4, 5, 7, 8],
    );
    f.expect(
        item("predictions_results", "contains", "String", json!("neg")),
        &[2],
    );
    let whole = r#"[{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}]"#;
    f.expect(
        item("annotations_results", "equal", "String", json!(whole)),
        &[2],
    );
    f.expect(
        item("annotations_results", "empty", "String", json!(true)),
        &[4, 5, 7, 8],
    );
    f.expect(
        item("avg_lead_time", "empty", "Number", json!(true)),
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );

    let both = json!({"filters": {"conjunction": "and", "items": [
        item("annotators", "contains", "List", json!(a)), item("annotators", "contains", "List", json!(b))]}});
    assert_eq!(f.found(both), f.tasks(&[6]), "annotated by both");
    let either = json!({"filters": {"conjunction": "or", "items": [
        item("id", "equal", "Number", json!(f.task(1))), item("data.text", "contains", "String", json!("y2"))]}});
    assert_eq!(f.found(either), f.tasks(&[1, 8]));
}

#[test]
fn ordering_selection_totals_and_shapes() {
    let f = Fixture::new();
    let order = |column: &str| f.found(json!({"ordering": [column]}));
    assert_eq!(order("-tasks:id"), f.tasks(&[8, 7, 6, 5, 4, 3, 2, 1]));
    assert_eq!(
        order("tasks:total_annotations"),
        f.tasks(&[3, 4, 5, 7, 8, 1, 2, 6])
    );
    assert_eq!(
        order("-tasks:completed_at"),
        f.tasks(&[6, 2, 1, 8, 7, 5, 4, 3]),
        "NULLs last"
    );
    assert_eq!(
        order("tasks:completed_at"),
        f.tasks(&[1, 2, 6, 3, 4, 5, 7, 8]),
        "NULLs last"
    );
    assert_eq!(
        order("-tasks:predictions_score"),
        f.tasks(&[1, 6, 2, 8, 7, 5, 4, 3])
    );
    assert_eq!(order("tasks:data.text"), f.tasks(&[4, 7, 8, 1, 6, 2, 3, 5]));
    assert_eq!(
        order("-tasks:annotators"),
        f.tasks(&[2, 6, 3, 1, 8, 7, 5, 4])
    );

    let picked =
        json!({"selectedItems": {"all": false, "included": [f.task(2), f.task(5), f.task(7)]}});
    assert_eq!(f.found(picked), f.tasks(&[2, 5, 7]));
    let all_but = json!({"selectedItems": {"all": true, "excluded": [f.task(1), f.task(2)]}});
    assert_eq!(f.found(all_but), f.tasks(&[3, 4, 5, 6, 7, 8]));
    let nothing = json!({"selectedItems": {"all": false, "included": []}});
    assert_eq!(
        f.found(nothing),
        f.tasks(&[1, 2, 3, 4, 5, 6, 7, 8]),
        "Label Studio lists every task when none is picked (an action on it deletes nothing)"
    );
    let labeled_but_first = json!({
        "filters": {"conjunction": "and", "items": [item("is_labeled", "equal", "Boolean", json!(true))]},
        "selectedItems": {"all": true, "excluded": [f.task(1)]}});
    let (status, body) = f.list(&labeled_but_first, &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["total"].as_i64(),
            body["total_annotations"].as_i64(),
            body["total_predictions"].as_i64()
        ),
        (Some(2), Some(3), Some(3)),
        "totals of the tasks found"
    );
    let selected = format!("{{\"all\": false, \"included\": [{}]}}", f.task(3));
    let (_, body) = f.list(&json!({}), &[("selectedItems", &selected)]);
    assert_eq!(body["total"], 1, "selectedItems as its own parameter");
    let (_, body) = f.list(&json!({}), &[("only_annotated", "true")]);
    assert_eq!(body["total"], 3, "only_annotated");

    let (_, body) = f.list(&json!({"ordering": ["tasks:id"]}), &[("include", "id")]);
    assert_eq!(
        body["tasks"][0],
        json!({"id": f.task(1)}),
        "include=id gives ids alone"
    );
    let (_, body) = f.list(&json!({}), &[("include", "id,total_annotations")]);
    assert_eq!(body["tasks"][0].as_object().unwrap().len(), 2);

    let (_, body) = f.list(&json!({}), &[("fields", "all")]);
    let tasks = body["tasks"].as_array().unwrap();
    let sixth = &tasks[5];
    assert_eq!(sixth["annotations"].as_array().unwrap().len(), 2, "{sixth}");
    assert_eq!(sixth["predictions"].as_array().unwrap().len(), 2);
    assert_eq!(sixth["predictions"][0]["model_version"], "m1");
    assert_eq!(sixth["predictions_model_versions"], "m1,m2");
    assert_eq!(sixth["annotators"], json!(f.users));
    assert_eq!(sixth["predictions_score"], 0.6);
    assert!(
        sixth["annotations_results"]
            .as_str()
            .unwrap()
            .contains("choices: [pos]"),
        "{sixth}"
    );
    assert_eq!(
        tasks[3]["drafts"].as_array().unwrap().len(),
        1,
        "the user's draft"
    );
    assert_eq!(tasks[3]["draft_exists"], true);
    let (_, default) = f.list(&json!({}), &[]);
    assert!(
        default["tasks"][0].get("annotations").is_none(),
        "task_only by default"
    );
}

#[test]
fn a_bad_query_is_a_400_that_names_what_to_fix() {
    let f = Fixture::new();
    let cases = [
        (
            item("colour", "equal", "String", json!("x")),
            "unknown column \"tasks:colour\"",
        ),
        (
            item("id", "bigger", "Number", json!(1)),
            "operator \"bigger\" is unknown for tasks:id",
        ),
        (
            item("id", "contains", "Number", json!(1)),
            "operator \"contains\" does not apply to tasks:id",
        ),
        (
            item("id", "greater", "Number", json!("many")),
            "\"many\" is not a number",
        ),
        (
            item("id", "in", "Number", json!(3)),
            "{\"min\": ..., \"max\": ...}",
        ),
        (
            item("completed_at", "greater", "Datetime", json!("yesterday")),
            "is not a date and time",
        ),
        (
            item("data.text", "regex", "String", json!("([")),
            "invalid regular expression",
        ),
        (
            item("annotators", "contains", "List", json!("bob")),
            "\"bob\" is not a user id",
        ),
        (
            item("is_labeled", "empty", "Boolean", json!("maybe")),
            "true or false",
        ),
    ];
    for (filter, wanted) in cases {
        let query = json!({"filters": {"conjunction": "and", "items": [filter.clone()]}});
        let (status, body) = f.list(&query, &[]);
        assert_eq!(status, 400, "{filter}: {body}");
        let message = body["validation_errors"]["query"][0]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(wanted), "{filter}: {message}");
    }
    for (query, wanted) in [
        (
            json!({"ordering": ["-tasks:nope"]}),
            "ordering: unknown column",
        ),
        (
            json!({"filters": {"conjunction": "xor", "items": []}}),
            "conjunction",
        ),
        (
            json!({"selectedItems": {"all": false, "included": ["a"]}}),
            "is not a task id",
        ),
    ] {
        let (status, body) = f.list(&query, &[]);
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.to_string().contains(wanted), "{query}: {body}");
    }
    let (status, body) = crate::common::send(f.server.request(Method::GET, "/api/tasks").query(&[
        ("project", f.project.to_string().as_str()),
        ("query", "{not json"),
    ]));
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("not valid JSON"), "{body}");
}

#[test]
fn any_page_size_is_served_whole() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let tasks: Vec<Value> = (0..2_500)
        .map(|i| json!({"image": format!("{i}.png")}))
        .collect();
    let (status, imported) = server.post(&format!("/api/projects/{project}/import"), json!(tasks));
    assert_eq!(status, 201, "{imported}");
    let ids_of = |body: &Value| -> Vec<i64> {
        body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let (status, body) = server.get(&format!(
        "/api/tasks?project={project}&page_size=2500&fields=all"
    ));
    assert_eq!(status, 200);
    let ids = ids_of(&body);
    assert_eq!((body["total"].as_i64(), ids.len()), (Some(2500), 2500));
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    let (_, second) = server.get(&format!(
        "/api/tasks?project={project}&page_size=1200&page=2"
    ));
    assert_eq!(ids_of(&second), ids[1200..2400].to_vec());
    let (_, third) = server.get(&format!(
        "/api/tasks?project={project}&page_size=1200&page=3"
    ));
    assert_eq!(ids_of(&third), ids[2400..].to_vec());
    // Pages past the middle are read from the far end: the same pages, in either order.
    let newest_first = r#"{"ordering": ["-tasks:id"]}"#;
    let descending: Vec<i64> = ids.iter().rev().copied().collect();
    for (page, expected) in [(2, &descending[1200..2400]), (3, &descending[2400..])] {
        let (_, body) = server.get(&format!(
            "/api/tasks?project={project}&page_size=1200&page={page}&query={newest_first}"
        ));
        assert_eq!(ids_of(&body), expected.to_vec(), "page {page}, -id");
    }
    let (status, _) = server.get(&format!(
        "/api/tasks?project={project}&page_size=1200&page=4"
    ));
    assert_eq!(status, 404, "past the last page");
}
