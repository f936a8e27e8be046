//! COCO and YOLO: a project's boxes, polygons and keypoints as zips, the way Label Studio's
//! converter writes them (checked against what Label Studio 1.23.2 wrote).
//!
//! Tasks come in one at a time in their JSON export shape ([`Zipper::add`]); label files
//! and images go into the zip as they come, and COCO's `result.json` is put together at the
//! end from two scratch files, so a project of any size is never held in memory. Images
//! are referenced by the path a user can find them at (the file under the document root,
//! or the storage URI), and copied into `images/` only for the `*_WITH_IMAGES` formats.
//!
//! Where Label Studio's converter loses work, this one does not: YOLO label files of two
//! images with the same file name in different folders get distinct names (Label Studio
//! writes one over the other), and a keypoint config exports to COCO without boxes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::f64::consts::PI;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use chrono::{Datelike, Utc};
use serde_json::{Value, json};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::label_config::{DetectionConfig, LabelDef};

/// Which converter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vision {
    Coco,
    Yolo,
}

/// Why a config cannot be exported to COCO or YOLO (`None`: it can).
pub fn unavailable(format: Vision, config: &DetectionConfig) -> Option<String> {
    let has = |tag: &str| config.tags.contains(tag);
    let shapes = has("RectangleLabels") || has("PolygonLabels") || has("KeyPointLabels");
    let with_labels = has("Labels") && (has("Rectangle") || has("Polygon") || has("KeyPoint"));
    if config.data_keys > 1 {
        return Some("the labeling config reads more than one data field".into());
    }
    if config.multi_image {
        return Some("the labeling config shows a list of images (valueList)".into());
    }
    if config.image_key.is_none() || !(shapes || with_labels) {
        return Some(
            "the labeling config needs an Image with RectangleLabels, PolygonLabels or KeyPointLabels"
                .into(),
        );
    }
    if format == Vision::Yolo && has("KeyPointLabels") && !has("RectangleLabels") {
        return Some("YOLO keypoints belong to boxes: add RectangleLabels to the config".into());
    }
    None
}

/// A class: its id and name (and, for COCO's keypoint class, the keypoint names).
#[derive(Debug, Clone)]
struct Category {
    id: usize,
    name: String,
    keypoints: Option<Vec<String>>,
}

/// The classes, numbered as Label Studio numbers them: labels with `category="N"` get N,
/// the others the smallest free ids in name order; labels found only in annotations are
/// added at the end.
#[derive(Debug, Clone, Default)]
struct Categories {
    list: Vec<Category>,
    by_name: HashMap<String, usize>,
}

impl Categories {
    fn of(labels: &[&LabelDef]) -> Categories {
        let mut categories = Categories::default();
        for label in labels.iter().filter(|l| l.category.is_some()) {
            categories.push(label.category.unwrap_or_default(), &label.name);
        }
        let rest: BTreeSet<&str> = labels.iter().map(|l| l.name.as_str()).collect();
        let mut next = 0;
        for name in rest {
            if categories.by_name.contains_key(name) {
                continue;
            }
            while categories.list.iter().any(|c| c.id == next) {
                next += 1;
            }
            categories.push(next, name);
        }
        categories
    }

    /// In config order, numbered from 0 (YOLO's pose classes).
    fn in_order(labels: &[&LabelDef]) -> Categories {
        let mut categories = Categories::default();
        for label in labels {
            if !categories.by_name.contains_key(&label.name) {
                categories.push(categories.list.len(), &label.name);
            }
        }
        categories
    }

    fn push(&mut self, id: usize, name: &str) {
        if self.by_name.contains_key(name) {
            return;
        }
        self.by_name.insert(name.to_owned(), id);
        self.list.push(Category {
            id,
            name: name.to_owned(),
            keypoints: None,
        });
    }

    /// The id of `name`, added when the config does not have it.
    fn id(&mut self, name: &str) -> usize {
        if let Some(id) = self.by_name.get(name) {
            return *id;
        }
        let id = self.list.len();
        self.push(id, name);
        id
    }

