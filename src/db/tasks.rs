//! Tasks, their import links, and the batched insert the sync engine and the import API use.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rusqlite::types::Null;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::DbError;
pub use super::predictions::NewPrediction;
use super::webhooks::Action;

/// A task row, with the key of the object it was imported from (if any).
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub project_id: i64,
    /// Task data as stored (JSON text; blob tasks use the `$undefined$` key).
    pub data: String,
    pub meta: String,
    pub inner_id: i64,
    pub overlap: i64,
    pub is_labeled: bool,
    pub allow_skip: bool,
    pub total_annotations: i64,
    pub cancelled_annotations: i64,
    pub total_predictions: i64,
    /// When the task got its last needed annotation; `None` until it is labeled.
    pub completed_at: Option<String>,
    /// The mean score of its predictions.
    pub predictions_score: Option<f64>,
    pub updated_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub storage_filename: Option<String>,
}

/// Per-task annotation facts shown in task lists (ids and annotators).
#[derive(Debug, Clone, Default)]
pub struct AnnotationSummary {
    pub annotation_ids: Vec<i64>,
    pub annotators: Vec<i64>,
}

/// What tasks carry in their full shape (`fields=all`), loaded for a page of tasks at once.
#[derive(Debug, Default)]
pub struct TaskParts {
    pub annotations: HashMap<i64, Vec<super::annotations::AnnotationRow>>,
    pub predictions: HashMap<i64, Vec<super::predictions::PredictionRow>>,
    /// The requesting user's drafts.
    pub drafts: HashMap<i64, Vec<super::drafts::DraftRow>>,
    /// Authors of those annotations and drafts.
    pub users: HashMap<i64, super::users::User>,
}

/// The annotations, predictions and drafts (`user_id`'s, or everyone's) of the given
/// tasks, with their authors: one query per table, whatever the number of tasks.
pub(super) fn parts_of(
    conn: &Connection,
    task_ids: &[i64],
    user_id: Option<i64>,
) -> Result<TaskParts, DbError> {
    let annotations = super::annotations::of_tasks(conn, task_ids)?;
    let drafts = super::drafts::of_tasks_by(conn, task_ids, user_id)?;
    let author_ids: Vec<i64> = annotations
        .values()
        .flatten()
        .filter_map(|a| a.completed_by)
        .chain(drafts.values().flatten().map(|d| d.user_id))
        .collect();
    let users = super::users::by_ids(conn, &author_ids)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(TaskParts {
        annotations,
        predictions: super::predictions::of_tasks(conn, task_ids)?,
        drafts,
        users,
    })
}

/// A task to create, with what it came with.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Task data as JSON text.
    pub data: String,
    pub meta: String,
    pub allow_skip: bool,
    pub annotations: Vec<NewAnnotation>,
    pub predictions: Vec<NewPrediction>,
    /// The object this task comes from.
    pub link: Option<Link>,
}

/// The object a task comes from: its storage, its key, the task's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub storage_id: i64,
    pub key: String,
    /// The task's row in a task file, -1 for an object that is one task.
    pub row_index: i64,
    /// What the object looked like when it was read (see `db::objects`), where the
    /// storage tells it.
    pub fingerprint: Option<String>,
}

impl Link {
    /// A link to a whole object.
    pub fn to(storage_id: i64, key: String, fingerprint: Option<String>) -> Link {
        Link {
            storage_id,
            key,
            row_index: -1,
            fingerprint,
        }
    }
}

/// An annotation imported together with its task.
#[derive(Debug, Clone)]
pub struct NewAnnotation {
    pub result: String,
    pub completed_by: i64,
    pub was_cancelled: bool,
    pub ground_truth: bool,
    pub lead_time: Option<f64>,
}

/// What a batched insert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub created: u64,
    /// Tasks not created because their (storage, key, row) link already existed.
    pub already_linked: u64,
    pub annotations: u64,
    pub predictions: u64,
    /// The id the first created task got (the others follow it, gaps aside).
    pub first_id: i64,
    /// The storage's `links_version` after the insert, when it linked tasks to one storage
    /// (a sync that sees it move by exactly one per insert knows it alone changed them).
    pub links_version: Option<i64>,
}

impl std::ops::AddAssign for InsertOutcome {
    fn add_assign(&mut self, other: InsertOutcome) {
        self.created += other.created;
        self.already_linked += other.already_linked;
        self.annotations += other.annotations;
        self.predictions += other.predictions;
        if self.first_id == 0 {
            self.first_id = other.first_id;
        }
        self.links_version = other.links_version.or(self.links_version);
    }
}

