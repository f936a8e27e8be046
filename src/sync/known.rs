//! Which listed keys already have tasks: the dedupe step of import sync.
//!
//! The strategy is picked once per pass from the storage's link count: nothing to check on
//! a first sync, one query loading every known key into a hash map when they fit in a few
//! tens of megabytes, and one query per batch beyond that, so memory stays bounded for
//! storages of any size.

use std::collections::HashMap;

use crate::db::tasks::LinkedKeys;
use crate::db::{Db, DbError};

/// Up to this many links, a pass loads every known key at its start.
const PRELOAD_LIMIT: i64 = 500_000;

/// The keys of a storage that already have tasks.
pub(super) enum KnownKeys {
    /// The storage has no links yet (a first sync).
    Nothing,
    /// Every linked key, with its number of links (tasks).
    Loaded(HashMap<String, u64>),
    /// Too many to hold: ask the database per batch.
    PerBatch,
}

impl KnownKeys {
    pub(super) async fn of_storage(db: &Db, storage_id: i64) -> Result<KnownKeys, DbError> {
        Ok(
            match db.linked_keys_up_to(storage_id, PRELOAD_LIMIT).await? {
                LinkedKeys::NoLinks => KnownKeys::Nothing,
                LinkedKeys::All(keys) => KnownKeys::Loaded(keys),
                LinkedKeys::TooMany => KnownKeys::PerBatch,
            },
        )
    }

    /// Splits a batch into the keys without tasks and the number of tasks the others have.
    pub(super) async fn split(
        &self,
        db: &Db,
        storage_id: i64,
        batch: Vec<String>,
    ) -> Result<(Vec<String>, u64), DbError> {
        match self {
            KnownKeys::Nothing => Ok((batch, 0)),
            KnownKeys::Loaded(known) => Ok(split_with(batch, known)),
            KnownKeys::PerBatch => {
                let (batch, known) = db.linked_keys_among(storage_id, batch).await?;
                Ok(split_with(batch, &known))
            }
        }
    }
}

fn split_with(batch: Vec<String>, known: &HashMap<String, u64>) -> (Vec<String>, u64) {
    let mut existed = 0;
    let new = batch
        .into_iter()
        .filter(|key| match known.get(key) {
            Some(links) => {
                existed += links;
                false
            }
            None => true,
        })
        .collect();
    (new, existed)
}
