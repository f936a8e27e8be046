//! SQL functions SQLite lacks and the Data Manager's filters need, registered on every
//! connection: `regexp(pattern, text)` (Rust's regex engine, linear time, compiled once per
//! statement) and `as_number(value)` (a number, or NULL for text that is not one).

use std::sync::Arc;

use regex::{Regex, RegexBuilder};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Error};

use crate::task_query::REGEX_SIZE_LIMIT;

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("regexp", 2, flags, regexp)?;
    conn.create_scalar_function("as_number", 1, flags, as_number)
}

fn regexp(ctx: &Context<'_>) -> rusqlite::Result<bool> {
    // The pattern is the same for every row of a statement: compile it once.
    let pattern: Arc<Regex> = ctx.get_or_create_aux(0, |value| -> Result<Regex, Error> {
        let pattern = value
            .as_str()
            .map_err(|err| Error::UserFunctionError(err.into()))?;
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|err| Error::UserFunctionError(err.into()))
    })?;
    Ok(match ctx.get_raw(1) {
        ValueRef::Text(text) => std::str::from_utf8(text).is_ok_and(|text| pattern.is_match(text)),
        _ => false,
    })
}

fn as_number(ctx: &Context<'_>) -> rusqlite::Result<Value> {
    Ok(match ctx.get_raw(0) {
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(n) => Value::Real(n),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite())
            .map_or(Value::Null, Value::Real),
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn regexp_and_numbers() {
        let conn = crate::db::memory();
        let matched: (bool, bool, Option<f64>, Option<f64>) = conn
            .query_row(
                "SELECT regexp('^c.t$', 'cat'), regexp('^C', 'cat'), as_number(' 12.5'), as_number('abc')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(matched, (true, false, Some(12.5), None));
    }
}
