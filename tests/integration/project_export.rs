//! Project export (`/api/projects/<id>/export`) checked against what Label Studio 1.23.2
//! wrote for the same project: the samples in ../shared/reference/ls-samples/
//! api-beyond-storage/ are replayed here (same config, tasks, predictions, annotations and
//! draft) and every format compared with them, minus what differs by nature (times).

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Env, Server};

const CONFIG: &str = r#"<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Cat"/><Label value="Dog"/>
  </RectangleLabels>
  <Choices name="quality" toName="image"><Choice value="good"/><Choice value="bad"/></Choices>
</View>"#;

/// Fields that differ between any two runs (times, random ids, relative times).
const VOLATILE: [&str; 5] = [
    "created_at",
    "updated_at",
    "unique_id",
    "created_ago",
    "updated_by",
];

fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/ls-samples/api-beyond-storage")
        .join(name)
}

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(sample_path(name)).unwrap()).unwrap()
}

fn without_volatile(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !VOLATILE.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), without_volatile(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_volatile).collect()),
        other => other.clone(),
    }
}

/// The sample project, built again through the API: task ids 1..3 as in the samples; its
/// id and its two annotations' ids (labelsync numbers annotations its own way).
fn replay(server: &Server) -> (i64, [i64; 2]) {
    let everything = sample("export-JSON-download_all_tasks.json");
    let (status, project) = server.post(
        "/api/projects/",
        json!({"title": "Export samples", "label_config": CONFIG}),
    );
    assert_eq!(status, 201, "{project}");
    let project = project["id"].as_i64().unwrap();
    let tasks: Vec<Value> = everything
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["data"].clone())
        .collect();
    let (status, body) = server.post(&format!("/api/projects/{project}/import"), json!(tasks));
    assert_eq!(status, 201, "{body}");
    let prediction = sample("prediction-create-response.json");
    for task in [1, 2] {
        let (status, body) = server.post("/api/predictions/", json!({
            "task": task, "result": prediction["result"], "model_version": "yolo-v1", "score": 0.87}));
        assert_eq!(status, 201, "{body}");
    }
    let mut annotations = [0; 2];
    for (task, id) in everything.as_array().unwrap()[..2]
        .iter()
        .zip(&mut annotations)
    {
        let annotation = &task["annotations"][0];
        let (status, body) = server.post(
            &format!("/api/tasks/{}/annotations/", task["id"]),
            json!({
            "result": annotation["result"], "lead_time": annotation["lead_time"],
            "parent_prediction": annotation["parent_prediction"]}),
        );
        assert_eq!(status, 201, "{body}");
        *id = body["id"].as_i64().unwrap();
    }
    let draft = &everything[2]["drafts"][0];
    let (status, body) = server.post(
        "/api/tasks/3/drafts",
        json!({"result": draft["result"], "lead_time": draft["lead_time"]}),
    );
    assert_eq!(status, 201, "{body}");
    (project, annotations)
}

/// A sample with Label Studio's annotation ids (1 and 2) changed to ours.
fn with_annotation_ids(mut value: Value, ours: [i64; 2]) -> Value {
    let renumber = |id: &mut Value| {
        if let Some(n) = id.as_i64().filter(|n| (1..=2).contains(n)) {
            *id = json!(ours[(n - 1) as usize]);
        }
    };
    for item in value.as_array_mut().unwrap() {
        if let Some(id) = item.get_mut("annotation_id") {
            renumber(id);
        }
        for annotation in item
            .get_mut("annotations")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            renumber(&mut annotation["id"]);
        }
    }
    value
}

fn download(server: &Server, project: i64, query: &str) -> (u16, String, String) {
    // `__snapshot__/<id>?...` asks for a snapshot's download instead of the direct export.
    let path = match query.strip_prefix("__snapshot__/") {
        Some(rest) => {
            let (id, query) = rest.split_once('?').unwrap();
            format!("/api/projects/{project}/exports/{id}/download?{query}")
        }
        None => format!("/api/projects/{project}/export?{query}"),
    };
    let response = server.request(Method::GET, &path).send().unwrap();
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, disposition, response.text().unwrap())
}

