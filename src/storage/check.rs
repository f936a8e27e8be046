//! "Check connection" and "Load preview", written once against the [`Storage`] trait.
//!
//! A source check lists what sync would see (bounded in count and time) and reports how
//! many objects are under the prefix, how many pass the filter, and a few sample keys, so
//! "the check passes but sync imports nothing" cannot surprise anyone. A target check
//! writes and removes a probe object, proving the credentials may write.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use super::{KeyFilter, Storage, StorageError};

/// Objects a source check looks at before it stops counting.
const SCAN_LIMIT: u64 = 10_000;
/// How long a source check or a preview may list.
const SCAN_TIME: Duration = Duration::from_secs(30);
/// Sample keys a source check returns.
const SAMPLES: usize = 5;

/// What a source check found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceReport {
    /// Objects listed under the prefix (up to the scan limit).
    pub objects: u64,
    /// Of those, how many the regex filter keeps.
    pub matching: u64,
    /// A few keys that sync would import.
    pub sample_keys: Vec<String>,
    /// True when the listing stopped at the scan limit or time before its end.
    pub truncated: bool,
}

/// Lists the source as sync would and counts what it would import.
pub async fn source_report(
    storage: &dyn Storage,
    recursive: bool,
    filter: &KeyFilter,
) -> Result<SourceReport, StorageError> {
    let started = Instant::now();
    let mut report = SourceReport {
        objects: 0,
        matching: 0,
        sample_keys: Vec::new(),
        truncated: false,
    };
    let mut listing = storage.list(recursive);
    while let Some(object) = listing.next().await {
        let object = object?;
        report.objects += 1;
        if filter.matches(storage.filter_subject(&object.key)) {
            report.matching += 1;
            if report.sample_keys.len() < SAMPLES {
                report.sample_keys.push(object.key);
            }
        }
        if report.objects >= SCAN_LIMIT || started.elapsed() > SCAN_TIME {
            report.truncated = true;
            break;
        }
    }
    Ok(report)
}

/// Writes and removes a probe object.
pub async fn target_probe(storage: &dyn Storage) -> Result<(), StorageError> {
    let key = storage.key_for(&format!(
        ".labelsync-write-check-{}",
        uuid::Uuid::new_v4().simple()
    ));
    storage.write(&key, Bytes::from_static(b"{}")).await?;
    storage.delete(&key).await
}

/// One entry of a preview listing; the trailing marker has every field null.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PreviewEntry {
    pub key: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub size: Option<u64>,
}

/// Up to `limit` objects the filter keeps, then a null entry if there were more (Label
/// Studio's truncation marker) or a timeout entry if listing took too long.
pub async fn preview(
    storage: &dyn Storage,
    recursive: bool,
    filter: &KeyFilter,
    limit: usize,
) -> Result<Vec<PreviewEntry>, StorageError> {
    let started = Instant::now();
    let mut files = Vec::new();
    let mut listing = storage.list(recursive);
    while let Some(object) = listing.next().await {
        let object = object?;
        if !filter.matches(storage.filter_subject(&object.key)) {
            continue;
        }
        if files.len() == limit {
            files.push(PreviewEntry {
                key: None,
                last_modified: None,
                size: None,
            });
            break;
        }
        // Up to `limit` objects: asking each for its size costs no more than the listing.
        // A key the provider cannot describe (gone since the listing, a Redis key of another
        // type) is still listed, without its size.
        let object = if object.size.is_none() {
            match storage.describe(object.clone()).await {
                Ok(described) => described,
                Err(err) => {
                    tracing::debug!(key = %object.key, "preview: no size for the object: {err}");
                    object
                }
            }
        } else {
            object
        };
        files.push(PreviewEntry {
            key: Some(object.key),
            last_modified: object.last_modified,
            size: object.size,
        });
        if started.elapsed() > SCAN_TIME {
            files.push(PreviewEntry {
                key: Some("... storage scan timeout reached ...".to_owned()),
                last_modified: None,
                size: None,
            });
            break;
        }
    }
    Ok(files)
}
