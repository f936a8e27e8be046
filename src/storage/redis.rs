//! Redis as a storage: keys under a prefix hold task JSON (source) or exported
//! annotations (target).
//!
//! Listing uses SCAN with MATCH (never KEYS, which blocks the server), de-duplicated (SCAN
//! may return a key twice) and sorted so passes are repeatable. Database 0 is refused, as
//! in Label Studio. The password never appears in a message.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

use super::fields::{
    Applies, CAN_DELETE, Default, EXPORT_LAYOUT, FieldKind, FieldSpec, Input, REGEX_FILTER,
    REIMPORT_CHANGED, REMOVE_VANISHED, SYNC_INTERVAL, Step, secret, text,
};
use super::provider::{Provider, as_given, no_check};
use super::{ObjectInfo, ObjectStream, ProviderContext, Storage, StorageError, StorageSettings};

const DB: FieldSpec = FieldSpec {
    kind: FieldKind::Count,
    default: Default::Int(1),
    input: Input::Number { min: 1, max: 15 },
    ..text("db", "Database Number (db)", "")
}
.help("Database 0 is refused: it is where other programs keep their keys");

const FIELDS: &[FieldSpec] = &[
    text("path", "Path to Files (optional)", "")
        .help("Key prefix scanned for tasks")
        .only(Applies::ImportOnly)
        .on(Step::Import),
    text("path", "Key prefix", "annotations/").only(Applies::ExportOnly),
    text("host", "Host", "localhost").required(),
    text("port", "Port", "6379"),
    secret("password", "Password", "Your redis password"),
    DB.only(Applies::ImportOnly),
    FieldSpec {
        default: Default::Int(2),
        ..DB
    }
    .only(Applies::ExportOnly),
    REGEX_FILTER,
    CAN_DELETE,
    EXPORT_LAYOUT,
    SYNC_INTERVAL,
    REMOVE_VANISHED,
    REIMPORT_CHANGED,
];

pub const PROVIDER: Provider = Provider {
    name: "redis",
    title: "Redis",
    label: "Redis Storage",
    description: "Keys of a Redis database holding task JSON",
    uri: None,
    location_field: "path",
    card: &[("Path", "path"), ("Host", "host"), ("Port", "port")],
    fields: FIELDS,
    check: no_check,
    normalize: as_given,
    open,
};

fn open(
    settings: &StorageSettings,
    _ctx: &ProviderContext,
) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(Arc::new(RedisStorage::new(settings)?))
}

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys asked for per SCAN round.
const SCAN_COUNT: usize = 1_000;

/// A key prefix in one Redis database.
pub struct RedisStorage {
    client: redis::Client,
    connection: OnceCell<MultiplexedConnection>,
    /// `host:port/db`, for messages.
    place: String,
    prefix: String,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("place", &self.place)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStorage {
    pub fn new(settings: &StorageSettings) -> Result<RedisStorage, StorageError> {
        let host = settings.text("host").unwrap_or("localhost");
        let port: u16 = match settings.text("port") {
            None => 6379,
            Some(port) => port.parse().map_err(|_| {
                StorageError::misconfigured(format!(
                    "The Redis port {port:?} is not a port number."
                ))
            })?,
        };
        let db = settings.number("db").unwrap_or(1);
        if db == 0 {
            return Err(StorageError::misconfigured(
                "Redis database 0 is not used by storages: explicitly pass a redis db id (1 or more).".to_owned(),
            ));
        }
        let mut info = redis::RedisConnectionInfo::default().set_db(db);
        if let Some(password) = settings.secret("password") {
            info = info.set_password(password);
        }
        let address = redis::ConnectionAddr::Tcp(host.to_owned(), port);
        let client = redis::IntoConnectionInfo::into_connection_info(address)
            .map(|connection| connection.set_redis_settings(info))
            .and_then(redis::Client::open)
            .map_err(|_| {
                StorageError::misconfigured(format!(
                    "The Redis address {host}:{port} is not valid."
                ))
            })?;
        Ok(RedisStorage {
            client,
            connection: OnceCell::new(),
            place: format!("{host}:{port}/{db}"),
            prefix: settings.common.location.clone().unwrap_or_default(),
        })
    }

    async fn connection(&self) -> Result<MultiplexedConnection, StorageError> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let connect = self.client.get_multiplexed_async_connection();
                match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                    Ok(Ok(connection)) => Ok(connection),
                    Ok(Err(err)) => Err(self.error(&err)),
                    Err(_) => Err(StorageError::unreachable(format!(
                        "Can't connect to Redis server at {}: timed out.",
                        self.place
                    ))),
                }
            })
            .await?;
        Ok(connection.clone())
    }

    /// What a Redis error means for the user, read from its kind and the server's error
    /// code; the error is kept as the cause.
    fn error(&self, err: &redis::RedisError) -> StorageError {
        let place = &self.place;
        let error = if err.is_connection_refusal()
            || err.is_io_error()
            || err.is_timeout()
            || err.is_connection_dropped()
        {
            StorageError::unreachable(format!("Can't connect to Redis server at {place}."))
        } else if err.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(err.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
        {
            StorageError::refused(format!("Redis server at {place} refused the password."))
        } else if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading) {
            StorageError::unreachable(format!(
                "Redis server at {place} is still loading its data; try again in a moment."
            ))
        } else {
            StorageError::other(format!(
                "Redis server at {place} answered an error: {}",
                err.kind_name()
            ))
        };
        error.because(err.clone())
    }

    /// SCAN MATCH pattern for "starts with the prefix": glob characters are escaped.
    fn pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 1);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }

    async fn scan_all(&self) -> Result<Vec<String>, StorageError> {
        let mut connection = self.connection().await?;
        let pattern = self.pattern();
        let mut keys = BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut connection)
                .await
                .map_err(|err| self.error(&err))?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys.into_iter().collect());
            }
            cursor = next;
        }
    }
}

