//! Export: annotations written as JSON to target storages, and whole projects in Label
//! Studio's export formats ([`project`]).
//!
//! Two ways in. Every annotation change adds entries to the outbox in its own
//! transaction; the [`outbox`] worker drains them (retrying with backoff while a storage
//! is down, and showing the last error on the storage). A manual sync ([`sync_all`]) writes
//! every annotation of the project with bounded concurrency. Both write the same document,
//! built by [`documents`], under the key `<prefix or path>/<annotation id>`.

pub mod media;
pub mod outbox;
pub mod project;
pub mod snapshot;
pub mod vision;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::db::exports::{ExportRows, TaskSelection};
use crate::db::storages::StorageRow;
use crate::db::{Db, DbError};
use crate::label_config;
use crate::progress::{CounterNames, ErrorLines, Progress, Report};
use crate::records;
use crate::storage::{Storage, StorageError};

/// Annotations per page of a manual export sync.
const PAGE: i64 = 500;

/// The `meta` keys an export sync reports its progress under (Label Studio's names).
pub static COUNTERS: CounterNames = CounterNames {
    scanned: "total_annotations",
    created: "annotations_exported",
    existed: None,
    failed: "annotations_failed",
};

/// What a manual export sync did.
#[derive(Debug, Default, Clone)]
pub struct ExportReport {
    pub exported: u64,
    pub errors: ErrorLines,
}

impl Report for ExportReport {
    fn count(&self) -> u64 {
        self.exported
    }

    fn errors(&self) -> &ErrorLines {
        &self.errors
    }

    fn write_meta(&self, meta: &mut Map<String, Value>) {
        if !self.errors.is_empty() {
            meta.insert("annotations_failed".into(), json!(self.errors.total()));
        }
    }
}

/// Why an export sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Db(#[from] DbError),
    /// The server is stopping: the sync ended between two pages (a sync writes every
    /// annotation again, so the next start simply runs it again).
    #[error("the export was stopped by the server stop")]
    Stopped,
}

/// The JSON documents of the given annotations (Label Studio's annotation export format),
/// built from their rows as [`Db::export_rows`] reads them. An annotation whose task is
/// gone has no document.
pub fn documents(rows: &ExportRows) -> Result<Vec<(i64, Bytes)>, DbError> {
    let mut data_keys: HashMap<i64, Option<String>> = HashMap::new();
    let now = Utc::now();
    let mut documents = Vec::with_capacity(rows.annotations.len());
    for annotation in &rows.annotations {
        let Some(task) = rows.tasks.get(&annotation.task_id) else {
            continue;
        };
        // One parse of each project's config, however many of its annotations there are.
        let data_key = data_keys.entry(task.project_id).or_insert_with(|| {
            let config = rows.label_configs.get(&task.project_id);
            label_config::first_data_variable(config.map_or("", String::as_str))
        });
        let data = || records::task_data(&task.data, data_key.as_deref());
        let author = annotation.completed_by.and_then(|id| rows.authors.get(&id));
        let typed = records::ExportedAnnotation::new(annotation, author, task, data(), now);
        // Room for the whole document at once: the fields, indented, take about 1.5 KB.
        let held = annotation.result.len() + task.data.len() + task.meta.len();
        let mut body = Vec::with_capacity(2048 + 2 * held);
        if serde_json::to_writer_pretty(&mut body, &typed).is_err() {
            // Stored text that is not JSON: the tree says what it exports as.
            let task_json = records::storage_task(task, data());
            let document = records::exported_annotation(annotation, author, task_json, now);
            body = serde_json::to_vec_pretty(&document)?;
        }
        documents.push((annotation.id, Bytes::from(body)));
    }
    Ok(documents)
}

/// A task as a target with the task layout holds it, and how many annotations it has;
/// `None` when the task is gone.
pub async fn task_document(
    db: &Db,
    project_id: i64,
    task_id: i64,
) -> Result<Option<(usize, Bytes)>, DbError> {
    let config = db.label_config(project_id).await?.unwrap_or_default();
    let one = TaskSelection {
        all: true,
        ids: Some(vec![task_id]),
    };
    let mut pages = std::pin::pin!(project::task_pages(db.clone(), project_id, &config, one));
    let Some(page) = pages.next().await.transpose()? else {
        return Ok(None);
    };
    let Some((_, document)) = page.stored_tasks().next() else {
        return Ok(None);
    };
    let annotations = document["annotations"].as_array().map_or(0, Vec::len);
    Ok(Some((
        annotations,
        Bytes::from(serde_json::to_vec_pretty(&document)?),
    )))
}