    fn json(&self) -> Vec<Value> {
        self.list
            .iter()
            .map(|c| match &c.keypoints {
                None => json!({"id": c.id, "name": c.name}),
                Some(points) => json!({"id": c.id, "name": c.name, "supercategory": c.name,
                    "keypoints": points, "skeleton": []}),
            })
            .collect()
    }
}

/// Keypoint slots, by `model_index` when the labels have one, else in config order.
fn keypoint_slots(config: &DetectionConfig) -> Vec<String> {
    let mut points: Vec<&LabelDef> = config
        .labels
        .iter()
        .filter(|l| l.control == "KeyPointLabels")
        .collect();
    points.sort_by_key(|l| l.model_index.unwrap_or(usize::MAX));
    let mut names: Vec<String> = Vec::new();
    for label in points {
        if !names.contains(&label.name) {
            names.push(label.name.clone());
        }
    }
    names
}

/// The classes of a zip, and COCO's keypoint class: YOLO pose numbers the
/// box labels in config order; COCO puts the keypoints in one `default` class after the
/// others; otherwise every label is a class (see [`Categories::of`]).
fn classes(
    format: Vision,
    config: &DetectionConfig,
    slots: &[String],
) -> (Categories, Option<usize>) {
    let labels: Vec<&LabelDef> = config.labels.iter().collect();
    let of_control = |keep: fn(&str) -> bool| -> Vec<&LabelDef> {
        labels
            .iter()
            .copied()
            .filter(|l| keep(&l.control))
            .collect()
    };
    match format {
        Vision::Yolo if !slots.is_empty() => (
            Categories::in_order(&of_control(|c| c == "RectangleLabels")),
            None,
        ),
        _ if !slots.is_empty() => {
            let mut categories = Categories::of(&of_control(|c| c != "KeyPointLabels"));
            let id = categories.list.iter().map(|c| c.id + 1).max().unwrap_or(0);
            categories.list.push(Category {
                id,
                name: "default".into(),
                keypoints: Some(slots.to_vec()),
            });
            (categories, Some(id))
        }
        _ => (Categories::of(&labels), None),
    }
}

/// Writes one zip of COCO or YOLO.
pub struct Zipper {
    format: Vision,
    with_images: bool,
    image_key: String,
    zip: ZipWriter<File>,
    categories: Categories,
    /// COCO's keypoint class, when the config has keypoints.
    keypoint_class: Option<usize>,
    /// The keypoint slots (empty without keypoints): COCO's keypoint annotation and each
    /// YOLO pose box list them in this order.
    slots: Vec<String>,
    /// COCO's `images` and `annotations` so far, as JSON fragments.
    coco: Option<(BufWriter<File>, BufWriter<File>)>,
    counts: (usize, usize),
    /// File names used in the zip (without extension), to keep them distinct.
    used: HashSet<String>,
    missing: Vec<String>,
}

/// What a task's image is, for the zip.
pub struct ImageRef {
    /// As the task has it (`/data/local-files/?d=photos/p0.png`, `s3://bucket/key`).
    pub uri: String,
    /// Where a user finds it (`photos/p0.png`, `s3://bucket/key`).
    pub shown: String,
}

impl Zipper {
    /// A zip written to `out`; COCO's scratch files go in `scratch` (same disk as the data).
    pub fn new(
        format: Vision,
        with_images: bool,
        config: &DetectionConfig,
        out: File,
        scratch: &Path,
    ) -> std::io::Result<Zipper> {
        let slots = keypoint_slots(config);
        let (categories, keypoint_class) = classes(format, config, &slots);
        let coco = match format {
            Vision::Coco => Some((
                BufWriter::new(tempfile::tempfile_in(scratch)?),
                BufWriter::new(tempfile::tempfile_in(scratch)?),
            )),
            Vision::Yolo => None,
        };
        let mut zip = ZipWriter::new(out);
        zip.add_directory("images/", options())?;
        if format == Vision::Yolo {
            zip.add_directory("labels/", options())?;
        }
        Ok(Zipper {
            format,
            with_images,
            image_key: config.image_key.clone().unwrap_or_default(),
            zip,
            categories,
            keypoint_class,
            slots,
            coco,
            counts: (0, 0),
            used: HashSet::new(),
            missing: Vec::new(),
        })
    }