/// Label Studio's sample with our user's email in place of the one it ran with.
fn sample_as(name: &str, email: &str) -> Value {
    let text = std::fs::read_to_string(sample_path(name)).unwrap();
    serde_json::from_str(&text.replace("bench@example.com", email)).unwrap()
}

#[test]
fn json_json_min_csv_and_tsv_match_label_studio() {
    let env = Env::new();
    let server = env.start();
    let (project, ids) = replay(&server);
    let (_, me) = server.get("/api/current-user/whoami");
    let email = me["email"].as_str().unwrap();
    let (_, created) = server.get(&format!("/api/projects/{project}/"));
    assert_eq!(
        created["parsed_label_config"],
        sample("project-create-response.json")["parsed_label_config"],
        "the project's parsed config, as Label Studio parsed the same one"
    );

    let (status, disposition, body) = download(&server, project, "exportType=JSON");
    assert_eq!(status, 200, "{body}");
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"project-{project}-at-"))
            && disposition.ends_with(".json\""),
        "{disposition}"
    );
    let ours: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        without_volatile(&ours),
        without_volatile(&with_annotation_ids(
            sample_as("export-JSON.json", email),
            ids
        ))
    );

    let (_, _, body) = download(&server, project, "exportType=JSON&download_all_tasks=true");
    let ours: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        without_volatile(&ours),
        without_volatile(&with_annotation_ids(
            sample_as("export-JSON-download_all_tasks.json", email),
            ids
        )),
        "every task, the drafted one with its draft"
    );

    let (_, _, body) = download(&server, project, "exportType=JSON_MIN");
    let ours: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        without_volatile(&ours),
        without_volatile(&with_annotation_ids(sample("export-JSON_MIN.json"), ids))
    );

    for (format, file, separator) in [
        ("CSV", "export-CSV.csv", ','),
        ("TSV", "export-TSV.tsv", '\t'),
    ] {
        let (status, disposition, body) =
            download(&server, project, &format!("exportType={format}"));
        assert_eq!(status, 200, "{body}");
        assert!(
            disposition.ends_with(&format!(".{}\"", format.to_lowercase())),
            "{disposition}"
        );
        // The annotation id is the first column (columns are sorted by name); rows end
        // with CRLF, as Python's csv module writes them.
        let theirs = std::fs::read_to_string(sample_path(file))
            .unwrap()
            .replace(
                &format!("\r\n1{separator}"),
                &format!("\r\n{}{separator}", ids[0]),
            )
            .replace(
                &format!("\r\n2{separator}"),
                &format!("\r\n{}{separator}", ids[1]),
            );
        assert_eq!(
            table_without_times(&body, separator),
            table_without_times(&theirs, separator),
            "{format}:\n{body}"
        );
    }
}

/// A table's text with its times blanked (the rest compared byte for byte).
fn table_without_times(text: &str, _separator: char) -> String {
    let time = regex::Regex::new(r#""\d{4}-\d\d-\d\dT[0-9:.]+Z""#).unwrap();
    time.replace_all(text, "\"<time>\"").into_owned()
}

#[test]
fn ids_choose_tasks_formats_are_listed_and_a_wrong_format_says_what_there_is() {
    let env = Env::new();
    let server = env.start();
    let (project, _) = replay(&server);
    let named = |query: &str| -> Vec<i64> {
        let (_, _, body) = download(&server, project, query);
        let tasks: Value = serde_json::from_str(&body).unwrap();
        tasks
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    // As Label Studio: named tasks, still only the annotated unless all are asked for.
    assert_eq!(named("exportType=JSON&ids[]=3&ids[]=2"), vec![2]);
    assert_eq!(
        named("exportType=JSON&ids[]=3&ids[]=2&download_all_tasks=true"),
        vec![2, 3]
    );

    let (status, formats) = server.get(&format!("/api/projects/{project}/export/formats"));
    assert_eq!(status, 200);
    let available: Vec<&str> = formats
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["disabled"] == json!(false))
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        available,
        vec![
            "JSON",
            "JSON_MIN",
            "CSV",
            "TSV",
            "COCO",
            "COCO_WITH_IMAGES",
            "YOLO",
            "YOLO_WITH_IMAGES"
        ]
    );
    let theirs = sample("export-formats.json");
    for format in formats.as_array().unwrap() {
        let same = theirs
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == format["name"])
            .unwrap();
        assert_eq!(format["title"], same["title"]);
        assert_eq!(format["description"], same["description"]);
    }

    let (status, _, body) = download(&server, project, "exportType=PARQUET");
    assert_eq!(status, 400);
    assert!(
        body.contains("choose one of JSON, JSON_MIN, CSV, TSV"),
        "{body}"
    );
    let (status, _, body) = download(&server, project, "exportType=JSON&ids[]=two");
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = download(&server, 999, "exportType=JSON");
    assert_eq!(status, 404);
}

