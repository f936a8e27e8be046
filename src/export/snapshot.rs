//! Export snapshots (Label Studio's `/api/projects/<id>/exports/`): a project's tasks frozen
//! in a JSON file under the data directory, `exports/<id>.json`, written a page at a time
//! with one task per line inside the array, so it can be read back a line at a time too:
//! each download in another format is converted from it once and kept beside it.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::project::{ExportType, Renderer};
use crate::db::exports::{ExportColumns, TaskSelection};
use crate::db::{Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("the snapshot file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the snapshot file is not what labelsync wrote: {0}")]
    Json(#[from] serde_json::Error),
}

/// Where a snapshot's JSON lives.
pub fn file_of(data_dir: &Path, id: i64) -> PathBuf {
    data_dir.join("exports").join(format!("{id}.json"))
}

/// Where its conversion to `kind` lives.
pub fn converted_file_of(data_dir: &Path, id: i64, kind: ExportType) -> PathBuf {
    data_dir.join("exports").join(format!(
        "{id}.{}.{}",
        kind.name().to_lowercase(),
        kind.extension()
    ))
}

/// Writes every task of a project to `path` as Label Studio's snapshot has them (drafts and
/// predictions by id); returns the file's MD5 (hex) and the task count.
pub async fn write(
    db: &Db,
    project_id: i64,
    label_config: &str,
    path: &Path,
) -> Result<(String, i64), SnapshotError> {
    let partial = path.with_extension("json.part");
    let written = write_to(db, project_id, label_config, &partial).await;
    match written {
        Ok(outcome) => {
            tokio::fs::rename(&partial, path).await?;
            Ok(outcome)
        }
        Err(err) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(err)
        }
    }
}

/// Every file of a snapshot: its JSON and its conversions.
pub fn files_of(data_dir: &Path, id: i64) -> Vec<PathBuf> {
    let mut files = vec![file_of(data_dir, id)];
    for (kind, _) in ExportType::ALL
        .into_iter()
        .filter(|(k, _)| *k != ExportType::Json)
    {
        files.push(converted_file_of(data_dir, id, kind));
    }
    files
}

/// Removes a snapshot's files (those that are there).
pub async fn remove_files(data_dir: &Path, id: i64) {
    for file in files_of(data_dir, id) {
        let _ = tokio::fs::remove_file(file).await;
    }
}

/// After a start: snapshots a stopped server was writing are `failed`, and files no
/// snapshot owns (half-written ones, those of deleted projects) are removed.
pub async fn recover(db: &Db, data_dir: &Path) -> Result<(), DbError> {
    let known = db.fail_unfinished_snapshots().await?;
    let kept: Vec<PathBuf> = known
        .iter()
        .flat_map(|id| files_of(data_dir, *id))
        .collect();
    let Ok(mut entries) = tokio::fs::read_dir(data_dir.join("exports")).await else {
        return Ok(());
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if !kept.contains(&entry.path()) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
    Ok(())
}

/// Writes the snapshot's tasks to `partial`; returns the MD5 and the task count.
async fn write_to(
    db: &Db,
    project_id: i64,
    label_config: &str,
    partial: &Path,
) -> Result<(String, i64), SnapshotError> {
    if let Some(dir) = partial.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(partial).await?);
    let mut md5 = Md5::new();
    let mut put = async |bytes: &[u8], file: &mut tokio::io::BufWriter<tokio::fs::File>| {
        md5.update(bytes);
        file.write_all(bytes).await
    };
    let every_task = TaskSelection {
        all: true,
        ids: None,
    };
    let mut pages = std::pin::pin!(super::project::task_pages(
        db.clone(),
        project_id,
        label_config,
        every_task
    ));
    let mut count = 0_i64;
    put(b"[", &mut file).await?;
    while let Some(page) = pages.next().await {
        for mut task in page?.tasks() {
            // A snapshot names drafts by id, as Label Studio's do.
            let drafts: Vec<Value> = task["drafts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d["id"].clone())
                .collect();
            task["drafts"] = json!(drafts);
            let separator: &[u8] = if count == 0 { b"\n" } else { b",\n" };
            put(separator, &mut file).await?;
            put(&serde_json::to_vec(&task)?, &mut file).await?;
            count += 1;
        }
    }
    put(b"\n]\n", &mut file).await?;
    file.flush().await?;
    drop(file);
    let digest = md5.finalize();
    Ok((digest.iter().map(|b| format!("{b:02x}")).collect(), count))
}

/// The tasks of a snapshot file, one per line.
fn tasks_of(
    path: &Path,
) -> Result<impl Iterator<Item = Result<Value, SnapshotError>>, SnapshotError> {
    let lines = BufReader::new(std::fs::File::open(path)?).lines();
    Ok(lines.filter_map(|line| {
        let line = match line {
            Ok(line) => line,
            Err(err) => return Some(Err(err.into())),
        };
        let task = line.trim().trim_end_matches(',');
        (task.starts_with('{')).then(|| serde_json::from_str(task).map_err(SnapshotError::from))
    }))
}

/// A table's columns, read from the snapshot's tasks.
fn columns_of(path: &Path) -> Result<ExportColumns, SnapshotError> {
    let mut columns = ExportColumns::default();
    for task in tasks_of(path)? {
        let task = task?;
        for key in task["data"].as_object().into_iter().flat_map(|d| d.keys()) {
            if !columns.data_keys.contains(key) {
                columns.data_keys.push(key.clone());
            }
        }
        let kept = task["annotations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["was_cancelled"] != json!(true));
        for annotation in kept {
            for result in annotation["result"].as_array().into_iter().flatten() {
                if let Some(name) = result["from_name"]
                    .as_str()
                    .filter(|n| !columns.from_names.iter().any(|k| k == n))
                {
                    columns.from_names.push(name.to_owned());
                }
            }
        }
    }
    Ok(columns)
}

/// Converts a snapshot file to `kind` at `target` (blocking: run it off the async threads).
pub fn convert(
    source: &Path,
    label_config: &str,
    kind: ExportType,
    target: &Path,
) -> Result<(), SnapshotError> {
    let columns = if kind.is_table() {
        Some(columns_of(source)?)
    } else {
        None
    };
    let mut renderer = Renderer::new(kind, label_config, columns.as_ref());
    // A file of its own beside the target, gone if anything fails, renamed when whole.
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut out = BufWriter::new(tempfile::NamedTempFile::new_in(dir)?);
    out.write_all(&renderer.head())?;
    for task in tasks_of(source)? {
        out.write_all(&renderer.task(&task?)?)?;
    }
    out.write_all(&renderer.tail())?;
    let file = out.into_inner().map_err(|err| err.into_error())?;
    file.as_file().sync_all()?;
    file.persist(target).map_err(|err| err.error)?;
    Ok(())
}

/// Converts a snapshot file to COCO or YOLO at `target` (with `media`, the images copied
/// in).
pub async fn convert_zip(
    source: &Path,
    label_config: &str,
    vision: super::vision::Vision,
    media: Option<&super::media::MediaReader>,
    target: &Path,
) -> Result<(), SnapshotError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let tasks = futures_util::stream::iter(tasks_of(source)?);
    let detection = crate::label_config::detection(label_config);
    let mut zip = super::vision::write(vision, media, &detection, tasks, dir).await?;
    let mut out = tempfile::NamedTempFile::new_in(dir)?;
    std::io::copy(&mut zip, &mut out)?;
    out.as_file().sync_all()?;
    out.persist(target).map_err(|err| err.error)?;
    Ok(())
}