    /// The image of a task, when the zip should hold a copy of it.
    pub fn image_to_copy(&self, task: &Value) -> Option<ImageRef> {
        self.with_images.then(|| self.image_of(task)).flatten()
    }

    fn image_of(&self, task: &Value) -> Option<ImageRef> {
        let uri = task["data"][&self.image_key].as_str()?.to_owned();
        let shown = shown_path(&uri);
        Some(ImageRef { uri, shown })
    }

    /// Notes an image that could not be copied (listed in `images-missing.txt`).
    pub fn missing_image(&mut self, uri: &str, why: &str) {
        self.missing.push(format!("{uri}\t{why}"));
    }

    /// Adds a task; `image` is its copy for the `*_WITH_IMAGES` formats.
    pub fn add(&mut self, task: &Value, image: Option<&[u8]>) -> std::io::Result<()> {
        let reference = self.image_of(task);
        let shown = reference
            .as_ref()
            .map_or_else(String::new, |r| r.shown.clone());
        let stem = self.unique_stem(&shown, task["id"].as_i64().unwrap_or_default());
        let file_name = match image {
            Some(bytes) => {
                let name = format!("images/{stem}{}", extension_of(&shown));
                self.zip.start_file(&name, stored())?;
                self.zip.write_all(bytes)?;
                name
            }
            None => shown,
        };
        let kept = kept_annotations(task);
        match self.format {
            Vision::Coco => self.add_coco(&kept, &file_name),
            Vision::Yolo => self.add_yolo(&kept, &stem),
        }
    }

    /// A file name (without extension) no other image of this zip has.
    fn unique_stem(&mut self, shown: &str, task_id: i64) -> String {
        let base = shown.rsplit('/').next().unwrap_or(shown);
        let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
        let stem: String = stem.chars().take(200).collect();
        let stem = if stem.is_empty() {
            format!("task-{task_id}")
        } else {
            stem
        };
        let chosen = if self.used.contains(&stem) {
            format!("{stem}__task-{task_id}")
        } else {
            stem
        };
        self.used.insert(chosen.clone());
        chosen
    }

    /// COCO: one image entry per annotation (as Label Studio does; one with no size for a
    /// task without annotations), then each shape as an annotation.
    fn add_coco(&mut self, kept: &Kept<'_>, file_name: &str) -> std::io::Result<()> {
        let annotations: Vec<Option<&Value>> = match kept {
            Kept::None => return Ok(()),
            Kept::Unannotated => vec![None],
            Kept::Annotations(list) => list.iter().map(|a| Some(*a)).collect(),
        };
        for annotation in annotations {
            let results = annotation.map_or(&[][..], |a| results_of(a));
            let (width, height) = image_size(results);
            let image_id = self.counts.0;
            self.counts.0 += 1;
            let image =
                json!({"width": width, "height": height, "id": image_id, "file_name": file_name});
            self.coco_fragment(true, &image)?;
            let size = (
                width.as_f64().unwrap_or(0.0),
                height.as_f64().unwrap_or(0.0),
            );
            for result in results {
                if let Some(shape) = self.coco_shape(result, image_id, size) {
                    self.coco_fragment(false, &shape)?;
                }
            }
            if let Some(points) = self.coco_keypoints(results, image_id) {
                self.coco_fragment(false, &points)?;
            }
        }
        Ok(())
    }

    /// Appends an image (`true`) or an annotation to its scratch file, numbering annotations.
    fn coco_fragment(&mut self, image: bool, value: &Value) -> std::io::Result<()> {
        let Some((images, annotations)) = self.coco.as_mut() else {
            return Ok(());
        };
        let (out, first) = if image {
            (images, self.counts.0 == 1)
        } else {
            (annotations, self.counts.1 == 0)
        };
        if !first {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *out, value)?;
        if !image {
            self.counts.1 += 1;
        }
        Ok(())
    }