const COLUMNS: &str = "t.id, t.project_id, t.data, t.meta, t.inner_id, t.overlap, t.is_labeled,
    t.allow_skip, t.total_annotations, t.cancelled_annotations, t.total_predictions,
    t.updated_by, t.created_at, t.updated_at, t.link_key, t.completed_at, t.predictions_score";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: row.get(0)?,
        project_id: row.get(1)?,
        data: row.get(2)?,
        meta: row.get(3)?,
        inner_id: row.get(4)?,
        overlap: row.get(5)?,
        is_labeled: row.get(6)?,
        allow_skip: row.get(7)?,
        total_annotations: row.get(8)?,
        cancelled_annotations: row.get(9)?,
        total_predictions: row.get(10)?,
        updated_by: row.get(11)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
        storage_filename: row.get(14)?,
        completed_at: row.get(15)?,
        predictions_score: row.get(16)?,
    })
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<TaskRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tasks t WHERE t.id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// Annotation ids and annotators of the given tasks, in one query.
pub(super) fn annotation_summaries(
    conn: &Connection,
    task_ids: &[i64],
) -> Result<HashMap<i64, AnnotationSummary>, DbError> {
    let ids = serde_json::to_string(task_ids)?;
    let mut stmt = conn.prepare_cached(
        "SELECT task_id, id, completed_by FROM annotations
         WHERE task_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let mut summaries: HashMap<i64, AnnotationSummary> = HashMap::new();
    let mut rows = stmt.query([ids])?;
    while let Some(row) = rows.next()? {
        let entry = summaries.entry(row.get(0)?).or_default();
        entry.annotation_ids.push(row.get(1)?);
        if let Some(user) = row.get::<_, Option<i64>>(2)?
            && !entry.annotators.contains(&user)
        {
            entry.annotators.push(user);
        }
    }
    Ok(summaries)
}

/// The first task of a project after `after` that nobody has annotated or skipped yet,
/// wrapping round to the start so that a task passed over earlier comes back. Each half
/// walks the (project_id, id) index from one end: no sort of the whole project.
pub(super) fn next_unlabeled(
    conn: &Connection,
    project_id: i64,
    after: i64,
) -> Result<Option<i64>, DbError> {
    Ok(conn
        .query_row(
            "SELECT id FROM (SELECT id FROM tasks WHERE project_id = ?1 AND id > ?2
                               AND total_annotations = 0 AND cancelled_annotations = 0
                             ORDER BY id LIMIT 1)
             UNION ALL
             SELECT id FROM (SELECT id FROM tasks WHERE project_id = ?1 AND id <= ?2
                               AND total_annotations = 0 AND cancelled_annotations = 0
                             ORDER BY id LIMIT 1)
             LIMIT 1",
            [project_id, after],
            |r| r.get(0),
        )
        .optional()?)
}

/// Deletes tasks of a project; their links, annotations, predictions and drafts go with
/// them, and the removal of their annotations' exported objects is queued in the same
/// transaction (where a target storage allows deleting). Returns how many went.
pub(super) fn delete_many(
    conn: &Connection,
    project_id: i64,
    ids: &[i64],
    now: &str,
) -> Result<u64, DbError> {
    let ids = serde_json::to_string(ids)?;
    super::outbox::queue_deletes_of_tasks(conn, project_id, &ids, now)?;
    let gone: Vec<i64> = conn
        .prepare_cached(
            "DELETE FROM tasks WHERE project_id = ?1 AND id IN (SELECT value FROM json_each(?2))
             RETURNING id",
        )?
        .query_map(params![project_id, ids], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !gone.is_empty() {
        let refs = serde_json::json!({ "tasks": gone });
        super::webhooks::emit(conn, Some(project_id), Action::TasksDeleted, &refs, now)?;
    }
    Ok(gone.len() as u64)
}

/// Replaces a task's data and/or meta.
pub(super) fn update(
    conn: &Connection,
    id: i64,
    data: Option<&str>,
    meta: Option<&str>,
    now: &str,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE tasks SET data = COALESCE(?2, data), meta = COALESCE(?3, meta), updated_at = ?4
         WHERE id = ?1",
        params![id, data, meta, now],
    )?;
    Ok(())
}

/// Recomputes a task's annotation counters (and whether and when it was completed) after
/// its annotations changed.
pub(super) fn refresh_counters(
    conn: &Connection,
    task_id: i64,
    user_id: Option<i64>,
    now: &str,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "UPDATE tasks SET
            total_annotations = done.n,
            cancelled_annotations = done.cancelled,
            is_labeled = done.n >= overlap,
            completed_at = CASE WHEN done.n >= overlap THEN
                (SELECT created_at FROM annotations WHERE task_id = ?1 ORDER BY id DESC LIMIT 1) END,
            annotators = (SELECT char(31) || group_concat(v, char(31)) || char(31)
                          FROM (SELECT DISTINCT completed_by AS v FROM annotations WHERE task_id = ?1 ORDER BY v)),
            updated_by = COALESCE(?2, updated_by),
            updated_at = ?3
         FROM (SELECT COALESCE(SUM(was_cancelled = 0), 0) AS n,
                      COALESCE(SUM(was_cancelled = 1), 0) AS cancelled
               FROM annotations WHERE task_id = ?1) AS done
         WHERE id = ?1",
    )?
    .execute(params![task_id, user_id, now])?;
    Ok(())
}

