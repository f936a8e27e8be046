//! Data Manager queries in SQL: a checked [`TaskQuery`] becomes one `WHERE` clause and one
//! `ORDER BY` with bound parameters, so filtering, counting and paging run inside SQLite on
//! the task indexes and never load a task to look at it.
//!
//! Counters, `completed_at`, the prediction score, the annotators and the model versions are
//! columns of `tasks`, held by indexes; results are asked of their own table once per query
//! (`t.id IN (SELECT task_id FROM annotations WHERE project_id = ? ...)`) rather than once
//! per task. A negated condition keeps the tasks that have no value at
//! all, as Label Studio's (Django's) `exclude` does.

use std::time::{Duration, Instant};

use rusqlite::types::Value as Bound;
use rusqlite::{Connection, OptionalExtension};

use super::DbError;
use super::storages::{Direction, StorageRow};
use crate::label_config::first_data_variable;
use crate::task_query::{
    Column, Comparison, Condition, Conjunction, Filter, Kind, Scalar, Selection, TaskQuery,
};

/// A query over one project's tasks.
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    pub project_id: i64,
    pub query: &'a TaskQuery,
    /// The labeling config's first data variable: blob tasks keep their value under
    /// `$undefined$`, and a filter on this field looks there too.
    pub undefined_alias: Option<&'a str>,
}

/// How many tasks a query finds, with their annotation and prediction totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub tasks: i64,
    pub annotations: i64,
    pub predictions: i64,
}

/// A page of what a query finds, with the totals of everything it finds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub totals: Totals,
    /// Ids of the page's tasks, in the query's order.
    pub page: Vec<i64>,
}

/// The tasks a query finds: their totals and the ids of one page. Two plans:
///
/// - a query over task facts (counters, labels, scores, annotators, ...) counts from
///   indexes alone and pages either by walking the project in id order (stopping at the
///   page's end) or by letting SQLite sort from an index;
/// - a query that needs the task rows (data fields, storage file names, drafts) reads the
///   project's rows once, in storage order, and keeps the matching ids (with their counters)
///   to count and page from, instead of reading the rows a second time.
pub(super) fn find(
    conn: &mut Connection,
    search: Search<'_>,
    limit: i64,
    offset: i64,
) -> Result<Found, DbError> {
    // One read transaction: the totals and the page see the same tasks.
    let tx = conn.transaction()?;
    let found = find_in(&tx, search, limit, offset)?;
    tx.commit()?;
    Ok(found)
}

fn find_in(
    conn: &Connection,
    search: Search<'_>,
    limit: i64,
    offset: i64,
) -> Result<Found, DbError> {
    if needs_rows(search) {
        let matching = ordered_matches(conn, search)?;
        let totals = Totals {
            tasks: matching.len() as i64,
            annotations: matching.iter().map(|m| m.1).sum(),
            predictions: matching.iter().map(|m| m.2).sum(),
        };
        let page = matching
            .iter()
            .skip(usize::try_from(offset).unwrap_or(0))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|m| m.0)
            .collect();
        return Ok(Found { totals, page });
    }
    let totals = if asks_nothing(search.query) {
        project_totals(conn, search.project_id)?
    } else {
        fact_totals(conn, search)?
    };
    let by_id = orders_by_id(search.query);
    // SQLite steps over an OFFSET entry by entry: a page past the middle of an id order is
    // read from the other end (the last page of a million tasks is 30 entries away).
    let from_end = by_id && offset.saturating_mul(2) > totals.tasks;
    let (order, limit, offset) = if from_end {
        let take = limit.min(totals.tasks - offset).max(0);
        let skip = (totals.tasks - offset - take).max(0);
        (id_order(search, true).to_owned(), take, skip)
    } else {
        (order_by(search), limit, offset)
    };
    let mut clause = where_clause(search);
    let hint = if by_id {
        " INDEXED BY tasks_project"
    } else {
        ""
    };
    clause.text = format!(
        "SELECT t.id FROM tasks t{hint} WHERE {} ORDER BY {order} LIMIT ? OFFSET ?",
        clause.text
    );
    clause
        .params
        .extend([Bound::Integer(limit), Bound::Integer(offset)]);
    let mut page = collect_ids(conn, clause)?;
    if from_end {
        page.reverse();
    }
    Ok(Found { totals, page })
}