#[test]
fn snapshots_are_created_listed_downloaded_in_any_format_and_deleted() {
    use md5::{Digest, Md5};
    let env = Env::new();
    let server = env.start();
    let (project, ids) = replay(&server);
    let (_, me) = server.get("/api/current-user/whoami");
    let email = me["email"].as_str().unwrap();

    let (status, created) = server.post(
        &format!("/api/projects/{project}/exports/"),
        json!({"title": "snap"}),
    );
    assert_eq!(status, 201, "{created}");
    let theirs = sample_as("export-snapshot-create-response.json", email);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&created), keys(&theirs));
    assert_eq!(
        (&created["status"], &created["counters"]),
        (&json!("completed"), &json!({"task_number": 3}))
    );
    assert_eq!(created["created_by"]["email"], json!(email));
    let id = created["id"].as_i64().unwrap();

    // The legacy SDK's defaults are what a snapshot is; asking for less is refused, not ignored.
    let defaults = json!({"title": "legacy", "task_filter_options": {},
        "serialization_options": {"drafts": {"only_id": true}, "predictions": {"only_id": true},
                                  "annotations__completed_by": {"only_id": true}},
        "annotation_filter_options": {"usual": true, "ground_truth": true, "skipped": true}});
    let (status, legacy) = server.post(
        &format!("/api/projects/{project}/exports/"),
        defaults.clone(),
    );
    assert_eq!(status, 201, "{legacy}");
    assert_eq!(
        legacy["serialization_options"], defaults["serialization_options"],
        "echoed"
    );
    let (status, refused) = server.post(
        &format!("/api/projects/{project}/exports/"),
        json!({"task_filter_options": {"only_with_annotations": true}}),
    );
    assert_eq!(status, 400);
    assert!(
        refused
            .to_string()
            .contains("only_with_annotations=true is not supported yet"),
        "{refused}"
    );
    let legacy_path = format!("/api/projects/{project}/exports/{}/", legacy["id"]);
    assert_eq!(server.delete(&legacy_path), 204);

    let (status, listed) = server.get(&format!("/api/projects/{project}/exports/"));
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, got) = server.get(&format!("/api/projects/{project}/exports/{id}"));
    assert_eq!(keys(&got), keys(&sample("export-snapshot-get.json")));

    let (status, disposition, body) = download_snapshot(&server, project, id, "exportType=JSON");
    assert_eq!(status, 200, "{body}");
    assert!(disposition.ends_with(".json\""), "{disposition}");
    let digest: String = Md5::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(json!(digest), created["md5"], "the md5 is the file's");
    let ours: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        without_volatile(&ours),
        without_volatile(&with_annotation_ids(
            sample_as("export-snapshot-download-JSON.json", email),
            ids
        )),
        "every task, drafts and predictions by id"
    );

    let (status, _, csv) = download_snapshot(&server, project, id, "exportType=CSV");
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "a header and a row per task (the drafted one without annotation columns): {csv}"
    );
    let (_, again) = server.get(&format!("/api/projects/{project}/exports/{id}/"));
    assert_eq!(
        again["converted_formats"],
        json!([{"id": 1, "export_type": "CSV", "status": "completed"}])
    );

    assert_eq!(
        server.delete(&format!("/api/projects/{project}/exports/{id}/")),
        204
    );
    let left: Vec<_> = std::fs::read_dir(env.data.join("exports"))
        .unwrap()
        .collect();
    assert!(
        left.is_empty(),
        "the snapshot's files went with it: {left:?}"
    );
    assert_eq!(
        server
            .get(&format!("/api/projects/{project}/exports/{id}/"))
            .0,
        404
    );
    assert_eq!(
        download_snapshot(&server, project, id, "exportType=JSON").0,
        404
    );
}