/// The mean score of a task's predictions: of the project's model version when the project
/// names one, else of all of them. `{task}` is the SQL naming the task's row.
const SCORE_OF_TASK: &str = "(SELECT AVG(p.score) FROM predictions p, projects j
      WHERE p.task_id = {task}.id AND j.id = {task}.project_id
        AND COALESCE(json_extract(j.options, '$.model_version'), '') IN ('', p.model_version))";

/// Recomputes a task's prediction count and score after its predictions changed.
pub(super) fn refresh_prediction_counters(conn: &Connection, task_id: i64) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE tasks SET
            total_predictions = (SELECT COUNT(*) FROM predictions WHERE task_id = tasks.id),
            predictions_score = {},
            model_versions = (SELECT char(31) || group_concat(v, char(31)) || char(31)
                              FROM (SELECT DISTINCT model_version AS v FROM predictions WHERE task_id = tasks.id ORDER BY v))
         WHERE id = ?1",
        SCORE_OF_TASK.replace("{task}", "tasks")
    );
    conn.prepare_cached(&sql)?.execute([task_id])?;
    Ok(())
}

/// Recomputes the prediction scores of a whole project (its model version changed).
pub(super) fn refresh_prediction_scores(conn: &Connection, project_id: i64) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE tasks SET predictions_score = {} WHERE project_id = ?1 AND total_predictions > 0",
        SCORE_OF_TASK.replace("{task}", "tasks")
    );
    conn.execute(&sql, [project_id])?;
    Ok(())
}

/// Keys of the storage's task files whose import is under way or was cut short.
pub(super) fn partial_task_files(
    conn: &Connection,
    storage_id: i64,
) -> Result<Vec<String>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT key FROM partial_task_files WHERE storage_id = ?1")?;
    let rows = stmt.query_map([storage_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks (`true`) or unmarks a task file as partly imported.
pub(super) fn mark_partial(
    conn: &Connection,
    storage_id: i64,
    key: &str,
    partial: bool,
) -> Result<(), DbError> {
    if partial {
        conn.execute(
            "INSERT OR IGNORE INTO partial_task_files (storage_id, key) VALUES (?1, ?2)",
            params![storage_id, key],
        )?;
    } else {
        conn.execute(
            "DELETE FROM partial_task_files WHERE storage_id = ?1 AND key = ?2",
            params![storage_id, key],
        )?;
    }
    Ok(())
}

/// Rows per multi-row INSERT statement: one statement per 64 rows instead of per row.
const ROWS_PER_INSERT: usize = 64;

/// A multi-row INSERT's text for each number of rows up to [`ROWS_PER_INSERT`], built once:
/// formatting it for every chunk cost a tenth of a large sync.
struct MultiRow(Vec<String>);

impl MultiRow {
    fn new(head: &str, tail: &str, row: fn(usize) -> String) -> MultiRow {
        MultiRow(
            (0..=ROWS_PER_INSERT)
                .map(|n| {
                    let rows: Vec<String> = (0..n).map(row).collect();
                    format!("{head} {}{tail}", rows.join(", "))
                })
                .collect(),
        )
    }

    fn rows(&self, n: usize) -> &str {
        &self.0[n]
    }
}

/// Inserts tasks (with links, annotations and predictions) in the caller's transaction.
///
/// Task ids are assigned here (the transaction holds the write lock), so tasks go in with
/// their links as multi-row INSERTs. A task whose link already exists is not kept: the
/// unique link key is the last word on duplicates, whatever raced with this insert.
pub(super) fn insert_batch(
    tx: &Transaction<'_>,
    project_id: i64,
    tasks: &[NewTask],
    now: &str,
) -> Result<InsertOutcome, DbError> {
    if tasks.is_empty() {
        return Ok(InsertOutcome::default());
    }
    let (first_id, dropped) = insert_tasks(tx, project_id, tasks, now)?;
    let already_linked = dropped.len() as u64;
    let mut outcome = InsertOutcome {
        created: tasks.len() as u64 - already_linked,
        already_linked,
        first_id,
        links_version: links_changed(tx, tasks)?,
        ..InsertOutcome::default()
    };
    let mut annotation_ids = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let task_id = first_id + i as i64;
        if dropped.contains(&task_id)
            || (task.annotations.is_empty() && task.predictions.is_empty())
        {
            continue;
        }
        let inserted = insert_annotations(tx, project_id, task_id, &task.annotations, now)?;
        outcome.annotations += inserted.len() as u64;
        annotation_ids.extend(inserted);
        outcome.predictions += insert_predictions(tx, project_id, task_id, &task.predictions, now)?;
        refresh_counters(tx, task_id, None, now)?;
        refresh_prediction_counters(tx, task_id)?;
    }
    if let Some(version) = last_model_version(tasks, first_id, &dropped) {
        super::projects::adopt_model_version(tx, project_id, version)?;
    }
    emit_created(
        tx,
        project_id,
        first_id..first_id + tasks.len() as i64,
        &dropped,
        &annotation_ids,
        now,
    )?;
    Ok(outcome)
}

/// Tells webhooks about a batch's tasks (one event per batch, not per task) and the
/// annotations that came with them.
fn emit_created(
    tx: &Transaction<'_>,
    project_id: i64,
    ids: std::ops::Range<i64>,
    dropped: &HashSet<i64>,
    annotation_ids: &[i64],
    now: &str,
) -> Result<(), DbError> {
    let task_ids: Vec<i64> = ids.filter(|id| !dropped.contains(id)).collect();
    if !task_ids.is_empty() {
        let refs = serde_json::json!({ "tasks": task_ids });
        super::webhooks::emit(tx, Some(project_id), Action::TasksCreated, &refs, now)?;
    }
    if !annotation_ids.is_empty() {
        let refs = serde_json::json!({ "annotations": annotation_ids });
        super::webhooks::emit(tx, Some(project_id), Action::AnnotationsCreated, &refs, now)?;
    }
    Ok(())
}

/// The model version of the last prediction among the tasks kept (the project adopts it
/// when it names none).
fn last_model_version<'a>(
    tasks: &'a [NewTask],
    first_id: i64,
    dropped: &HashSet<i64>,
) -> Option<&'a str> {
    tasks
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, _)| !dropped.contains(&(first_id + *i as i64)))
        .find_map(|(_, task)| task.predictions.last())
        .map(|prediction| prediction.model_version.as_str())
}