/// Writes every annotation of the storage's project to it, page by page, until done or
/// until `stop` (with the task layout, every annotated task: [`sync_tasks`]).
pub async fn sync_all(
    db: &Db,
    storage: &StorageRow,
    provider: Arc<dyn Storage>,
    progress: Arc<Progress>,
    stop: CancellationToken,
) -> Result<ExportReport, ExportError> {
    let mut report = ExportReport::default();
    let (project_id, storage_id) = (storage.project_id, storage.id);
    if let Err(err) = provider.clean_up().await {
        tracing::warn!(
            storage = storage_id,
            "could not remove leftovers of interrupted writes: {err}"
        );
    }
    if storage.settings.common.task_layout {
        return sync_tasks(db, storage, provider, progress, stop).await;
    }
    // Two pages at a time: the next one is read and rendered (on a blocking thread) while
    // the last one is written, so the database, the JSON and the writes overlap.
    let mut after = 0;
    let mut rendered: Vec<(i64, String, Bytes)> = Vec::new();
    loop {
        if stop.is_cancelled() {
            return Err(ExportError::Stopped);
        }
        let last = std::mem::take(&mut rendered);
        let flush = write_page(
            db,
            storage_id,
            provider.as_ref(),
            last,
            &progress,
            &mut report,
        );
        let (next, flushed) = tokio::join!(rendered_page(db, project_id, after), flush);
        flushed?;
        let Some((last_id, documents)) = next? else {
            break;
        };
        after = last_id;
        progress
            .scanned
            .fetch_add(documents.len() as u64, Ordering::Relaxed);
        rendered = documents;
    }
    Ok(report)
}

/// The annotations after `after` as documents named by their ids, with the last id; `None`
/// when there are no more.
async fn rendered_page(
    db: &Db,
    project_id: i64,
    after: i64,
) -> Result<Option<(i64, Vec<(i64, String, Bytes)>)>, ExportError> {
    let page = db.export_page(project_id, after, PAGE).await?;
    let Some(last_id) = page.last_id else {
        return Ok(None);
    };
    let rows = page.rows;
    let documents = tokio::task::spawn_blocking(move || documents(&rows))
        .await
        .map_err(|err| DbError::Join(err.to_string()))??;
    let named = documents
        .into_iter()
        .map(|(id, body)| (id, id.to_string(), body))
        .collect();
    Ok(Some((last_id, named)))
}

/// Writes a page of documents and records where each went.
async fn write_page(
    db: &Db,
    storage_id: i64,
    provider: &dyn Storage,
    documents: Vec<(i64, String, Bytes)>,
    progress: &Progress,
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    if documents.is_empty() {
        return Ok(());
    }
    let written = write_documents(provider, documents, progress, report).await?;
    db.record_export_links(storage_id, written).await?;
    Ok(())
}

/// The task layout's export sync: every task with an annotation as `<task id>.json`.
async fn sync_tasks(
    db: &Db,
    storage: &StorageRow,
    provider: Arc<dyn Storage>,
    progress: Arc<Progress>,
    stop: CancellationToken,
) -> Result<ExportReport, ExportError> {
    let mut report = ExportReport::default();
    let config = db
        .label_config(storage.project_id)
        .await?
        .unwrap_or_default();
    let annotated = TaskSelection {
        all: false,
        ids: None,
    };
    let mut pages = std::pin::pin!(project::task_pages(
        db.clone(),
        storage.project_id,
        &config,
        annotated
    ));
    while let Some(page) = pages.next().await {
        if stop.is_cancelled() {
            return Err(ExportError::Stopped);
        }
        let page = page?;
        let mut documents = Vec::new();
        let mut annotations: HashMap<i64, Vec<i64>> = HashMap::new();
        for (task_id, document) in page.stored_tasks() {
            let ids = document["annotations"].as_array().into_iter().flatten();
            annotations.insert(task_id, ids.filter_map(|a| a["id"].as_i64()).collect());
            let body = serde_json::to_vec_pretty(&document).map_err(DbError::from)?;
            documents.push((task_id, Bytes::from(body)));
        }
        progress
            .scanned
            .fetch_add(documents.len() as u64, Ordering::Relaxed);
        let keyed = documents
            .into_iter()
            .map(|(id, body)| (id, format!("{id}.json"), body))
            .collect();
        let written = write_documents(provider.as_ref(), keyed, &progress, &mut report).await?;
        let links = written
            .into_iter()
            .flat_map(|(task_id, key)| {
                let ids = annotations.remove(&task_id).unwrap_or_default();
                ids.into_iter().map(move |id| (id, key.clone()))
            })
            .collect();
        db.record_export_links(storage.id, links).await?;
    }
    Ok(report)
}

/// Writes documents (id, object name, body), as the provider writes many at once; returns
/// (id, key) of those written.
async fn write_documents(
    provider: &dyn Storage,
    documents: Vec<(i64, String, Bytes)>,
    progress: &Progress,
    report: &mut ExportReport,
) -> Result<Vec<(i64, String)>, StorageError> {
    let mut keyed = Vec::with_capacity(documents.len());
    let mut objects = Vec::with_capacity(documents.len());
    for (id, name, body) in documents {
        let key = provider.key_for(&name);
        keyed.push((id, key.clone()));
        objects.push((key, body));
    }
    let outcomes = provider.write_many(objects).await;
    let mut written = Vec::with_capacity(outcomes.len());
    for ((id, key), outcome) in keyed.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                progress.created.fetch_add(1, Ordering::Relaxed);
                written.push((id, key));
            }
            Err(err @ StorageError::Unreachable { .. }) => return Err(err),
            Err(err) => {
                progress.failed.fetch_add(1, Ordering::Relaxed);
                report
                    .errors
                    .push(format!("Object {id} could not be written to {key}: {err}"));
            }
        }
    }
    report.exported += written.len() as u64;
    Ok(written)
}
