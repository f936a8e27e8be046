//! Watched folders: a Local Files source with `watch` on turns a file written into its
//! folder into a task within a second, through the same sync as a click on Sync (dedupe,
//! regex filter, task files, live progress on the card).
//!
//! The folder is watched with the system's file events (inotify on Linux; recursive when
//! the storage scans sub-folders). Where that is not possible (too many watches, a file
//! system without events) the folder is polled every second instead, and the card says
//! why. Events are debounced: a sync is asked for once the folder has been quiet for a
//! moment (or a change has waited a quarter of a second, so a steady stream of files is
//! imported as it comes) and no file is still open for writing (a file is whole once it is
//! closed), so a file copied in slowly is imported once, whole. While a sync runs, new events wait for
//! it and ask for the next one. Every couple of seconds the set of watched storages is read
//! again, so turning `watch` on or off, or deleting the storage, takes effect by itself.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Syncs;
use crate::db::Db;
use crate::db::storages::StorageRow;

/// How often the watched storages are read again.
const RECONCILE: Duration = Duration::from_secs(2);
/// How often pending folders are looked at.
const TICK: Duration = Duration::from_millis(25);
/// Quiet time after the last event before a sync, with file events and with polling.
const QUIET_EVENTS: Duration = Duration::from_millis(100);
const QUIET_POLLING: Duration = Duration::from_secs(1);
/// The longest a change waits for the folder to go quiet: files arriving without a pause
/// are still imported as they come.
const MAX_DELAY: Duration = Duration::from_millis(250);
/// How often a polled folder is scanned.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a folder waits to ask again when a sync was already running.
const RETRY: Duration = Duration::from_millis(200);
/// A file open for writing this long without an event no longer holds the folder back.
const STALE_WRITE: Duration = Duration::from_secs(30);

/// One watched folder.
struct Folder {
    /// What the watch was set up for: a change of either sets it up again.
    path: PathBuf,
    recursive: bool,
    _watcher: Box<dyn Watcher + Send>,
    polling: bool,
    /// Files written to and not yet closed, with their last event.
    writing: HashMap<PathBuf, Instant>,
    last_event: Option<Instant>,
    /// Since when something changed that no sync asked for by this watcher has seen yet
    /// (`None`: nothing).
    dirty_since: Option<Instant>,
    /// When a sync was last asked for in vain (one was running): asked again a little later.
    refused: Option<Instant>,
}

/// Runs until `stop`.
pub async fn run(db: Db, syncs: Syncs, stop: CancellationToken) {
    let (sender, mut events) = mpsc::unbounded_channel::<(i64, notify::Event)>();
    let mut folders: HashMap<i64, Folder> = HashMap::new();
    let mut reconciled = Instant::now() - RECONCILE;
    loop {
        if reconciled.elapsed() >= RECONCILE {
            reconcile(&db, &mut folders, &sender).await;
            reconciled = Instant::now();
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            event = events.recv() => {
                if let Some((id, event)) = event && let Some(folder) = folders.get_mut(&id) {
                    folder.note(&event);
                }
                while let Ok((id, event)) = events.try_recv() {
                    if let Some(folder) = folders.get_mut(&id) {
                        folder.note(&event);
                    }
                }
            }
            _ = tokio::time::sleep(TICK) => {}
        }
        for (id, folder) in folders.iter_mut() {
            if !folder.settled() {
                continue;
            }
            match syncs.request_new(*id).await {
                Ok(true) => {
                    folder.dirty_since = None;
                }
                // A sync is queued or running: it may have listed before these files, so
                // the folder stays dirty and asks again once that one is over.
                Ok(false) => folder.refused = Some(Instant::now()),
                Err(err) => tracing::warn!(storage = id, "watched folder: no sync: {err}"),
            }
        }
    }
}