/// Inserts the task rows with consecutive ids and inner ids, each with its link; returns
/// the first id and the ids of the tasks not inserted because their link existed already
/// (the unique link key skips them: the last word on duplicates, whatever raced with this
/// insert).
fn insert_tasks(
    tx: &Transaction<'_>,
    project_id: i64,
    tasks: &[NewTask],
    now: &str,
) -> Result<(i64, HashSet<i64>), DbError> {
    let overlap: i64 = tx.query_row(
        "SELECT maximum_annotations FROM projects WHERE id = ?1",
        [project_id],
        |r| r.get(0),
    )?;
    let first_id = next_task_id(tx)?;
    let first_inner_id = super::projects::reserve_inner_ids(tx, project_id, tasks.len() as i64)?;
    let mut inserted = 0;
    for (chunk_index, chunk) in tasks.chunks(ROWS_PER_INSERT).enumerate() {
        let offset = (chunk_index * ROWS_PER_INSERT) as i64;
        inserted += insert_task_rows(
            tx,
            chunk,
            [first_id + offset, first_inner_id + offset],
            project_id,
            overlap,
            now,
        )?;
    }
    if inserted == tasks.len() {
        return Ok((first_id, HashSet::new()));
    }
    let skipped = skipped_ids(tx, first_id..first_id + tasks.len() as i64)?;
    tx.execute(
        "UPDATE projects SET task_count = task_count - ?2 WHERE id = ?1",
        params![project_id, skipped.len() as i64],
    )?;
    Ok((first_id, skipped))
}

/// The ids in `ids` that no task has: the tasks an insert skipped.
fn skipped_ids(tx: &Transaction<'_>, ids: std::ops::Range<i64>) -> Result<HashSet<i64>, DbError> {
    let mut stmt = tx.prepare_cached("SELECT id FROM tasks WHERE id >= ?1 AND id < ?2")?;
    let present: HashSet<i64> = stmt
        .query_map([ids.start, ids.end], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids.filter(|id| !present.contains(id)).collect())
}

/// Moves the `links_version` of the storages the tasks are linked to (once per batch: the
/// link digests' triggers see deletes and updates only); returns it when there is one.
fn links_changed(tx: &Transaction<'_>, tasks: &[NewTask]) -> Result<Option<i64>, DbError> {
    let mut storages: Vec<i64> = tasks
        .iter()
        .filter_map(|task| task.link.as_ref().map(|link| link.storage_id))
        .collect();
    storages.sort_unstable();
    storages.dedup();
    let mut stmt = tx.prepare_cached(
        "UPDATE storages SET links_version = links_version + 1 WHERE id = ?1
         RETURNING links_version",
    )?;
    let mut version = None;
    for storage in &storages {
        version = stmt.query_row([storage], |r| r.get(0)).optional()?;
    }
    Ok(version.filter(|_| storages.len() == 1))
}

