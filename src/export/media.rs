//! The images of the `*_WITH_IMAGES` exports, read where the project's tasks point: a
//! local file inside one of the project's Local Files storages, or an object of one of its
//! source storages. Nothing else is read: an export never becomes a way to fetch a file or
//! a bucket the project does not own.

use std::path::PathBuf;

use bytes::Bytes;

use crate::config::LocalFilesConfig;
use crate::db::storages::{Direction, StorageRow};
use crate::db::{Db, DbError};
use crate::resolve::{self, Resolvable};
use crate::storage::ProviderContext;

/// Reads a project's task images.
pub struct MediaReader {
    storages: Vec<StorageRow>,
    buckets: Vec<Resolvable>,
    local_dirs: Vec<PathBuf>,
    local_files: LocalFilesConfig,
    providers: ProviderContext,
}

impl MediaReader {
    pub async fn for_project(
        db: &Db,
        project_id: i64,
        providers: &ProviderContext,
    ) -> Result<MediaReader, DbError> {
        let storages = db
            .storages_of_project(project_id, Direction::Import, None)
            .await?;
        let local_dirs = storages
            .iter()
            .filter(|row| row.kind() == crate::storage::local::PROVIDER.name)
            .filter_map(|row| row.settings.common.location.as_deref())
            .filter_map(|path| std::fs::canonicalize(path).ok())
            .collect();
        Ok(MediaReader {
            buckets: resolve::resolvable(&storages),
            storages,
            local_dirs,
            local_files: providers.local_files.clone(),
            providers: providers.clone(),
        })
    }

    /// The bytes of the image at `uri`, or why they cannot be had.
    pub async fn read(&self, uri: &str) -> Result<Bytes, String> {
        if let Some(path) = crate::local_files::path_of_uri(uri) {
            return self.read_local(&path).await;
        }
        let (storage_id, key) = resolve::locate(uri, &self.buckets)
            .ok_or("not an object of a source storage of this project")?;
        let row = self
            .storages
            .iter()
            .find(|row| row.id == storage_id)
            .ok_or("its storage is gone")?;
        let storage = row
            .settings
            .open(&self.providers)
            .map_err(|err| err.to_string())?;
        storage.read(key).await.map_err(|err| err.to_string())
    }

    /// A file under the document root (`path` relative to it).
    async fn read_local(&self, path: &str) -> Result<Bytes, String> {
        if !self.local_files.serving_enabled {
            return Err(
                "local files serving is off (LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED)".into(),
            );
        }
        let file = crate::local_files::resolve(&self.local_files.document_root, path)
            .map_err(|refusal| refusal.to_string())?;
        if !crate::local_files::inside_any(&file, &self.local_dirs) {
            return Err("not inside a Local Files storage of this project".into());
        }
        tokio::fs::read(&file)
            .await
            .map(Bytes::from)
            .map_err(|err| err.to_string())
    }
}