    /// A box or polygon result as a COCO annotation.
    fn coco_shape(&mut self, result: &Value, image_id: usize, (w, h): (f64, f64)) -> Option<Value> {
        let value = &result["value"];
        let label = first_label(value, &["rectanglelabels", "polygonlabels", "labels"])?;
        let category_id = self.categories.id(label);
        let id = self.counts.1;
        if let Some(points) = value["points"].as_array() {
            let points: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|p| Some((p[0].as_f64()? / 100.0 * w, p[1].as_f64()? / 100.0 * h)))
                .collect();
            let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
            let (min_x, min_y) = (fold(&xs, f64::min), fold(&ys, f64::min));
            let flat: Vec<f64> = points.iter().flat_map(|(x, y)| [*x, *y]).collect();
            return Some(
                json!({"id": id, "image_id": image_id, "category_id": category_id,
                "segmentation": [flat], "bbox": [min_x, min_y, fold(&xs, f64::max) - min_x, fold(&ys, f64::max) - min_y],
                "ignore": 0, "iscrowd": 0, "area": shoelace(&xs, &ys)}),
            );
        }
        let (x, y, bw, bh) = rotated_box(value)?;
        let ow = value_number(result, "original_width").unwrap_or(w);
        let oh = value_number(result, "original_height").unwrap_or(h);
        let bbox = [
            x * ow / 100.0,
            y * oh / 100.0,
            bw * ow / 100.0,
            bh * oh / 100.0,
        ];
        Some(
            json!({"id": id, "image_id": image_id, "category_id": category_id, "segmentation": [],
            "bbox": bbox, "ignore": 0, "iscrowd": 0, "area": bbox[2] * bbox[3]}),
        )
    }

    /// An annotation's keypoints as one COCO keypoint annotation (slots in order, 0,0,0
    /// for a point not placed).
    fn coco_keypoints(&mut self, results: &[Value], image_id: usize) -> Option<Value> {
        let category_id = self.keypoint_class?;
        let mut points = vec![0_i64; self.slots.len() * 3];
        let mut placed = 0;
        for result in results {
            let value = &result["value"];
            let Some(label) = first_label(value, &["keypointlabels"]) else {
                continue;
            };
            let Some(slot) = self.slots.iter().position(|s| s == label) else {
                continue;
            };
            let ow = value_number(result, "original_width").unwrap_or(0.0);
            let oh = value_number(result, "original_height").unwrap_or(0.0);
            let x = (value["x"].as_f64().unwrap_or(0.0) / 100.0 * ow).round_ties_even() as i64;
            let y = (value["y"].as_f64().unwrap_or(0.0) / 100.0 * oh).round_ties_even() as i64;
            points[slot * 3..slot * 3 + 3].copy_from_slice(&[x, y, 2]);
            placed += 1;
        }
        if placed == 0 {
            return None;
        }
        let visible: Vec<(i64, i64)> = points
            .chunks(3)
            .filter(|p| p[2] > 0)
            .map(|p| (p[0], p[1]))
            .collect();
        let (min_x, max_x) = min_max(visible.iter().map(|p| p.0));
        let (min_y, max_y) = min_max(visible.iter().map(|p| p.1));
        let id = self.counts.1;
        Some(
            json!({"id": id, "image_id": image_id, "category_id": category_id, "keypoints": points,
            "num_keypoints": placed, "bbox": [min_x, min_y, max_x - min_x, max_y - min_y], "iscrowd": 0}),
        )
    }

    /// YOLO: the task's label file, from its first (oldest) annotation that was not
    /// skipped; empty for a task without annotations.
    fn add_yolo(&mut self, kept: &Kept<'_>, stem: &str) -> std::io::Result<()> {
        let results = match kept {
            Kept::None => return Ok(()),
            Kept::Unannotated => &[][..],
            Kept::Annotations(list) => list.last().map_or(&[][..], |a| results_of(a)),
        };
        let text = if self.slots.is_empty() {
            self.yolo_lines(results)
        } else {
            self.yolo_pose_lines(results)
        };
        self.zip
            .start_file(format!("labels/{stem}.txt"), options())?;
        self.zip.write_all(text.as_bytes())
    }

    /// `class cx cy w h` per box label, `class x1 y1 x2 y2 ...` per polygon label (0..1).
    fn yolo_lines(&mut self, results: &[Value]) -> String {
        let mut text = String::new();
        for result in results {
            let value = &result["value"];
            for key in ["rectanglelabels", "polygonlabels", "labels"] {
                for label in value[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let class = self.categories.id(label);
                    let numbers = if let Some(points) = value["points"].as_array() {
                        points
                            .iter()
                            .flat_map(|p| [p[0].as_f64(), p[1].as_f64()])
                            .map(|n| n.unwrap_or(0.0) / 100.0)
                            .collect()
                    } else if let (Some(x), Some(y), Some(w), Some(h)) = (
                        value["x"].as_f64(),
                        value["y"].as_f64(),
                        value["width"].as_f64(),
                        value["height"].as_f64(),
                    ) {
                        vec![
                            (x + w / 2.0) / 100.0,
                            (y + h / 2.0) / 100.0,
                            w / 100.0,
                            h / 100.0,
                        ]
                    } else {
                        continue;
                    };
                    text.push_str(&line(class, &numbers));
                }
            }
        }
        text
    }

    /// YOLO pose: per box, `class cx cy w h` and then each keypoint slot of the points
    /// whose `parentID` is the box (`x y 2`, or `0.0 0.0 0` when not placed).
    fn yolo_pose_lines(&mut self, results: &[Value]) -> String {
        let slots = self.slots.clone();
        let mut text = String::new();
        for boxed in results.iter().filter(|r| r["type"] == "rectanglelabels") {
            let value = &boxed["value"];
            let Some(label) = first_label(value, &["rectanglelabels"]) else {
                continue;
            };
            let class = self.categories.id(label);
            let (x, y, w, h) = (
                value["x"].as_f64().unwrap_or(0.0) / 100.0,
                value["y"].as_f64().unwrap_or(0.0) / 100.0,
                value["width"].as_f64().unwrap_or(0.0) / 100.0,
                value["height"].as_f64().unwrap_or(0.0) / 100.0,
            );
            let mut numbers = vec![x + w / 2.0, y + h / 2.0, w, h];
            for slot in &slots {
                let point = results.iter().find(|r| {
                    r["parentID"] == boxed["id"]
                        && first_label(&r["value"], &["keypointlabels"]) == Some(slot.as_str())
                });
                match point {
                    Some(p) => numbers.extend([
                        p["value"]["x"].as_f64().unwrap_or(0.0) / 100.0,
                        p["value"]["y"].as_f64().unwrap_or(0.0) / 100.0,
                        2.0,
                    ]),
                    None => numbers.extend([0.0, 0.0, 0.0]),
                }
            }
            text.push_str(&line(class, &numbers));
        }
        text
    }

    /// Ends the zip: COCO's `result.json`, or YOLO's `classes.txt` and `notes.json`, and
    /// the list of images that could not be copied; returns the file.
    pub fn finish(mut self) -> std::io::Result<File> {
        let year = Utc::now().year();
        let categories = self.categories.json();
        if let Some((images, annotations)) = self.coco.take() {
            self.zip.start_file("result.json", options())?;
            self.zip.write_all(b"{\"images\": [\n")?;
            copy_scratch(images, &mut self.zip)?;
            write!(
                self.zip,
                "\n], \"categories\": {}, \"annotations\": [\n",
                json!(categories)
            )?;
            copy_scratch(annotations, &mut self.zip)?;
            let info = json!({"year": year, "version": "1.0", "description": "", "contributor": "Label Studio",
                "url": "", "date_created": Utc::now().format("%Y-%m-%d %H:%M:%S%.6f").to_string()});
            write!(self.zip, "\n], \"info\": {info}}}")?;
        } else {
            self.zip.start_file("classes.txt", options())?;
            for category in &self.categories.list {
                writeln!(self.zip, "{}", category.name)?;
            }
            self.zip.start_file("notes.json", options())?;
            let notes = json!({"categories": categories,
                "info": {"year": year, "version": "1.0", "contributor": "Label Studio"}});
            self.zip
                .write_all(serde_json::to_string_pretty(&notes)?.as_bytes())?;
        }
        if !self.missing.is_empty() {
            self.zip.start_file("images-missing.txt", options())?;
            for line in &self.missing {
                writeln!(self.zip, "{line}")?;
            }
        }
        let mut file = self.zip.finish()?;
        file.rewind()?;
        Ok(file)
    }
}