/// Stores a new task's predictions (its counters are refreshed by the caller); returns
/// how many.
fn insert_predictions(
    tx: &Transaction<'_>,
    project_id: i64,
    task_id: i64,
    predictions: &[NewPrediction],
    now: &str,
) -> Result<u64, DbError> {
    for prediction in predictions {
        super::predictions::insert(tx, project_id, task_id, prediction, now)?;
    }
    Ok(predictions.len() as u64)
}

/// The id the next task gets. Ids are never used twice: the table's AUTOINCREMENT sequence
/// remembers the highest id ever given, even when that task was deleted since.
fn next_task_id(tx: &Transaction<'_>) -> Result<i64, DbError> {
    Ok(tx.query_row(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0),
                    COALESCE((SELECT MAX(id) FROM tasks), 0)) + 1",
        [],
        |r| r.get(0),
    )?)
}

/// Ids of the tasks an [`insert_batch`] created, in order.
pub(super) fn created_ids(
    conn: &Connection,
    project_id: i64,
    outcome: &InsertOutcome,
) -> Result<Vec<i64>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tasks WHERE project_id = ?1 AND id >= ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![project_id, outcome.first_id, outcome.created as i64],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One multi-row INSERT of tasks with consecutive ids and inner ids from `first`, each with
/// its link; returns how many went in (a task whose link exists already does not).
fn insert_task_rows(
    tx: &Transaction<'_>,
    chunk: &[NewTask],
    [first_id, first_inner_id]: [i64; 2],
    project_id: i64,
    overlap: i64,
    now: &str,
) -> Result<usize, DbError> {
    // ?1..?5 are shared by every row; each row adds data, meta, allow_skip and its link.
    static SQL: LazyLock<MultiRow> = LazyLock::new(|| {
        MultiRow::new(
            "INSERT INTO tasks (id, project_id, data, meta, inner_id, overlap, allow_skip,
                created_at, updated_at, link_storage_id, link_key, link_row_index,
                link_fingerprint) VALUES",
            // Only a link that exists already skips its task: any other conflict is an error.
            " ON CONFLICT (link_storage_id, link_key, link_row_index)
                WHERE link_storage_id IS NOT NULL DO NOTHING",
            |i| {
                let p = 6 + 7 * i;
                format!(
                    "(?1 + {i}, ?2, ?{p}, ?{}, ?3 + {i}, ?4, ?{}, ?5, ?5, ?{}, ?{}, ?{}, ?{})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            },
        )
    });
    let sql = SQL.rows(chunk.len());
    let mut values: Vec<&dyn rusqlite::ToSql> =
        vec![&first_id, &project_id, &first_inner_id, &overlap, &now];
    const NO_LINK: [&dyn rusqlite::ToSql; 4] = [&Null, &Null, &Null, &Null];
    for task in chunk {
        values.extend([
            &task.data as &dyn rusqlite::ToSql,
            &task.meta,
            &task.allow_skip,
        ]);
        values.extend(match &task.link {
            Some(link) => [
                &link.storage_id as &dyn rusqlite::ToSql,
                &link.key,
                &link.row_index,
                &link.fingerprint,
            ],
            None => NO_LINK,
        });
    }
    Ok(tx.prepare_cached(sql)?.execute(values.as_slice())?)
}

fn insert_annotations(
    tx: &Transaction<'_>,
    project_id: i64,
    task_id: i64,
    annotations: &[NewAnnotation],
    now: &str,
) -> Result<Vec<i64>, DbError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO annotations (task_id, project_id, result, completed_by, updated_by,
            was_cancelled, ground_truth, lead_time, bulk_created, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, 1, ?8, ?8)",
    )?;
    let mut ids = Vec::with_capacity(annotations.len());
    for a in annotations {
        stmt.execute(params![
            task_id,
            project_id,
            a.result,
            a.completed_by,
            a.was_cancelled,
            a.ground_truth,
            a.lead_time,
            now
        ])?;
        let id = tx.last_insert_rowid();
        super::outbox::queue_save(tx, project_id, id, now)?;
        ids.push(id);
    }
    Ok(ids)
}

/// The first of `task_ids` that is not a task of the project, if any (one query).
pub(super) fn not_in_project(
    conn: &Connection,
    project_id: i64,
    task_ids: &[i64],
) -> Result<Option<i64>, DbError> {
    Ok(conn
        .query_row(
            "SELECT value FROM json_each(?2)
             WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE id = value AND project_id = ?1) LIMIT 1",
            params![project_id, serde_json::to_string(task_ids)?],
            |r| r.get(0),
        )
        .optional()?)
}

/// Tasks with the given ids (one query).
pub(super) fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<TaskRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tasks t
         WHERE t.id IN (SELECT value FROM json_each(?1))"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([serde_json::to_string(ids)?], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Rows of the given tasks, in the order of `ids`.
