//! Integration tests: the real binary, a real SQLite file, real directories, over HTTP.
//! One test binary (all modules below) so the server binary is built once.

mod architecture;
mod auth;
mod backends;
mod cloud;
mod common;
mod conformance;
mod current;
mod data_manager;
mod editor_build;
mod errors;
mod export;
mod faults;
mod filters;
mod ids;
mod layouts;
mod local_files;
mod project_export;
mod protocol;
mod restart;
mod sync;
mod ui;
mod webhooks;
mod workflow;
