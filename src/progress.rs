//! What a running sync tells the world: live counters a heartbeat writes to the storage
//! row, and the report it ends with. It sits below `sync`, `export` and `jobs`, so the job
//! runner knows neither kind of sync's internals and neither knows the runner.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

/// Per-item error lines kept for `traceback`; more are counted, not listed.
const MAX_ERROR_LINES: usize = 1_000;

/// The `meta` keys one kind of sync reports its counters under (Label Studio's names).
#[derive(Debug)]
pub struct CounterNames {
    pub scanned: &'static str,
    pub created: &'static str,
    /// Items already there (only imports have them).
    pub existed: Option<&'static str>,
    pub failed: &'static str,
}

/// Counters of a running sync, bumped by the sync and read by the heartbeat.
#[derive(Debug)]
pub struct Progress {
    names: &'static CounterNames,
    /// Objects listed (import) or annotations looked at (export).
    pub scanned: AtomicU64,
    /// Tasks created (import) or annotations written (export).
    pub created: AtomicU64,
    /// Tasks that already existed for listed objects.
    pub existed: AtomicU64,
    /// Files (import) or annotations (export) that failed.
    pub failed: AtomicU64,
    /// The key an import resumed after, when it continues an interrupted one.
    pub resumed_after: OnceLock<String>,
}

impl Progress {
    pub fn new(names: &'static CounterNames) -> Progress {
        Progress {
            names,
            scanned: AtomicU64::default(),
            created: AtomicU64::default(),
            existed: AtomicU64::default(),
            failed: AtomicU64::default(),
            resumed_after: OnceLock::new(),
        }
    }

    /// What `last_sync_count` shows while the sync runs.
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// The counters as `meta` keys (the UI shows them live).
    pub fn meta(&self) -> Map<String, Value> {
        let names = self.names;
        let mut meta = Map::new();
        let load = |counter: &AtomicU64| json!(counter.load(Ordering::Relaxed));
        meta.insert(names.scanned.into(), load(&self.scanned));
        meta.insert(names.created.into(), load(&self.created));
        if let Some(existed) = names.existed {
            meta.insert(existed.into(), load(&self.existed));
        }
        meta.insert(names.failed.into(), load(&self.failed));
        if let Some(key) = self.resumed_after.get() {
            meta.insert("resumed_after".into(), json!(key));
        }
        meta
    }
}

/// How a finished sync reports itself on the storage row.
pub trait Report: Send + 'static {
    /// What `last_sync_count` shows (tasks created, annotations written).
    fn count(&self) -> u64;
    /// The items that failed, one line each.
    fn errors(&self) -> &ErrorLines;
    /// Adds the keys only this kind of sync reports to `meta` (how many failed, under
    /// Label Studio's name for them).
    fn write_meta(&self, meta: &mut Map<String, Value>);
}

/// One readable line per item that failed, the first [`MAX_ERROR_LINES`] of them.
#[derive(Debug, Default, Clone)]
pub struct ErrorLines {
    lines: Vec<String>,
    not_listed: u64,
}

impl ErrorLines {
    pub fn push(&mut self, line: String) {
        if self.lines.len() < MAX_ERROR_LINES {
            self.lines.push(line);
        } else {
            self.not_listed += 1;
        }
    }

    /// Every failure, listed or not.
    pub fn total(&self) -> u64 {
        self.lines.len() as u64 + self.not_listed
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The `traceback` text: the lines, then how many more there were.
    pub fn text(&self) -> String {
        let mut text = self.lines.join("\n");
        if self.not_listed > 0 {
            text.push_str(&format!("\n... and {} more", self.not_listed));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: CounterNames = CounterNames {
        scanned: "seen",
        created: "made",
        existed: None,
        failed: "broken",
    };

    #[test]
    fn meta_uses_the_kinds_names_and_leaves_out_what_it_lacks() {
        let progress = Progress::new(&NAMES);
        progress.created.fetch_add(3, Ordering::Relaxed);
        progress.existed.fetch_add(9, Ordering::Relaxed);
        let meta = progress.meta();
        assert_eq!(meta["made"], 3);
        assert_eq!(meta["seen"], 0);
        assert_eq!(meta.len(), 3, "{meta:?}");
        progress.resumed_after.set("k/9".into()).unwrap();
        assert_eq!(progress.meta()["resumed_after"], "k/9");
    }

    #[test]
    fn error_lines_count_what_they_do_not_list() {
        let mut errors = ErrorLines::default();
        for n in 0..MAX_ERROR_LINES + 2 {
            errors.push(format!("file {n}"));
        }
        assert_eq!(errors.total(), MAX_ERROR_LINES as u64 + 2);
        assert_eq!(errors.lines().len(), MAX_ERROR_LINES);
        assert!(errors.text().ends_with("file 999\n... and 2 more"));
    }
}