fn in_order(conn: &Connection, ids: &[i64]) -> Result<Vec<TaskRow>, DbError> {
    let mut rows = by_ids(conn, ids)?;
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|row| position.get(&row.id).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

/// Tasks in the order of `ids` with their annotation ids and annotators.
fn with_summaries(
    conn: &Connection,
    ids: &[i64],
) -> Result<(Vec<TaskRow>, HashMap<i64, AnnotationSummary>), DbError> {
    Ok((in_order(conn, ids)?, annotation_summaries(conn, ids)?))
}

/// Tasks in the order of `ids` with their annotations, predictions and `user_id`'s drafts.
fn with_parts(
    conn: &Connection,
    ids: &[i64],
    user_id: i64,
) -> Result<(Vec<TaskRow>, TaskParts), DbError> {
    Ok((in_order(conn, ids)?, parts_of(conn, ids, Some(user_id))?))
}

/// What serving a task's data needs: its project's labeling config (its first data
/// variable names blob data) and source storages (whose URIs are rewritten for browsers).
#[derive(Debug, Clone)]
pub struct TaskDataContext {
    pub label_config: String,
    pub import_storages: Vec<super::storages::StorageRow>,
}

fn data_context(conn: &Connection, task_id: i64) -> Result<Option<TaskDataContext>, DbError> {
    let Some(task) = get(conn, task_id)? else {
        return Ok(None);
    };
    Ok(Some(TaskDataContext {
        label_config: super::projects::label_config(conn, task.project_id)?.unwrap_or_default(),
        import_storages: super::storages::of_project(
            conn,
            task.project_id,
            super::storages::Direction::Import,
            None,
        )?,
    }))
}

/// Creates one task in a project; its id, or `None` when the project does not exist.
fn create_one(
    tx: &Transaction<'_>,
    project_id: i64,
    task: NewTask,
) -> Result<Option<i64>, DbError> {
    if !super::projects::exists(tx, project_id)? {
        return Ok(None);
    }
    let outcome = insert_batch(tx, project_id, &[task], &crate::time::now_iso())?;
    // A task without a link is never dropped: the first id is its id.
    Ok(Some(outcome.first_id))
}

/// Imports tasks into a project: what the insert did and the new tasks' ids, or `None`
/// when the project does not exist.
fn import_into(
    tx: &Transaction<'_>,
    project_id: i64,
    tasks: &[NewTask],
) -> Result<Option<(InsertOutcome, Vec<i64>)>, DbError> {
    if !super::projects::exists(tx, project_id)? {
        return Ok(None);
    }
    let outcome = insert_batch(tx, project_id, tasks, &crate::time::now_iso())?;
    let ids = created_ids(tx, project_id, &outcome)?;
    Ok(Some((outcome, ids)))
}

/// Changes a task's data and/or meta; `false` when it does not exist.
fn change(
    conn: &Connection,
    id: i64,
    data: Option<&str>,
    meta: Option<&str>,
) -> Result<bool, DbError> {
    if get(conn, id)?.is_none() {
        return Ok(false);
    }
    update(conn, id, data, meta, &crate::time::now_iso())?;
    Ok(true)
}

/// Deletes one task with what goes with it (see [`delete_many`]); `false` when it does
/// not exist.
fn delete_one(conn: &Connection, id: i64) -> Result<bool, DbError> {
    let Some(task) = get(conn, id)? else {
        return Ok(false);
    };
    delete_many(conn, task.project_id, &[id], &crate::time::now_iso())?;
    Ok(true)
}

/// Where an import sync's tasks go and how far its listing got.
#[derive(Debug, Clone)]
pub struct SyncCursor {
    pub project_id: i64,
    pub storage_id: i64,
    /// The last key the inserted tasks cover (listing order).
    pub key: String,
    /// The storage's settings as stored when the pass started (see [`set_cursor`]).
    ///
    /// [`set_cursor`]: super::storages::set_cursor
    pub settings: String,
}

/// Inserts an import sync's tasks and moves its storage's cursor, in the caller's
/// transaction, so the cursor is never ahead of what is stored.
fn insert_at_cursor(
    tx: &Transaction<'_>,
    cursor: &SyncCursor,
    tasks: &[NewTask],
) -> Result<InsertOutcome, DbError> {
    let outcome = if tasks.is_empty() {
        InsertOutcome::default()
    } else {
        insert_batch(tx, cursor.project_id, tasks, &crate::time::now_iso())?
    };
    super::storages::set_cursor(tx, cursor.storage_id, &cursor.key, &cursor.settings)?;
    Ok(outcome)
}

/// A batch of one task file's tasks; `first` marks the file partly imported until its
/// last batch is in.
#[derive(Debug, Clone)]
pub struct TaskFileBatch {
    pub project_id: i64,
    pub storage_id: i64,
    /// The task file's key.
    pub key: String,
    pub first: bool,
    pub tasks: Vec<NewTask>,
}

fn insert_file_batch(
    tx: &Transaction<'_>,
    batch: &TaskFileBatch,
) -> Result<InsertOutcome, DbError> {
    if batch.first {
        mark_partial(tx, batch.storage_id, &batch.key, true)?;
    }
    insert_batch(tx, batch.project_id, &batch.tasks, &crate::time::now_iso())
}

impl super::Db {
    /// The id of the first task of a project after `after` that nobody has annotated or
    /// skipped yet, wrapping round to the start.
    pub async fn next_unlabeled_task(
        &self,
        project_id: i64,
        after: i64,
    ) -> Result<Option<i64>, DbError> {
        self.call(move |conn| next_unlabeled(conn, project_id, after))
            .await
    }

    /// The project of a task, if the task exists.
    pub async fn project_of_task(&self, task_id: i64) -> Result<Option<i64>, DbError> {
        self.call(move |conn| Ok(get(conn, task_id)?.map(|t| t.project_id)))
            .await
    }

    /// What serving a task's data needs (its project's labeling config and source
    /// storages); `None` when the task does not exist.
    pub async fn task_data_context(
        &self,
        task_id: i64,
    ) -> Result<Option<TaskDataContext>, DbError> {
        self.call(move |conn| data_context(conn, task_id)).await
    }

    /// Tasks in the order of `ids` with their annotation ids and annotators.
    pub async fn tasks_with_summaries(
        &self,
        ids: Vec<i64>,
    ) -> Result<(Vec<TaskRow>, HashMap<i64, AnnotationSummary>), DbError> {
        self.call(move |conn| with_summaries(conn, &ids)).await
    }

    /// Tasks in the order of `ids` with their annotations, predictions, `user_id`'s drafts
    /// and the authors of those.
    pub async fn tasks_with_parts(
        &self,
        ids: Vec<i64>,
        user_id: i64,
    ) -> Result<(Vec<TaskRow>, TaskParts), DbError> {
        self.call(move |conn| with_parts(conn, &ids, user_id)).await
    }

    /// Creates one task in a project; its id, or `None` when the project does not exist.
    pub async fn create_task(
        &self,
        project_id: i64,
        task: NewTask,
    ) -> Result<Option<i64>, DbError> {
        self.write(move |tx| create_one(tx, project_id, task)).await
    }

    /// Imports tasks (with their annotations and predictions) into a project in one
    /// transaction: what the insert did and the new tasks' ids, or `None` when the project
    /// does not exist.
    pub async fn import_tasks(
        &self,
        project_id: i64,
        tasks: Vec<NewTask>,
    ) -> Result<Option<(InsertOutcome, Vec<i64>)>, DbError> {
        self.write(move |tx| import_into(tx, project_id, &tasks))
            .await
    }

    /// Replaces a task's data and/or meta; `false` when it does not exist.
    pub async fn update_task(
        &self,
        id: i64,
        data: Option<String>,
        meta: Option<String>,
    ) -> Result<bool, DbError> {
        self.write(move |tx| change(tx, id, data.as_deref(), meta.as_deref()))
            .await
    }

    /// Deletes a task with its annotations (queueing the removal of their exported
    /// objects); `false` when it does not exist.
    pub async fn delete_task(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| delete_one(tx, id)).await
    }

    /// Deletes tasks of a project in one transaction, as [`delete_task`](Self::delete_task)
    /// does; returns how many went.
    pub async fn delete_tasks(&self, project_id: i64, ids: Vec<i64>) -> Result<u64, DbError> {
        self.write(move |tx| delete_many(tx, project_id, &ids, &crate::time::now_iso()))
            .await
    }

    /// Inserts an import sync's tasks and moves its storage's cursor, in one transaction.
    pub async fn insert_tasks_and_move_cursor(
        &self,
        cursor: SyncCursor,
        tasks: Vec<NewTask>,
    ) -> Result<InsertOutcome, DbError> {
        self.write(move |tx| insert_at_cursor(tx, &cursor, &tasks))
            .await
    }

    /// Inserts a batch of a task file's tasks in one transaction (the first batch marks
    /// the file partly imported).
    pub async fn insert_task_file_batch(
        &self,
        batch: TaskFileBatch,
    ) -> Result<InsertOutcome, DbError> {
        self.write(move |tx| insert_file_batch(tx, &batch)).await
    }

    /// Records that every task of a task file is in: a later sync no longer reads it again.
    pub async fn mark_task_file_imported(&self, storage_id: i64, key: &str) -> Result<(), DbError> {
        let key = key.to_owned();
        self.write(move |tx| mark_partial(tx, storage_id, &key, false))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(storage: i64, key: &str) -> NewTask {
        NewTask {
            data: format!("{{\"k\": \"{key}\"}}"),
            meta: "{}".into(),
            allow_skip: true,
            annotations: Vec::new(),
            predictions: Vec::new(),
            link: Some(Link::to(storage, key.to_owned(), None)),
        }
    }

    #[test]
    fn a_link_that_exists_already_keeps_its_task_and_drops_the_new_one() {
        let mut conn = crate::db::memory();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            "INSERT INTO projects (id, created_at, updated_at) VALUES (1, 'now', 'now');
             INSERT INTO storages (id, project_id, direction, type, created_at) VALUES (7, 1, 'import', 'localfiles', 'now');",
        )
        .unwrap();
        let batch: Vec<NewTask> = (0..100).map(|i| blob(7, &format!("k{i}"))).collect();
        let first = insert_batch(&tx, 1, &batch, "now").unwrap();
        assert_eq!((first.created, first.already_linked), (100, 0));
        // Half of a second batch collides with the first (as a racing sync would).
        let second: Vec<NewTask> = (50..150).map(|i| blob(7, &format!("k{i}"))).collect();
        let outcome = insert_batch(&tx, 1, &second, "now").unwrap();
        assert_eq!((outcome.created, outcome.already_linked), (50, 50));
        let tasks: i64 = tx
            .query_row("SELECT COUNT(*) FROM tasks", [], |r| r.get(0))
            .unwrap();
        let links: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM tasks WHERE link_storage_id IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let unlinked: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM tasks WHERE link_storage_id IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!((tasks, links, unlinked), (150, 150, 0));
        let inner: Vec<i64> = tx
            .prepare("SELECT inner_id FROM tasks ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(inner.len(), 150);
        assert!(inner.windows(2).all(|w| w[0] < w[1]), "inner ids increase");
    }

    /// The project's counters as a full count over its tasks finds them.
    fn recount(conn: &Connection) -> super::super::projects::ProjectStats {
        conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(total_annotations > 0), 0), COALESCE(SUM(total_annotations), 0),
                    COALESCE(SUM(cancelled_annotations), 0), COALESCE(SUM(total_predictions), 0)
             FROM tasks WHERE project_id = 1",
            [],
            |r| {
                Ok(super::super::projects::ProjectStats {
                    task_number: r.get(0)?,
                    num_tasks_with_annotations: r.get(1)?,
                    total_annotations_number: r.get(2)?,
                    skipped_annotations_number: r.get(3)?,
                    total_predictions_number: r.get(4)?,
                })
            },
        )
        .unwrap()
    }

    #[test]
    fn the_project_row_counts_what_its_tasks_hold_through_inserts_changes_and_deletes() {
        let mut conn = crate::db::memory();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@b.c', 'x', 'now');
             INSERT INTO projects (id, created_at, updated_at) VALUES (1, 'now', 'now');
             INSERT INTO storages (id, project_id, direction, type, created_at) VALUES (7, 1, 'import', 'localfiles', 'now');",
        )
        .unwrap();
        let batch: Vec<NewTask> = (0..30)
            .map(|i| {
                let mut task = blob(7, &format!("k{i}"));
                if i % 3 == 0 {
                    task.annotations.push(NewAnnotation {
                        result: "[]".into(),
                        completed_by: 1,
                        was_cancelled: i % 2 == 0,
                        ground_truth: false,
                        lead_time: None,
                    });
                }
                if i % 5 == 0 {
                    task.predictions.push(NewPrediction {
                        result: "[]".into(),
                        score: Some(0.5),
                        model_version: "m".into(),
                    });
                }
                task
            })
            .collect();
        insert_batch(&tx, 1, &batch, "now").unwrap();
        // A second batch half made of links that exist already: those tasks are dropped.
        let again: Vec<NewTask> = (20..40).map(|i| blob(7, &format!("k{i}"))).collect();
        insert_batch(&tx, 1, &again, "now").unwrap();
        let counted = super::super::projects::stats(&tx, 1).unwrap();
        assert_eq!(counted, recount(&tx));
        // Tasks 0, 3, .., 27 have an annotation; the even ones were cancelled (skipped).
        assert_eq!(
            (
                counted.task_number,
                counted.num_tasks_with_annotations,
                counted.skipped_annotations_number
            ),
            (40, 5, 5)
        );
        assert_eq!(counted.total_predictions_number, 6);
        let ids: Vec<i64> = tx
            .prepare("SELECT id FROM tasks WHERE project_id = 1 ORDER BY id LIMIT 12")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        delete_many(&tx, 1, &ids, "now").unwrap();
        let counted = super::super::projects::stats(&tx, 1).unwrap();
        assert_eq!(counted, recount(&tx));
        assert_eq!(counted.task_number, 28);
    }
}