trait RedisErrorName {
    fn kind_name(&self) -> String;
}

impl RedisErrorName for redis::RedisError {
    fn kind_name(&self) -> String {
        self.code()
            .map_or_else(|| format!("{:?}", self.kind()), str::to_owned)
    }
}

#[async_trait]
impl Storage for RedisStorage {
    fn list(&self, _recursive: bool) -> ObjectStream<'_> {
        futures_util::stream::once(self.scan_all())
            .map(|result| match result {
                Ok(keys) => futures_util::stream::iter(keys.into_iter().map(|key| {
                    Ok(ObjectInfo {
                        key,
                        size: None,
                        last_modified: None,
                        etag: None,
                    })
                }))
                .boxed(),
                Err(err) => futures_util::stream::iter([Err(err)]).boxed(),
            })
            .flatten()
            .boxed()
    }

    /// Redis keeps no modification time; the size is the value's length.
    async fn describe(&self, object: ObjectInfo) -> Result<ObjectInfo, StorageError> {
        let mut connection = self.connection().await?;
        let size: u64 = redis::cmd("STRLEN")
            .arg(&object.key)
            .query_async(&mut connection)
            .await
            .map_err(|err| self.error(&err))?;
        Ok(ObjectInfo {
            size: Some(size),
            ..object
        })
    }

    async fn read(&self, key: &str) -> Result<Bytes, StorageError> {
        let mut connection = self.connection().await?;
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .map_err(|err| self.error(&err))?;
        value
            .map(Bytes::from)
            .ok_or_else(|| StorageError::not_found(key.to_owned()))
    }

    async fn write(&self, key: &str, body: Bytes) -> Result<(), StorageError> {
        let mut connection = self.connection().await?;
        redis::cmd("SET")
            .arg(key)
            .arg(body.as_ref())
            .query_async::<()>(&mut connection)
            .await
            .map_err(|err| self.error(&err))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let mut connection = self.connection().await?;
        redis::cmd("DEL")
            .arg(key)
            .query_async::<i64>(&mut connection)
            .await
            .map_err(|err| self.error(&err))?;
        Ok(())
    }

    async fn check(&self) -> Result<(), StorageError> {
        let mut connection = self.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|err| self.error(&err))?;
        Ok(())
    }

    fn key_for(&self, name: &str) -> String {
        match self.prefix.chars().last() {
            None => name.to_owned(),
            Some(':' | '/') => format!("{}{name}", self.prefix),
            Some(_) => format!("{}/{name}", self.prefix),
        }
    }

    fn blob_uri(&self, key: &str) -> String {
        format!("redis://{key}")
    }
}