fn download_snapshot(server: &Server, project: i64, id: i64, query: &str) -> (u16, String, String) {
    download(server, project, &format!("__snapshot__/{id}?{query}"))
}

/// The entries of a zip: name → bytes.
fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            (entry.name().unwrap().into_owned(), content)
        })
        .collect()
}

fn download_bytes(server: &Server, path: &str) -> (u16, String, Vec<u8>) {
    let response = server.request(Method::GET, path).send().unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.bytes().unwrap().to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn coco_and_yolo_match_label_studio() {
    let env = Env::new();
    let server = env.start();
    let (project, _) = replay(&server);
    let export = |query: &str| {
        let (status, content_type, body) =
            download_bytes(&server, &format!("/api/projects/{project}/export?{query}"));
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/zip"),
            "{query}"
        );
        unzip(&body)
    };
    let theirs = unzip(&std::fs::read(sample_path("export-COCO.zip")).unwrap());
    let ours = export("exportType=COCO");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    let (ours, theirs) = (
        json_of(&ours["result.json"]),
        json_of(&theirs["result.json"]),
    );
    assert_eq!(ours["categories"], theirs["categories"]);
    assert_eq!(ours["annotations"], theirs["annotations"]);
    for (mine, label_studios) in ours["images"]
        .as_array()
        .unwrap()
        .iter()
        .zip(theirs["images"].as_array().unwrap())
    {
        assert_eq!(
            (&mine["id"], &mine["width"], &mine["height"]),
            (
                &label_studios["id"],
                &label_studios["width"],
                &label_studios["height"]
            )
        );
        // Label Studio names the file relative to a temporary folder of its own
        // (`../../srv/labeling/photos/p0.png`); labelsync by its path under the document root.
        let name = mine["file_name"].as_str().unwrap();
        assert!(
            label_studios["file_name"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{name}")),
            "{name}"
        );
    }
    let info: Vec<&String> = ours["info"].as_object().unwrap().keys().collect();
    assert_eq!(
        info,
        theirs["info"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );

    let theirs = unzip(&std::fs::read(sample_path("export-YOLO.zip")).unwrap());
    let ours = export("exportType=YOLO");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for file in ["classes.txt", "labels/p0.txt", "labels/p1.txt"] {
        assert_eq!(
            String::from_utf8_lossy(&ours[file]),
            String::from_utf8_lossy(&theirs[file]),
            "{file}"
        );
    }
    assert_eq!(
        json_of(&ours["notes.json"])["categories"],
        json_of(&theirs["notes.json"])["categories"]
    );

    // Every task: the unannotated one has an image without size and an empty label file.
    let coco = json_of(&export("exportType=COCO&download_all_tasks=true")["result.json"]);
    assert_eq!(
        coco["images"][2],
        json!({"width": null, "height": null, "id": 2, "file_name": "photos/p2.png"})
    );
    assert_eq!(
        export("exportType=YOLO&download_all_tasks=true")["labels/p2.txt"],
        b""
    );
}

#[test]
fn with_images_copies_the_projects_images_and_lists_what_it_could_not_read() {
    let env = Env::new();
    let p0 = [137, 80, 78, 71, 0, 1, 2, 3];
    env.file("photos/p0.png", &p0);
    let server = env.start();
    let (project, _) = replay(&server);
    // p0 and p1 are inside a Local Files storage of the project (not synced: the replayed
    // tasks stay the only ones); p1 was never written.
    server.local_source(project, &env.root.join("photos"), json!({}));
    for format in ["COCO_WITH_IMAGES", "YOLO_WITH_IMAGES"] {
        let (status, _, body) = download_bytes(
            &server,
            &format!("/api/projects/{project}/export?exportType={format}"),
        );
        assert_eq!(status, 200, "{format}");
        let files = unzip(&body);
        assert_eq!(files["images/p0.png"], p0, "{format}");
        assert!(!files.contains_key("images/p1.png"), "{format}");
        let missing = String::from_utf8_lossy(&files["images-missing.txt"]).into_owned();
        assert!(
            missing.starts_with("/data/local-files/?d=photos/p1.png\t"),
            "{missing}"
        );
        if format == "COCO_WITH_IMAGES" {
            let coco = json_of(&files["result.json"]);
            assert_eq!(coco["images"][0]["file_name"], "images/p0.png");
            assert_eq!(coco["images"][1]["file_name"], "photos/p1.png");
        }
    }
    // A snapshot converts to the zips too.
    let (status, snapshot) = server.post(
        &format!("/api/projects/{project}/exports/"),
        json!({"title": "zips"}),
    );
    assert_eq!(status, 201, "{snapshot}");
    let (status, content_type, body) = download_bytes(
        &server,
        &format!(
            "/api/projects/{project}/exports/{}/download?exportType=YOLO",
            snapshot["id"]
        ),
    );
    assert_eq!((status, content_type.as_str()), (200, "application/zip"));
    assert_eq!(unzip(&body)["labels/p0.txt"], b"0 0.27 0.4 0.3 0.4\n");
}

#[test]
fn polygons_and_keypoints_become_coco_segments_and_yolo_lines_and_other_configs_are_refused() {
    let env = Env::new();
    let server = env.start();
    let config = r#"<View><Image name="img" value="$img"/>
      <PolygonLabels name="poly" toName="img"><Label value="Roof"/></PolygonLabels>
      <KeyPointLabels name="kp" toName="img"><Label value="Nose" model_index="0"/><Label value="Eye" model_index="1"/></KeyPointLabels>
    </View>"#;
    let (_, created) = server.post(
        "/api/projects/",
        json!({"title": "shapes", "label_config": config}),
    );
    let project = created["id"].as_i64().unwrap();
    let result = json!([
        {"from_name": "poly", "to_name": "img", "type": "polygonlabels", "original_width": 200, "original_height": 100,
         "value": {"points": [[10, 10], [60, 10], [60, 50]], "polygonlabels": ["Roof"]}},
        {"from_name": "kp", "to_name": "img", "type": "keypointlabels", "original_width": 200, "original_height": 100,
         "value": {"x": 25, "y": 50, "width": 1, "keypointlabels": ["Eye"]}}]);
    server.post(&format!("/api/projects/{project}/import"),
        json!([{"data": {"img": "s3://bucket/roofs/house.jpg"}, "annotations": [{"result": result}]}]));
    let (_, _, body) = download_bytes(
        &server,
        &format!("/api/projects/{project}/export?exportType=COCO"),
    );
    let coco = json_of(&unzip(&body)["result.json"]);
    assert_eq!(
        coco["images"][0]["file_name"],
        "s3://bucket/roofs/house.jpg"
    );
    let polygon = &coco["annotations"][0];
    assert_eq!(
        polygon["segmentation"],
        json!([[20.0, 10.0, 120.0, 10.0, 120.0, 50.0]])
    );
    assert_eq!(polygon["bbox"], json!([20.0, 10.0, 100.0, 40.0]));
    assert_eq!(polygon["area"], json!(2000.0));
    let keypoints = &coco["annotations"][1];
    assert_eq!(keypoints["keypoints"], json!([0, 0, 0, 50, 50, 2]));
    assert_eq!(keypoints["num_keypoints"], 1);
    let default = coco["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "default")
        .unwrap();
    assert_eq!(default["keypoints"], json!(["Nose", "Eye"]));
    assert_eq!(keypoints["category_id"], default["id"]);

    // YOLO keypoints belong to boxes: without RectangleLabels the format says so.
    let (status, _, body) = download_bytes(
        &server,
        &format!("/api/projects/{project}/export?exportType=YOLO"),
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("add RectangleLabels"));

    let text = r#"<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>"#;
    let (_, created) = server.post(
        "/api/projects/",
        json!({"title": "text", "label_config": text}),
    );
    let (status, _, body) = download_bytes(
        &server,
        &format!("/api/projects/{}/export?exportType=COCO", created["id"]),
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("needs an Image with RectangleLabels"));
}