/// The id order a query asks for, or (`reversed`) its opposite.
fn id_order(search: Search<'_>, reversed: bool) -> &'static str {
    let descending = search.query.ordering.as_ref().is_some_and(|o| o.descending);
    if descending != reversed {
        "t.id DESC"
    } else {
        "t.id"
    }
}

/// Ids of every task a query finds, in id order (what an action works on).
pub(super) fn all_ids(conn: &Connection, search: Search<'_>) -> Result<Vec<i64>, DbError> {
    let by_id = TaskQuery {
        ordering: None,
        ..search.query.clone()
    };
    let search = Search {
        query: &by_id,
        ..search
    };
    if needs_rows(search) {
        return Ok(ordered_matches(conn, search)?
            .into_iter()
            .map(|m| m.0)
            .collect());
    }
    let mut clause = where_clause(search);
    clause.text = format!(
        "SELECT t.id FROM tasks t INDEXED BY tasks_project WHERE {} ORDER BY t.id",
        clause.text
    );
    collect_ids(conn, clause)
}

/// (id, annotations, predictions) of every task a row-reading query finds, in its order,
/// from one pass over the project's rows. The rows of a project lie between its first and
/// last id, so the pass reads that stretch of the table in storage order rather than
/// jumping from an index entry to each row.
fn ordered_matches(conn: &Connection, search: Search<'_>) -> Result<Vec<(i64, i64, i64)>, DbError> {
    let mut clause = Clause::default();
    clause
        .sql("SELECT t.id, t.total_annotations, t.total_predictions FROM tasks t NOT INDEXED")
        .sql(" WHERE t.id BETWEEN (SELECT MIN(id) FROM tasks WHERE project_id = ")
        .bind(Bound::Integer(search.project_id))
        .sql(") AND (SELECT MAX(id) FROM tasks WHERE project_id = ")
        .bind(Bound::Integer(search.project_id))
        .sql(") AND ");
    let rest = where_clause(search);
    clause.text.push_str(&rest.text);
    clause.params.extend(rest.params);
    clause.text.push_str(" ORDER BY ");
    clause.text.push_str(&order_by(search));
    let mut stmt = conn.prepare_cached(&clause.text)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(clause.params), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A query with no filter and no selection: the whole project.
fn asks_nothing(query: &TaskQuery) -> bool {
    query.filters.is_empty()
        && !query.annotated_only
        && matches!(&query.selection, Selection::All { excluded } if excluded.is_empty())
}

fn orders_by_id(query: &TaskQuery) -> bool {
    query
        .ordering
        .as_ref()
        .is_none_or(|o| o.column == Column::Id)
}

/// A whole project's totals, as its row keeps them (migration 0012).
fn project_totals(conn: &Connection, project_id: i64) -> Result<Totals, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT task_count, annotation_count, prediction_count FROM projects WHERE id = ?1",
        )?
        .query_row([project_id], |r| {
            Ok(Totals {
                tasks: r.get(0)?,
                annotations: r.get(1)?,
                predictions: r.get(2)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Totals of a query over task facts, counted from indexes (SQLite picks the facts index,
/// or a narrower one the filters name).
fn fact_totals(conn: &Connection, search: Search<'_>) -> Result<Totals, DbError> {
    let clause = where_clause(search);
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(t.total_annotations), 0), COALESCE(SUM(t.total_predictions), 0)
         FROM tasks t WHERE {}",
        clause.text
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(clause.params), |r| {
            Ok(Totals {
                tasks: r.get(0)?,
                annotations: r.get(1)?,
                predictions: r.get(2)?,
            })
        })?)
}

/// Whether the query reads something the indexes do not hold (a data field, a storage file
/// name, drafts, lead times), in a filter or the ordering.
fn needs_rows(search: Search<'_>) -> bool {
    let query = search.query;
    let ordering = query.ordering.as_ref().map(|o| &o.column);
    query
        .filters
        .iter()
        .map(|f| &f.column)
        .chain(ordering)
        .any(|column| !is_fact(column) && !matches!(source(column, search), Source::Members { .. }))
}

/// Whether the facts index holds the column (the id is in every index).
fn is_fact(column: &Column) -> bool {
    matches!(
        column,
        Column::Id
            | Column::CompletedAt
            | Column::TotalAnnotations
            | Column::CancelledAnnotations
            | Column::TotalPredictions
            | Column::IsLabeled
            | Column::PredictionsScore
            | Column::Annotators
            | Column::PredictionsModelVersions
    )
}

fn collect_ids(conn: &Connection, clause: Clause) -> Result<Vec<i64>, DbError> {
    let mut stmt = conn.prepare_cached(&clause.text)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(clause.params), |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// SQL text with its parameters, in order.
#[derive(Debug, Default)]
struct Clause {
    text: String,
    params: Vec<Bound>,
}

impl Clause {
    fn sql(&mut self, text: &str) -> &mut Clause {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: Bound) -> &mut Clause {
        self.text.push('?');
        self.params.push(value);
        self
    }
}

/// Filter values as a JSON list, for `json_each`.
fn json_list(values: &[Scalar]) -> String {
    let items: Vec<serde_json::Value> = values
        .iter()
        .map(|value| match value {
            Scalar::Number(n) => serde_json::json!(n),
            Scalar::Text(text) => serde_json::json!(text),
            Scalar::Bool(b) => serde_json::json!(b),
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn bound(value: &Scalar) -> Bound {
    match value {
        Scalar::Number(n) => Bound::Real(*n),
        Scalar::Text(text) => Bound::Text(text.clone()),
        Scalar::Bool(b) => Bound::Integer(i64::from(*b)),
    }
}

fn where_clause(search: Search<'_>) -> Clause {
    let mut clause = Clause::default();
    clause
        .sql("t.project_id = ")
        .bind(Bound::Integer(search.project_id));
    match &search.query.selection {
        Selection::All { excluded } if excluded.is_empty() => {}
        Selection::All { excluded } => {
            clause
                .sql(" AND t.id NOT IN (SELECT value FROM json_each(")
                .bind(Bound::Text(ids_json(excluded)))
                .sql("))");
        }
        Selection::Only(included) => {
            clause
                .sql(" AND t.id IN (SELECT value FROM json_each(")
                .bind(Bound::Text(ids_json(included)))
                .sql("))");
        }
    }
    if search.query.annotated_only {
        clause.sql(" AND t.total_annotations > 0");
    }
    let filters = &search.query.filters;
    if !filters.is_empty() {
        let joiner = match search.query.conjunction {
            Conjunction::And => " AND ",
            Conjunction::Or => " OR ",
        };
        clause.sql(" AND (");
        for (i, filter) in filters.iter().enumerate() {
            if i > 0 {
                clause.sql(joiner);
            }
            clause.sql("(");
            filter_sql(&mut clause, search, filter);
            clause.sql(")");
        }
        clause.sql(")");
    }
    clause
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// Where a column's value comes from.
enum Source {
    /// One value per task, from an SQL expression over `t`.
    Value(ValueColumn),
    /// Several values per task, in another table of the project.
    Members {
        table: &'static str,
        member: &'static str,
    },
    /// Several values per task, kept in a task column between unit separators (char 31).
    Delimited { expr: &'static str },
}

/// The separator of a [`Source::Delimited`] column's values.
const UNIT_SEPARATOR: char = '\u{1f}';

/// A column with one value per task.
struct ValueColumn {
    expr: String,
    /// The column can be NULL (so ordering puts NULLs last, and `empty` asks for them).
    nullable: bool,
    /// A count: Label Studio reads `empty` as "is zero".
    counter: bool,
    /// The value can be text, and an empty text is empty too.
    text: bool,
}

fn value(expr: impl Into<String>, nullable: bool) -> Source {
    Source::Value(ValueColumn {
        expr: expr.into(),
        nullable,
        counter: false,
        text: false,
    })
}

fn text(expr: impl Into<String>) -> Source {
    Source::Value(ValueColumn {
        expr: expr.into(),
        nullable: true,
        counter: false,
        text: true,
    })
}

fn counter(expr: &str) -> Source {
    Source::Value(ValueColumn {
        expr: expr.to_owned(),
        nullable: false,
        counter: true,
        text: false,
    })
}

fn source(column: &Column, search: Search<'_>) -> Source {
    match column {
        Column::Id => value("t.id", false),
        Column::InnerId => value("t.inner_id", false),
        Column::CompletedAt => value("t.completed_at", true),
        Column::CreatedAt => value("t.created_at", false),
        Column::UpdatedAt => value("t.updated_at", false),
        Column::TotalAnnotations => counter("t.total_annotations"),
        Column::CancelledAnnotations => counter("t.cancelled_annotations"),
        Column::TotalPredictions => counter("t.total_predictions"),
        Column::IsLabeled => value("t.is_labeled", false),
        Column::PredictionsScore => value("t.predictions_score", true),
        Column::UpdatedBy => value("t.updated_by", true),
        Column::StorageFilename => text("t.link_key"),
        Column::StorageState => text("t.storage_state"),
        Column::FileUpload => text("NULL"),
        Column::AvgLeadTime => value(
            "(SELECT AVG(a.lead_time) FROM annotations a WHERE a.task_id = t.id)",
            true,
        ),
        Column::DraftExists => value(
            "EXISTS (SELECT 1 FROM drafts d WHERE d.task_id = t.id)",
            false,
        ),
        Column::GroundTruth => value(
            "EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id AND a.ground_truth)",
            false,
        ),
        Column::Annotators => Source::Delimited {
            expr: "t.annotators",
        },
        Column::AnnotationsResults => Source::Members {
            table: "annotations",
            member: "result",
        },
        Column::PredictionsModelVersions => Source::Delimited {
            expr: "t.model_versions",
        },
        Column::PredictionsResults => Source::Members {
            table: "predictions",
            member: "result",
        },
        Column::Data {
            field,
            kind: kind @ Kind::String,
        } => text(data_expr(field, *kind, search)),
        Column::Data { field, kind } => value(data_expr(field, *kind, search), true),
    }
}

/// A data field's value: its JSON value as SQLite reads it, as a number for Number filters.
fn data_expr(field: &str, kind: Kind, search: Search<'_>) -> String {
    let path = |key: &str| format!("'$.\"{}\"'", key.replace('\'', "''"));
    let mut expr = format!("json_extract(t.data, {})", path(field));
    if search.undefined_alias == Some(field) {
        expr = format!(
            "COALESCE({expr}, json_extract(t.data, {}))",
            path(crate::label_config::UNDEFINED_DATA_KEY)
        );
    }
    match kind {
        Kind::Number => format!("as_number({expr})"),
        // Any spelling of a time in the data, read as SQLite's (to the millisecond, UTC).
        Kind::Datetime => format!("strftime('%Y-%m-%dT%H:%M:%f', {expr})"),
        _ => expr,
    }
}

fn filter_sql(clause: &mut Clause, search: Search<'_>, filter: &Filter) {
    if let Column::Data {
        kind: Kind::String, ..
    } = &filter.column
    {
        raw_text_prefilter(clause, &filter.condition);
    }
    match source(&filter.column, search) {
        Source::Value(column) => value_condition(clause, &column, &filter.condition),
        Source::Members { table, member } => {
            member_condition(clause, search.project_id, table, member, &filter.condition)
        }
        Source::Delimited { expr } => delimited_condition(clause, expr, &filter.condition),
    }
}

/// A condition on a delimited column: `contains` finds a whole value (a user id, a model
/// version), never a part of one.
fn delimited_condition(clause: &mut Clause, expr: &str, condition: &Condition) {
    match condition {
        Condition::Contains { values, negated } => {
            // Spelled out for the positive case so that SQLite takes the partial index.
            if !negated {
                clause.sql(expr).sql(" IS NOT NULL AND ");
            }
            negated_if(clause, *negated, |c| {
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        c.sql(" OR ");
                    }
                    let member = match value {
                        Scalar::Number(n) => format!("{}", *n as i64),
                        Scalar::Text(text) => text.clone(),
                        Scalar::Bool(b) => b.to_string(),
                    };
                    c.sql("instr(")
                        .sql(expr)
                        .sql(", ")
                        .bind(Bound::Text(format!(
                            "{UNIT_SEPARATOR}{member}{UNIT_SEPARATOR}"
                        )))
                        .sql(") > 0");
                }
            });
        }
        Condition::Empty(true) => {
            clause.sql(expr).sql(" IS NULL");
        }
        Condition::Empty(false) => {
            clause.sql(expr).sql(" IS NOT NULL");
        }
        // The parser gives list columns no other operator.
        _ => {
            clause.sql("0");
        }
    }
}

/// A cheap test on the stored JSON text that every task a text condition on a data field
/// finds passes: the JSON is parsed only for the few tasks whose text holds the words at
/// all. Stored data is written by serde_json, which escapes only `"`, `\` and control
/// characters; a value with none of them appears in the text as it is.
fn raw_text_prefilter(clause: &mut Clause, condition: &Condition) {
    let plain = |text: &str| {
        !text
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
    };
    match condition {
        Condition::Contains {
            values,
            negated: false,
        } => match values.as_slice() {
            [Scalar::Text(text)] if plain(text) => {
                clause
                    .sql("t.data LIKE ")
                    .bind(Bound::Text(like_pattern(&Scalar::Text(text.clone()))))
                    .sql(" ESCAPE '\\' AND ");
            }
            _ => {}
        },
        Condition::Compare(Comparison::Equal, Scalar::Text(text)) if plain(text) => {
            clause
                .sql("instr(t.data, ")
                .bind(Bound::Text(format!("\"{text}\"")))
                .sql(") > 0 AND ");
        }
        _ => {}
    }
}

/// `NOT COALESCE(cond, 0)`: the negation that keeps tasks without a value.
fn negated_if(clause: &mut Clause, negate: bool, inner: impl FnOnce(&mut Clause)) {
    clause.sql(if negate { "NOT COALESCE(" } else { "(" });
    inner(clause);
    clause.sql(if negate { ", 0)" } else { ")" });
}

fn value_condition(clause: &mut Clause, column: &ValueColumn, condition: &Condition) {
    let expr = column.expr.as_str();
    match condition {
        Condition::Compare(comparison, value) => compare(clause, expr, *comparison, value),
        Condition::Range {
            min,
            max,
            negated: negate,
        } => negated_if(clause, *negate, |c| {
            c.sql(expr)
                .sql(" BETWEEN ")
                .bind(bound(min))
                .sql(" AND ")
                .bind(bound(max));
        }),
        Condition::OneOf {
            values,
            negated: negate,
        } => negated_if(clause, *negate, |c| {
            // One parameter for the whole list, however long.
            c.sql(expr)
                .sql(" IN (SELECT value FROM json_each(")
                .bind(Bound::Text(json_list(values)))
                .sql("))");
        }),
        Condition::Contains {
            values,
            negated: negate,
        } => negated_if(clause, *negate, |c| contains_any(c, expr, values)),
        Condition::Regex(pattern) => {
            clause
                .sql("regexp(")
                .bind(Bound::Text(pattern.clone()))
                .sql(", CAST(")
                .sql(expr)
                .sql(" AS TEXT))");
        }
        Condition::Empty(empty) => {
            clause.sql(&empty_test(column, *empty));
        }
    }
}

/// `expr` compared with a value; "not equal" keeps the tasks without a value.
fn compare(clause: &mut Clause, expr: &str, comparison: Comparison, value: &Scalar) {
    let op = match comparison {
        Comparison::Equal | Comparison::NotEqual => " = ",
        Comparison::Less => " < ",
        Comparison::Greater => " > ",
        Comparison::LessOrEqual => " <= ",
        Comparison::GreaterOrEqual => " >= ",
    };
    if comparison == Comparison::NotEqual {
        negated_if(clause, true, |c| {
            c.sql(expr).sql(op).bind(bound(value));
        });
    } else {
        clause.sql(expr).sql(op).bind(bound(value));
    }
}

/// `expr` holds one of the values: a number is the value itself (a user id in
/// `updated_by`, not a substring of it), a text a part of it.
fn contains_any(clause: &mut Clause, expr: &str, values: &[Scalar]) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            clause.sql(" OR ");
        }
        match value {
            Scalar::Number(_) => clause.sql(expr).sql(" = ").bind(bound(value)),
            _ => clause
                .sql("CAST(")
                .sql(expr)
                .sql(" AS TEXT) LIKE ")
                .bind(Bound::Text(like_pattern(value)))
                .sql(" ESCAPE '\\'"),
        };
    }
}

/// Whether the column is empty (`empty`) or not, as plain tests (no NOT COALESCE) so that
/// SQLite can answer them from an index.
fn empty_test(column: &ValueColumn, empty: bool) -> String {
    let expr = column.expr.as_str();
    match (column.counter, column.nullable, empty) {
        (true, _, true) => format!("{expr} = 0"),
        (true, _, false) => format!("{expr} <> 0"),
        (false, false, empty) => (if empty { "0" } else { "1" }).to_owned(),
        (false, true, true) if column.text => format!("({expr} IS NULL OR {expr} = '')"),
        (false, true, false) if column.text => format!("({expr} IS NOT NULL AND {expr} <> '')"),
        (false, true, true) => format!("{expr} IS NULL"),
        (false, true, false) => format!("{expr} IS NOT NULL"),
    }
}

/// `%text%` with LIKE's wildcards taken literally.
fn like_pattern(value: &Scalar) -> String {
    let text = match value {
        Scalar::Text(text) => text.clone(),
        Scalar::Number(n) => n.to_string(),
        Scalar::Bool(b) => b.to_string(),
    };
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A condition on a fact with several values per task: the task is in (or, negated, not
/// in) the set of the project's tasks having a matching value.
fn member_condition(
    clause: &mut Clause,
    project_id: i64,
    table: &str,
    member: &str,
    condition: &Condition,
) {
    let negate = match condition {
        Condition::Contains { negated, .. } => *negated,
        Condition::Compare(comparison, _) => *comparison == Comparison::NotEqual,
        Condition::Empty(empty) => *empty,
        _ => false,
    };
    clause
        .sql(if negate { "t.id NOT IN " } else { "t.id IN " })
        .sql(&format!(
            "(SELECT m.task_id FROM {table} m WHERE m.project_id = "
        ))
        .bind(Bound::Integer(project_id))
        .sql(" AND (");
    match condition {
        Condition::Contains { values, .. } => member_matches(clause, member, values),
        Condition::Compare(_, value) => {
            clause
                .sql(&format!("json(m.{member}) = json("))
                .bind(bound(value))
                .sql(")");
        }
        Condition::Empty(_) => {
            clause.sql(&format!("m.{member} IS NOT NULL"));
        }
        // The parser gives list columns no other operator.
        _ => {
            clause.sql("0");
        }
    }
    clause.sql("))");
}

/// One of the values matches the member: a user id exactly, a model version or a result
/// as a substring (case-sensitive for versions, as Label Studio; results ignore case).
fn member_matches(clause: &mut Clause, member: &str, values: &[Scalar]) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            clause.sql(" OR ");
        }
        match member {
            "completed_by" => {
                clause.sql("m.completed_by = ").bind(bound(value));
            }
            "model_version" => {
                clause
                    .sql("instr(m.model_version, ")
                    .bind(bound(value))
                    .sql(") > 0");
            }
            _ => {
                clause
                    .sql(&format!("m.{member} LIKE "))
                    .bind(Bound::Text(like_pattern(value)))
                    .sql(" ESCAPE '\\'");
            }
        }
    }
}

/// The ORDER BY of a page: the query's column (NULLs last either way), then the id, so
/// that pages never overlap or skip a task among equal values.
fn order_by(search: Search<'_>) -> String {
    let Some(ordering) = &search.query.ordering else {
        return "t.id".to_owned();
    };
    let direction = if ordering.descending { " DESC" } else { "" };
    if ordering.column == Column::Id {
        return format!("t.id{direction}");
    }
    let (expr, nullable) = match source(&ordering.column, search) {
        Source::Value(column) => (column.expr, column.nullable),
        Source::Members { table, member } => (
            format!("(SELECT MIN(m.{member}) FROM {table} m WHERE m.task_id = t.id)"),
            true,
        ),
        Source::Delimited { expr } => (expr.to_owned(), true),
    };
    // NULLs sort first in SQLite: a descending order already has them last (and can walk
    // an index backwards); an ascending one says so.
    let nulls_last = if nullable && !ordering.descending {
        " NULLS LAST"
    } else {
        ""
    };
    format!("{expr}{direction}{nulls_last}, t.id{direction}")
}

/// A page of a project's tasks as the task list serves it.
#[derive(Debug)]
pub struct TaskSearch {
    /// The labeling config's first data variable (blob tasks' data is shown under it).
    pub data_key: Option<String>,
    pub found: Found,
    /// The project's source storages (whose URIs are rewritten for browsers).
    pub import_storages: Vec<StorageRow>,
    /// How long finding the tasks took (the task list reports it in `Server-Timing`).
    pub search_time: Duration,
}

fn search_page(
    conn: &mut Connection,
    project_id: i64,
    query: &TaskQuery,
    limit: i64,
    offset: i64,
) -> Result<Option<TaskSearch>, DbError> {
    let Some(config) = super::projects::label_config(conn, project_id)? else {
        return Ok(None);
    };
    let data_key = first_data_variable(&config);
    let search = Search {
        project_id,
        query,
        undefined_alias: data_key.as_deref(),
    };
    let started = Instant::now();
    let found = find(conn, search, limit, offset)?;
    let search_time = started.elapsed();
    let import_storages = super::storages::of_project(conn, project_id, Direction::Import, None)?;
    Ok(Some(TaskSearch {
        data_key,
        found,
        import_storages,
        search_time,
    }))
}

/// Ids of every task of a project a query finds, in id order.
fn matching_ids(
    conn: &Connection,
    project_id: i64,
    query: &TaskQuery,
) -> Result<Vec<i64>, DbError> {
    let config = super::projects::label_config(conn, project_id)?.unwrap_or_default();
    let alias = first_data_variable(&config);
    all_ids(
        conn,
        Search {
            project_id,
            query,
            undefined_alias: alias.as_deref(),
        },
    )
}

impl super::Db {
    /// One page of what a query finds in a project's tasks, with the totals of everything
    /// it finds and what serving the page needs; `None` when the project does not exist.
    pub async fn search_tasks(
        &self,
        project_id: i64,
        query: TaskQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Option<TaskSearch>, DbError> {
        self.call(move |conn| search_page(conn, project_id, &query, limit, offset))
            .await
    }

    /// Ids of every task of a project a query finds, in id order (what an action works on).
    pub async fn all_task_ids(
        &self,
        project_id: i64,
        query: TaskQuery,
    ) -> Result<Vec<i64>, DbError> {
        self.call(move |conn| matching_ids(conn, project_id, &query))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(value: serde_json::Value) -> TaskQuery {
        TaskQuery::from_json(&value).unwrap()
    }

    #[test]
    fn no_query_is_the_project_in_id_order() {
        let q = TaskQuery::default();
        let search = Search {
            project_id: 3,
            query: &q,
            undefined_alias: None,
        };
        let clause = where_clause(search);
        assert_eq!(clause.text, "t.project_id = ?");
        assert_eq!(order_by(search), "t.id");
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let q = query(json!({"filters": {"conjunction": "or", "items": [
            {"filter": "filter:tasks:data.text", "operator": "contains", "type": "String", "value": "x'); DROP TABLE tasks; --"},
            {"filter": "filter:tasks:data.it's", "operator": "equal", "type": "String", "value": "5"}]}}));
        let clause = where_clause(Search {
            project_id: 1,
            query: &q,
            undefined_alias: None,
        });
        assert!(!clause.text.contains("DROP"), "{}", clause.text);
        assert!(clause.text.contains("'$.\"it''s\"'"), "{}", clause.text);
        assert!(clause.text.contains(" OR "), "{}", clause.text);
        // The project, then each text test twice: on the raw JSON, then on the field.
        assert_eq!(clause.params.len(), 5);
    }

    /// Counting what a filter on task facts finds reads an index alone, never task rows.
    #[test]
    fn fact_filters_are_counted_from_indexes() {
        let conn = crate::db::memory();
        for (column, operator, kind, value) in [
            ("total_annotations", "greater", "Number", json!(0)),
            ("completed_at", "empty", "Datetime", json!(false)),
            ("is_labeled", "equal", "Boolean", json!(false)),
            ("predictions_score", "greater", "Number", json!(0.5)),
            ("annotators", "contains", "List", json!(1)),
            (
                "predictions_model_versions",
                "contains",
                "List",
                json!(["v1"]),
            ),
        ] {
            let q = query(json!({"filters": {"conjunction": "and", "items": [
                {"filter": format!("filter:tasks:{column}"), "operator": operator, "type": kind, "value": value}]}}));
            let search = Search {
                project_id: 1,
                query: &q,
                undefined_alias: None,
            };
            assert!(!needs_rows(search), "{column}");
            let clause = where_clause(search);
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT COUNT(*), SUM(t.total_annotations), SUM(t.total_predictions) FROM tasks t WHERE {}",
                clause.text
            );
            let plan: Vec<String> = conn
                .prepare(&sql)
                .unwrap()
                .query_map(rusqlite::params_from_iter(clause.params), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().all(|step| step.contains("COVERING INDEX")),
                "{column}: {plan:?}"
            );
        }
    }
}
