//! labelsync: Label Studio's cloud and external storage feature as one self-contained binary.
//!
//! How a request flows: [`http`] holds the only route table; handlers authenticate through
//! [`auth`], read and write SQLite only through [`db`], and hand long work to [`jobs`], which
//! runs [`sync`] (source storages → tasks) and [`export`] (annotations → target storages) in
//! the background. Both talk to storage back ends only through the [`storage::Storage`] trait.
//! Dependencies point down: http → (jobs, sync, export, local_files) → (db, storage).

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
pub mod predictions;
pub mod records;
pub mod resolve;
pub mod storage;
pub mod sync;
pub mod task_query;
pub mod time;
