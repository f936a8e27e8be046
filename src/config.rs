//! Validated configuration: CLI flags and environment variables, resolved once at start.
//!
//! This is the only module that reads the environment for settings. Label Studio's own
//! variable names are honoured so existing deployments keep working: a setting `NAME` is
//! looked up as `LABELSYNC_NAME`, then `LABEL_STUDIO_NAME`, then plain `NAME`.

use std::path::{Path, PathBuf};

use crate::cli::StartArgs;

/// Everything the server needs to know, fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub first_user: Option<FirstUser>,
    pub local_files: LocalFilesConfig,
    /// Export storages sync all annotations right after creation (Label Studio's default).
    pub sync_on_target_storage_creation: bool,
    /// Credentials cloud storages fall back to when their own fields are empty.
    pub cloud: CloudDefaults,
    /// Storage syncs that run at the same time.
    pub max_concurrent_syncs: usize,
    /// How long a stopping server waits for running work.
    pub shutdown_timeout: std::time::Duration,
    /// The shortest `sync_interval` a source storage may have.
    pub min_sync_interval: std::time::Duration,
}

/// Label Studio's environment fallbacks for cloud credentials, read once at start.
#[derive(Clone, Default)]
pub struct CloudDefaults {
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub s3_endpoint: Option<String>,
    /// Path of a service-account JSON file (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub google_application_credentials: Option<String>,
    pub azure_account_name: Option<String>,
    pub azure_account_key: Option<String>,
}

impl std::fmt::Debug for CloudDefaults {
    // Only says which fallbacks are set, never their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudDefaults")
            .field("aws_access_key_id", &self.aws_access_key_id.is_some())
            .field("s3_endpoint", &self.s3_endpoint)
            .field(
                "google_application_credentials",
                &self.google_application_credentials.is_some(),
            )
            .field("azure_account_name", &self.azure_account_name.is_some())
            .finish_non_exhaustive()
    }
}

impl CloudDefaults {
    fn from_env() -> CloudDefaults {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        CloudDefaults {
            aws_access_key_id: var("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            aws_session_token: var("AWS_SESSION_TOKEN"),
            s3_endpoint: var("S3_ENDPOINT"),
            google_application_credentials: var("GOOGLE_APPLICATION_CREDENTIALS"),
            azure_account_name: var("AZURE_BLOB_ACCOUNT_NAME"),
            azure_account_key: var("AZURE_BLOB_ACCOUNT_KEY"),
        }
    }
}

/// The user created at start from `--username/--password`.
#[derive(Clone)]
pub struct FirstUser {
    pub email: String,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for FirstUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstUser")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Local Files storage settings (`LOCAL_FILES_*` in Label Studio).
#[derive(Debug, Clone)]
pub struct LocalFilesConfig {
    pub serving_enabled: bool,
    /// Canonical (symlink-free) absolute path.
    pub document_root: PathBuf,
}

/// A setting that cannot be used, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not a boolean; use true/false, 1/0, yes/no or on/off")]
    NotBoolean { name: String, value: String },
    #[error("the local files document root {path:?} cannot be used: {source}")]
    DocumentRoot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no data directory: the platform has no data dir; pass --data-dir or set LABELSYNC_DATA_DIR"
    )]
    NoDataDir,
    #[error("--password (or LABEL_STUDIO_PASSWORD) needs --username (or LABEL_STUDIO_USERNAME)")]
    PasswordWithoutUser,
}

impl Config {
    /// Resolves flags and environment into a validated configuration.
    pub fn from_args(args: &StartArgs) -> Result<Config, ConfigError> {
        let data_dir = match &args.data_dir {
            Some(dir) => dir.clone(),
            None => dirs::data_dir()
                .ok_or(ConfigError::NoDataDir)?
                .join("labelsync"),
        };
        Ok(Config {
            host: args.host.clone(),
            port: args.port,
            data_dir,
            first_user: first_user(args)?,
            local_files: local_files(args)?,
            sync_on_target_storage_creation: env_bool("SYNC_ON_TARGET_STORAGE_CREATION")?
                .unwrap_or(true),
            cloud: CloudDefaults::from_env(),
            max_concurrent_syncs: usize::from(args.max_concurrent_syncs),
            shutdown_timeout: std::time::Duration::from_secs(args.shutdown_timeout),
            min_sync_interval: std::time::Duration::from_secs(args.min_sync_interval),
        })
    }

    /// The SQLite database file inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("labelsync.sqlite3")
    }
}

fn first_user(args: &StartArgs) -> Result<Option<FirstUser>, ConfigError> {
    match (&args.username, &args.password) {
        (None, Some(_)) => Err(ConfigError::PasswordWithoutUser),
        (None, None) => Ok(None),
        (Some(email), password) => Ok(Some(FirstUser {
            email: email.trim().to_owned(),
            password: password.clone(),
            token: args.user_token.clone(),
        })),
    }
}

fn local_files(args: &StartArgs) -> Result<LocalFilesConfig, ConfigError> {
    let serving_enabled = match args.local_files_serving_enabled {
        Some(flag) => flag,
        None => env_bool("LOCAL_FILES_SERVING_ENABLED")?.unwrap_or(false),
    };
    let root = args
        .local_files_document_root
        .clone()
        .or_else(|| env_setting("LOCAL_FILES_DOCUMENT_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"));
    Ok(LocalFilesConfig {
        serving_enabled,
        document_root: canonical_dir(&root)?,
    })
}

fn canonical_dir(path: &Path) -> Result<PathBuf, ConfigError> {
    let canonical = path
        .canonicalize()
        .map_err(|source| ConfigError::DocumentRoot {
            path: path.to_owned(),
            source,
        })?;
    if !canonical.is_dir() {
        return Err(ConfigError::DocumentRoot {
            path: path.to_owned(),
            source: std::io::Error::other("it is not a directory"),
        });
    }
    Ok(canonical)
}

/// Looks a setting up under its three spellings; empty values count as unset.
pub fn env_setting(name: &str) -> Option<String> {
    ["LABELSYNC_", "LABEL_STUDIO_", ""]
        .iter()
        .filter_map(|prefix| std::env::var(format!("{prefix}{name}")).ok())
        .find(|value| !value.trim().is_empty())
}

fn env_bool(name: &str) -> Result<Option<bool>, ConfigError> {
    env_setting(name)
        .map(|value| {
            parse_bool(&value).ok_or_else(|| ConfigError::NotBoolean {
                name: name.to_owned(),
                value,
            })
        })
        .transpose()
}

/// Label Studio's boolean spellings, case-insensitive.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" | "t" => Some(true),
        "0" | "false" | "no" | "off" | "n" | "f" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_label_studio_spellings() {
        for yes in ["1", "true", "TRUE", "Yes", "on"] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "false", "No", "OFF"] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }
}