impl Folder {
    /// Takes in one file event.
    fn note(&mut self, event: &notify::Event) {
        let now = Instant::now();
        match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                for path in &event.paths {
                    self.writing.remove(path);
                }
            }
            EventKind::Create(CreateKind::File) | EventKind::Modify(ModifyKind::Data(_))
                if !self.polling =>
            {
                for path in &event.paths {
                    self.writing.insert(path.clone(), now);
                }
            }
            EventKind::Access(_) => return,
            EventKind::Remove(_) => {
                for path in &event.paths {
                    self.writing.remove(path);
                }
            }
            _ => {}
        }
        self.last_event = Some(now);
        self.dirty_since.get_or_insert(now);
    }

    /// Whether it is time to ask for a sync: something changed, the folder has been quiet,
    /// and every file written to was closed (or went quiet long ago).
    fn settled(&mut self) -> bool {
        let Some(dirty_since) = self.dirty_since else {
            return false;
        };
        if self.refused.is_some_and(|at| at.elapsed() < RETRY) {
            return false;
        }
        let quiet = if self.polling {
            QUIET_POLLING
        } else {
            QUIET_EVENTS
        };
        self.writing.retain(|_, at| at.elapsed() < STALE_WRITE);
        let waited_enough = dirty_since.elapsed() >= MAX_DELAY;
        self.writing.is_empty()
            && (waited_enough || self.last_event.is_none_or(|at| at.elapsed() >= quiet))
    }
}

/// Sets up watches for the storages that want one, drops those no longer wanted.
async fn reconcile(
    db: &Db,
    folders: &mut HashMap<i64, Folder>,
    sender: &mpsc::UnboundedSender<(i64, notify::Event)>,
) {
    let rows = match db.watched_storages().await {
        Ok(rows) => rows,
        Err(err) => {
            tracing::error!("watched folders: {err}");
            return;
        }
    };
    let wanted: HashSet<i64> = rows.iter().map(|row| row.id).collect();
    folders.retain(|id, _| wanted.contains(id));
    for row in &rows {
        let Some((path, recursive)) = target(row) else {
            continue;
        };
        if folders
            .get(&row.id)
            .is_some_and(|f| f.path == path && f.recursive == recursive)
        {
            continue;
        }
        let (watcher, polling, reason) = watch(row.id, &path, recursive, sender.clone());
        let state = match (&watcher, polling) {
            (None, _) => json!({"mode": "off", "reason": reason}),
            (Some(_), true) => json!({"mode": "polling", "reason": reason}),
            (Some(_), false) => json!({"mode": "events"}),
        };
        if let Err(err) = db.set_watch_state(row.id, state).await {
            tracing::error!(storage = row.id, "watched folder: {err}");
        }
        match watcher {
            Some(watcher) => {
                tracing::info!(storage = row.id, path = %path.display(), polling, "watching the folder");
                // Files written while the watch was being set up: one sync finds them.
                folders.insert(
                    row.id,
                    Folder {
                        path,
                        recursive,
                        _watcher: watcher,
                        polling,
                        writing: HashMap::new(),
                        last_event: None,
                        dirty_since: Some(Instant::now()),
                        refused: None,
                    },
                );
            }
            None => {
                folders.remove(&row.id);
            }
        }
    }
}

/// The folder a storage watches, and whether with its sub-folders.
fn target(row: &StorageRow) -> Option<(PathBuf, bool)> {
    let path = row.settings.common.location.as_deref()?;
    Some((PathBuf::from(path), row.settings.common.recursive_scan))
}

type Started = (Option<Box<dyn Watcher + Send>>, bool, Option<String>);

/// Watches `path` with file events, else by polling; the watcher, whether it polls, and
/// why it does (or why there is no watch at all).
fn watch(
    id: i64,
    path: &std::path::Path,
    recursive: bool,
    sender: mpsc::UnboundedSender<(i64, notify::Event)>,
) -> Started {
    let mode = if recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    let forward = move |sender: mpsc::UnboundedSender<(i64, notify::Event)>| {
        move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                let _ = sender.send((id, event));
            }
        }
    };
    let events = notify::recommended_watcher(forward(sender.clone())).and_then(|mut w| {
        w.watch(path, mode)?;
        Ok(w)
    });
    let reason = match events {
        Ok(watcher) => return (Some(Box::new(watcher)), false, None),
        Err(err) => format!("file events are not available here: {err}"),
    };
    tracing::warn!(storage = id, path = %path.display(), "{reason}; polling instead");
    let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
    let polled = notify::PollWatcher::new(forward(sender), config).and_then(|mut w| {
        w.watch(path, mode)?;
        Ok(w)
    });
    match polled {
        Ok(watcher) => (Some(Box::new(watcher)), true, Some(reason)),
        Err(err) => (
            None,
            false,
            Some(format!("the folder cannot be watched: {err}")),
        ),
    }
}
