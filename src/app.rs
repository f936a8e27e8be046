//! Server assembly: state, start-up checks, and the run loop.

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};

use crate::auth::{self, FirstUserOutcome};
use crate::cli::StartArgs;
use crate::config::{Config, ConfigError};
use crate::db::{Db, DbError};
use crate::export::outbox::{self, ExportQueue};
use crate::http::AppState;
use crate::jobs::{Runner, Syncs};
use crate::storage::ProviderContext;

/// Why the server did not start, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "another labelsync server is already using the data directory {0}; stop it first, or start this one with another --data-dir"
    )]
    DataDirInUse(String),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// `labelsync start`: resolves the configuration and serves until stopped.
pub fn start(args: StartArgs) -> Result<(), StartupError> {
    crate::memory::hold_less();
    let config = Config::from_args(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(serve(config));
    // Whatever outlived the deadline is dropped here; it resumes at the next start.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

/// Serves the API and the UI until SIGTERM or Ctrl-C, then stops within the configured
/// deadline: no new connections, requests in flight answered, syncs paused at a batch
/// boundary with their cursor stored, due exports delivered, the WAL folded back.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    let data_dir = config.data_dir.display().to_string();
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let _lock = lock_data_dir(&config)?;
    let db = Db::open(&config.database_path())?;
    prepare_first_user(&db, &config).await?;
    let address = format!("{}:{}", config.host, config.port);
    let listener =
        TcpListener::bind(&address).map_err(|source| StartupError::Listen { address, source })?;
    let bound = listener.local_addr()?;

    let runner = Runner::new(tokio::runtime::Handle::current(), Some(db.clone()));
    let state = start_background(&config, db.clone(), &runner).await?;
    let deadline = config.shutdown_timeout;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(
                crate::http::webhook_payloads,
            ))
            .wrap(crate::http::error_envelopes())
            .wrap(actix_web::middleware::from_fn(
                crate::http::head_and_options,
            ))
            .configure(crate::http::configure)
    })
    .disable_signals()
    .shutdown_timeout(deadline.as_secs())
    .listen(listener)?
    .run();
    let stop_asked = Arc::new(OnceLock::new());
    tokio::spawn(stop_on_signal(server.handle(), stop_asked.clone()));
    tracing::info!(data_dir = %data_dir, "labelsync listening on http://{bound}");
    // Tests and scripts read this line to learn the port when started with --port 0.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "labelsync listening on http://{bound}");
    let _ = stdout.flush();
    server.await?;

    let since_stop = stop_asked.get().map_or(Duration::ZERO, Instant::elapsed);
    let left = runner.shut_down(deadline.saturating_sub(since_stop)).await;
    if !left.is_empty() {
        tracing::warn!(jobs = ?left, "stopping without waiting longer; interrupted syncs resume at the next start");
    }
    db.checkpoint(true).await;
    tracing::info!("labelsync stopped");
    Ok(())
}

/// Starts the background jobs (checkpoints, the export worker, interrupted syncs) and
/// returns the state the handlers share.
async fn start_background(
    config: &Config,
    db: Db,
    runner: &Runner,
) -> Result<web::Data<AppState>, StartupError> {
    let providers = ProviderContext {
        local_files: config.local_files.clone(),
        cloud: config.cloud.clone(),
    };
    runner.spawn_checkpoints(db.clone());
    let exports = ExportQueue::default();
    runner.spawn(
        "export outbox",
        outbox::run(
            db.clone(),
            providers.clone(),
            exports.clone(),
            runner.stop_signal(),
        ),
    );
    let hooks = crate::webhooks::Hooks::new(db.clone());
    runner.spawn(
        "webhook deliveries",
        crate::webhooks::delivery::run(db.clone(), hooks.clone(), runner.stop_signal()),
    );
    let syncs = Syncs::new(
        db.clone(),
        providers.clone(),
        runner.clone(),
        config.max_concurrent_syncs,
    );
    syncs.resume_interrupted().await?;
    runner.spawn(
        "watched folders",
        crate::jobs::watches::run(db.clone(), syncs.clone(), runner.stop_signal()),
    );
    runner.spawn(
        "sync schedules",
        crate::jobs::schedules::run(db.clone(), syncs.clone(), runner.stop_signal()),
    );
    crate::export::snapshot::recover(&db, &config.data_dir).await?;
    let fresh_key = format!("{}{}", auth::new_secret(), auth::new_secret());
    let key = db.signing_key(fresh_key).await?;
    Ok(web::Data::new(AppState {
        config: config.clone(),
        db,
        syncs,
        exports,
        hooks,
        providers,
        keys: crate::jwt::Keys::new(&key),
    }))
}

/// Waits for SIGTERM or Ctrl-C, then stops the HTTP server gracefully (no new connections;
/// requests in flight get until the deadline) and notes when that was asked.
async fn stop_on_signal(server: actix_web::dev::ServerHandle, asked: Arc<OnceLock<Instant>>) {
    let signal = wait_for_stop_signal().await;
    let _ = asked.set(Instant::now());
    tracing::info!("{signal}: stopping");
    server.stop(true).await;
}

#[cfg(unix)]
async fn wait_for_stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return "Ctrl-C";
    };
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
    }
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// Holds an exclusive lock on the data directory for the life of the server, so two
/// servers never write one database.
fn lock_data_dir(config: &Config) -> Result<File, StartupError> {
    let path = config.data_dir.join("labelsync.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StartupError::DataDir {
            path: path.display().to_string(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartupError::DataDirInUse(
            config.data_dir.display().to_string(),
        )),
        Err(std::fs::TryLockError::Error(source)) => Err(StartupError::DataDir {
            path: path.display().to_string(),
            source,
        }),
    }
}

async fn prepare_first_user(db: &Db, config: &Config) -> Result<(), StartupError> {
    if let Some(first) = &config.first_user {
        match auth::ensure_first_user(db, first).await? {
            FirstUserOutcome::Created => {
                tracing::info!(user = %first.email, "created the first user")
            }
            FirstUserOutcome::Existed => {}
            FirstUserOutcome::NeedsPassword => tracing::warn!(
                user = %first.email,
                "user does not exist; pass --password (or LABEL_STUDIO_PASSWORD) to create it"
            ),
        }
        return Ok(());
    }
    if db.user_count().await? == 0 {
        tracing::warn!(
            "no user exists yet: open /user/signup in a browser to create the first one, or restart with --username and --password (or LABEL_STUDIO_USERNAME / LABEL_STUDIO_PASSWORD)"
        );
    }
    Ok(())
}