/// Writes a zip of `tasks` (in their JSON export shape) to a scratch file and returns it,
/// rewound; with `media`, each task's image is copied in.
pub async fn write<E: std::fmt::Display>(
    format: Vision,
    media: Option<&super::media::MediaReader>,
    config: &DetectionConfig,
    tasks: impl futures_util::Stream<Item = Result<Value, E>>,
    scratch: &Path,
) -> std::io::Result<File> {
    use futures_util::StreamExt;
    std::fs::create_dir_all(scratch)?;
    let mut zipper = Zipper::new(
        format,
        media.is_some(),
        config,
        tempfile::tempfile_in(scratch)?,
        scratch,
    )?;
    let mut tasks = std::pin::pin!(tasks);
    while let Some(task) = tasks.next().await {
        let task = task.map_err(|err| std::io::Error::other(err.to_string()))?;
        let image = match (media, zipper.image_to_copy(&task)) {
            (Some(media), Some(image)) => match media.read(&image.uri).await {
                Ok(bytes) => Some(bytes),
                Err(why) => {
                    zipper.missing_image(&image.uri, &why);
                    None
                }
            },
            _ => None,
        };
        zipper.add(&task, image.as_deref())?;
    }
    zipper.finish()
}

/// Entries are deflated: JSON and label text shrink to a tenth.
fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

