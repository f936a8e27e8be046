//! The command line (clap). Flags override environment variables, which override defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// labelsync: Label Studio compatible projects, tasks, annotations and cloud storage sync,
/// served from one binary with an embedded SQLite database.
#[derive(Debug, Parser)]
#[command(name = "labelsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web server (REST API, admin UI, background sync).
    Start(StartArgs),
}

/// Options of `labelsync start`.
#[derive(Clone, Args)]
pub struct StartArgs {
    /// Address to listen on.
    #[arg(long, env = "LABELSYNC_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free port; the chosen address is printed on stdout).
    #[arg(long, short, env = "LABELSYNC_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Directory holding the SQLite database [default: the platform data directory,
    /// e.g. ~/.local/share/labelsync].
    #[arg(long, env = "LABELSYNC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// E-mail (user name) of the first user, created at start if missing.
    #[arg(long, env = "LABEL_STUDIO_USERNAME")]
    pub username: Option<String>,

    /// Password of the first user (needed to create it).
    #[arg(long, env = "LABEL_STUDIO_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// API token of the first user (`Authorization: Token <token>`); random if omitted.
    #[arg(long, env = "LABEL_STUDIO_USER_TOKEN", hide_env_values = true)]
    pub user_token: Option<String>,

    /// Document root for Local Files storages [env: LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT,
    /// LABELSYNC_LOCAL_FILES_DOCUMENT_ROOT or LOCAL_FILES_DOCUMENT_ROOT; default: /].
    #[arg(long)]
    pub local_files_document_root: Option<PathBuf>,

    /// Allow serving local files under the document root [env:
    /// LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED, LABELSYNC_… or LOCAL_FILES_SERVING_ENABLED].
    #[arg(long)]
    pub local_files_serving_enabled: Option<bool>,

    /// Storage syncs that run at the same time; more wait in `queued`.
    #[arg(long, env = "LABELSYNC_MAX_CONCURRENT_SYNCS", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_syncs: u16,

    /// Seconds a stopping server (SIGTERM, Ctrl-C) gives running syncs, requests and
    /// exports to finish before it exits; what is cut short resumes at the next start.
    #[arg(long, env = "LABELSYNC_SHUTDOWN_TIMEOUT", default_value_t = 8)]
    pub shutdown_timeout: u64,

    /// The shortest schedule a source storage may have (`sync_interval`), in seconds.
    #[arg(long, env = "LABELSYNC_MIN_SYNC_INTERVAL", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub min_sync_interval: u64,
}

impl std::fmt::Debug for StartArgs {
    // Hand-written so that a password or token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartArgs")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("max_concurrent_syncs", &self.max_concurrent_syncs)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("min_sync_interval", &self.min_sync_interval)
            .field("data_dir", &self.data_dir)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "user_token",
                &self.user_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}
