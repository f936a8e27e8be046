//! labelsync: Label Studio's cloud and external storage feature as one self-contained binary.
//!
//! How a request flows: [`http`] holds the only route table; handlers authenticate through
//! [`auth`], read and write SQLite only through [`db`], and hand long work to [`jobs`], the
//! one background runner, which runs [`sync`] (source storages → tasks), [`export`]
//! (annotations → target storages) and WAL checkpoints, and stops them all on SIGTERM. Both
//! kinds of sync report through [`progress`] and talk to storage back ends only through
//! the [`storage::Storage`] trait, whose providers are listed in [`storage::PROVIDERS`].
//!
//! Dependencies point down, never back (`tests/integration/architecture.rs` checks it):
//! app → http → jobs → (sync, export) → (progress, records, db) → storage → error.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod export;
pub mod http;
pub mod jobs;
pub mod jwt;
pub mod label_config;
pub mod local_files;
pub mod logging;
pub mod memory;
pub mod predictions;
pub mod progress;
pub mod records;
pub mod resolve;
pub mod storage;
pub mod sync;
pub mod task_query;
pub mod time;
pub mod webhooks;