/// Images are stored as they are (already compressed), and so are label files, whose
/// few bytes deflate cannot shrink but would cost a compressor each.
fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)
}

fn copy_scratch(scratch: BufWriter<File>, zip: &mut ZipWriter<File>) -> std::io::Result<()> {
    let mut file = scratch.into_inner().map_err(|err| err.into_error())?;
    file.rewind()?;
    std::io::copy(&mut file, zip)?;
    Ok(())
}

/// A task's annotations as the converter takes them.
enum Kept<'a> {
    /// No annotation at all: exported with no shapes (with `download_all_tasks`).
    Unannotated,
    /// Only skipped annotations: nothing is exported.
    None,
    /// Those not skipped, newest first.
    Annotations(Vec<&'a Value>),
}

fn kept_annotations(task: &Value) -> Kept<'_> {
    let all = task["annotations"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if all.is_empty() {
        return Kept::Unannotated;
    }
    let mut kept: Vec<&Value> = all.iter().filter(|a| a["was_cancelled"] != true).collect();
    if kept.is_empty() {
        return Kept::None;
    }
    kept.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
    Kept::Annotations(kept)
}

fn results_of(annotation: &Value) -> &[Value] {
    annotation["result"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
}

/// The image size the annotation's results were drawn on, as they give it (pixels, so
/// integers), or nulls.
fn image_size(results: &[Value]) -> (Value, Value) {
    results
        .iter()
        .find(|r| r["original_width"].is_number() && r["original_height"].is_number())
        .map_or((Value::Null, Value::Null), |r| {
            (r["original_width"].clone(), r["original_height"].clone())
        })
}

fn value_number(result: &Value, key: &str) -> Option<f64> {
    result[key].as_f64()
}

/// The first label under the first of `keys` that has one.
fn first_label<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v str> {
    keys.iter()
        .find_map(|key| value[*key].as_array().filter(|l| !l.is_empty()))
        .and_then(|labels| labels[0].as_str())
}

/// A rectangle in percent, or the box around it when it is rotated.
fn rotated_box(value: &Value) -> Option<(f64, f64, f64, f64)> {
    let (x, y) = (value["x"].as_f64()?, value["y"].as_f64()?);
    let (w, h) = (value["width"].as_f64()?, value["height"].as_f64()?);
    let rotation = value["rotation"].as_f64().unwrap_or(0.0);
    if rotation.abs() == 0.0 {
        return Some((x, y, w, h));
    }
    let alpha = (h / w).atan();
    let beta = PI * rotation / 180.0;
    let radius = ((w / 2.0).powi(2) + (h / 2.0).powi(2)).sqrt();
    let x0 = x - radius * ((PI - alpha - beta).cos() - (PI - alpha).cos()) + w / 2.0;
    let y0 = y + radius * ((PI - alpha - beta).sin() - (PI - alpha).sin()) + h / 2.0;
    let corners: Vec<(f64, f64)> = [
        alpha + beta,
        PI - alpha + beta,
        PI + alpha + beta,
        2.0 * PI - alpha + beta,
    ]
    .iter()
    .map(|t| (x0 + radius * t.cos(), y0 + radius * t.sin()))
    .collect();
    let xs: Vec<f64> = corners.iter().map(|c| c.0).collect();
    let ys: Vec<f64> = corners.iter().map(|c| c.1).collect();
    let (min_x, min_y) = (fold(&xs, f64::min), fold(&ys, f64::min));
    Some((
        min_x,
        min_y,
        fold(&xs, f64::max) - min_x,
        fold(&ys, f64::max) - min_y,
    ))
}

fn fold(values: &[f64], pick: fn(f64, f64) -> f64) -> f64 {
    values.iter().copied().reduce(pick).unwrap_or(0.0)
}

fn min_max(values: impl Iterator<Item = i64>) -> (i64, i64) {
    values
        .fold(None, |range: Option<(i64, i64)>, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0, 0))
}

