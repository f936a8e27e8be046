//! Data Manager queries in SQL: a checked [`TaskQuery`] becomes one `WHERE` clause and one
//! `ORDER BY` with bound parameters, so filtering, counting and paging run inside SQLite on
//! the task indexes and never load a task to look at it.
//!
//! Counters, `completed_at` and the prediction score are columns of `tasks`; facts with
//! several values per task (annotators, model versions, results) are asked of their own
//! table once per query (`t.id IN (SELECT task_id FROM annotations WHERE project_id = ? ...)`)
//! rather than once per task. A negated condition keeps the tasks that have no value at
//! all, as Label Studio's (Django's) `exclude` does.

use rusqlite::Connection;
use rusqlite::types::Value as Bound;

use super::DbError;
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

/// Counts the tasks a query finds.
pub fn totals(conn: &Connection, search: Search<'_>) -> Result<Totals, DbError> {
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

/// Ids of one page of the tasks a query finds, in its order.
pub fn page_ids(
    conn: &Connection,
    search: Search<'_>,
    limit: i64,
    offset: i64,
) -> Result<Vec<i64>, DbError> {
    let mut clause = where_clause(search);
    let order = order_by(search);
    clause.text = format!(
        "SELECT t.id FROM tasks t WHERE {} ORDER BY {order} LIMIT ? OFFSET ?",
        clause.text
    );
    clause
        .params
        .extend([Bound::Integer(limit), Bound::Integer(offset)]);
    collect_ids(conn, clause)
}

/// Ids of every task a query finds, in id order (what an action works on).
pub fn all_ids(conn: &Connection, search: Search<'_>) -> Result<Vec<i64>, DbError> {
    let mut clause = where_clause(search);
    clause.text = format!(
        "SELECT t.id FROM tasks t WHERE {} ORDER BY t.id",
        clause.text
    );
    collect_ids(conn, clause)
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

    /// `?, ?, ?` for a list of values.
    fn bind_list(&mut self, values: impl IntoIterator<Item = Bound>) -> &mut Clause {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self
    }
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
    Value {
        expr: String,
        /// The column can be NULL (so ordering puts NULLs last, and `empty` asks for them).
        nullable: bool,
        /// A count: Label Studio reads `empty` as "is zero".
        counter: bool,
    },
    /// Several values per task, in another table of the project.
    Members {
        table: &'static str,
        member: &'static str,
    },
}

fn value(expr: impl Into<String>, nullable: bool) -> Source {
    Source::Value {
        expr: expr.into(),
        nullable,
        counter: false,
    }
}

fn counter(expr: &str) -> Source {
    Source::Value {
        expr: expr.to_owned(),
        nullable: false,
        counter: true,
    }
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
        Column::StorageFilename => value(
            "(SELECT l.key FROM task_links l WHERE l.task_id = t.id)",
            true,
        ),
        Column::FileUpload => value("NULL", true),
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
        Column::Annotators => Source::Members {
            table: "annotations",
            member: "completed_by",
        },
        Column::AnnotationsResults => Source::Members {
            table: "annotations",
            member: "result",
        },
        Column::PredictionsModelVersions => Source::Members {
            table: "predictions",
            member: "model_version",
        },
        Column::PredictionsResults => Source::Members {
            table: "predictions",
            member: "result",
        },
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
        _ => expr,
    }
}

fn filter_sql(clause: &mut Clause, search: Search<'_>, filter: &Filter) {
    match source(&filter.column, search) {
        Source::Value {
            expr,
            nullable,
            counter,
        } => value_condition(clause, &expr, nullable, counter, &filter.condition),
        Source::Members { table, member } => {
            member_condition(clause, search.project_id, table, member, &filter.condition)
        }
    }
}

/// `NOT COALESCE(cond, 0)`: the negation that keeps tasks without a value.
fn negated(clause: &mut Clause, negate: bool, inner: impl FnOnce(&mut Clause)) {
    clause.sql(if negate { "NOT COALESCE(" } else { "(" });
    inner(clause);
    clause.sql(if negate { ", 0)" } else { ")" });
}

fn value_condition(
    clause: &mut Clause,
    expr: &str,
    nullable: bool,
    counter: bool,
    condition: &Condition,
) {
    match condition {
        Condition::Compare(Comparison::NotEqual, value) => negated(clause, true, |c| {
            c.sql(expr).sql(" = ").bind(bound(value));
        }),
        Condition::Compare(comparison, value) => {
            let op = match comparison {
                Comparison::Equal | Comparison::NotEqual => " = ",
                Comparison::Less => " < ",
                Comparison::Greater => " > ",
                Comparison::LessOrEqual => " <= ",
                Comparison::GreaterOrEqual => " >= ",
            };
            clause.sql(expr).sql(op).bind(bound(value));
        }
        Condition::Range {
            min,
            max,
            negated: negate,
        } => negated(clause, *negate, |c| {
            c.sql(expr)
                .sql(" BETWEEN ")
                .bind(bound(min))
                .sql(" AND ")
                .bind(bound(max));
        }),
        Condition::OneOf {
            values,
            negated: negate,
        } => negated(clause, *negate, |c| {
            c.sql(expr)
                .sql(" IN (")
                .bind_list(values.iter().map(bound))
                .sql(")");
        }),
        Condition::Contains {
            values,
            negated: negate,
        } => negated(clause, *negate, |c| {
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    c.sql(" OR ");
                }
                match value {
                    // A user id (updated_by): the member itself, not a substring of it.
                    Scalar::Number(_) => c.sql(expr).sql(" = ").bind(bound(value)),
                    _ => c
                        .sql("CAST(")
                        .sql(expr)
                        .sql(" AS TEXT) LIKE ")
                        .bind(Bound::Text(like_pattern(value)))
                        .sql(" ESCAPE '\\'"),
                };
            }
        }),
        Condition::Regex(pattern) => {
            clause
                .sql("regexp(")
                .bind(Bound::Text(pattern.clone()))
                .sql(", CAST(")
                .sql(expr)
                .sql(" AS TEXT))");
        }
        Condition::Empty(empty) => {
            let test = if counter {
                format!("{expr} = 0")
            } else if nullable {
                format!("({expr} IS NULL OR {expr} = '')")
            } else {
                "0".to_owned()
            };
            negated(clause, !empty, |c| {
                c.sql(&test);
            });
        }
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
        Source::Value { expr, nullable, .. } => (expr, nullable),
        Source::Members { table, member } => (
            format!("(SELECT MIN(m.{member}) FROM {table} m WHERE m.task_id = t.id)"),
            true,
        ),
    };
    let nulls_last = if nullable {
        format!("{expr} IS NULL, ")
    } else {
        String::new()
    };
    format!("{nulls_last}{expr}{direction}, t.id{direction}")
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
        assert_eq!(clause.params.len(), 3);
    }
}