/// A polygon's area (the shoelace formula).
fn shoelace(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len();
    let twice: f64 = (0..n)
        .map(|i| xs[i] * ys[(i + n - 1) % n] - ys[i] * xs[(i + n - 1) % n])
        .sum();
    0.5 * twice.abs()
}

/// One YOLO line: the class and the numbers in Python's shortest form (`0.27`, `1.0`).
fn line(class: usize, numbers: &[f64]) -> String {
    let mut text = class.to_string();
    for n in numbers {
        text.push(' ');
        text.push_str(&format!("{n:?}"));
    }
    text.push('\n');
    text
}

/// Where a user finds an image: the path under the document root for a local file, the
/// URI itself otherwise.
pub fn shown_path(uri: &str) -> String {
    crate::local_files::path_of_uri(uri)
        .unwrap_or_else(|| uri.split('?').next().unwrap_or(uri).to_owned())
}

fn extension_of(shown: &str) -> String {
    let base = shown.rsplit('/').next().unwrap_or(shown);
    base.rsplit_once('.')
        .map_or(String::new(), |(_, ext)| format!(".{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolo_numbers_read_as_python_writes_them() {
        assert_eq!(
            line(0, &[(12.0 + 15.0) / 100.0, 0.4, 0.3, 0.4]),
            "0 0.27 0.4 0.3 0.4\n"
        );
        assert_eq!(line(2, &[1.0]), "2 1.0\n");
    }

    #[test]
    fn categories_take_the_category_attribute_then_free_ids_in_name_order() {
        let label = |name: &str, category: Option<usize>| LabelDef {
            control: "RectangleLabels".into(),
            name: name.into(),
            category,
            model_index: None,
        };
        let labels = [
            label("Dog", None),
            label("cat", Some(1)),
            label("Ant", None),
        ];
        let refs: Vec<&LabelDef> = labels.iter().collect();
        let mut categories = Categories::of(&refs);
        let named: Vec<(usize, &str)> = categories
            .list
            .iter()
            .map(|c| (c.id, c.name.as_str()))
            .collect();
        assert_eq!(named, [(1, "cat"), (0, "Ant"), (2, "Dog")]);
        assert_eq!(categories.id("Bird"), 3);
    }

    #[test]
    fn a_rotated_box_becomes_the_box_around_it() {
        let (x, y, w, h) = rotated_box(
            &json!({"x": 10.0, "y": 10.0, "width": 20.0, "height": 10.0, "rotation": 90.0}),
        )
        .unwrap();
        assert!(
            (w - 10.0).abs() < 1e-9 && (h - 20.0).abs() < 1e-9,
            "{w} {h}"
        );
        assert!((x - 0.0).abs() < 1e-9 && (y - 10.0).abs() < 1e-9, "{x} {y}");
    }

    #[test]
    fn local_files_are_shown_by_their_path_under_the_document_root() {
        assert_eq!(
            shown_path("/data/local-files/?d=photos/p%200.png"),
            "photos/p 0.png"
        );
        assert_eq!(shown_path("s3://bucket/a/b.jpg"), "s3://bucket/a/b.jpg");
    }
}
