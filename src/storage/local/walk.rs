//! A local directory tree walked into a compact listing in Label Studio's order.
//!
//! Each directory's path is kept once and each file name once, in one buffer, with 32
//! bytes of numbers per file: a million files cost about 45 MB while they wait for the
//! sync, where a `String` key and an `ObjectInfo` each cost three times that. Keys are built
//! only as the listing is read. Subdirectories are walked by one thread per core; each file
//! is stat'ed by the thread that lists its directory (its size and time tell a changed file).

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::{ObjectInfo, Sieve, StorageError, io_error};

/// One file of a walk.
#[derive(Debug, Clone, Copy)]
struct File {
    /// Its directory, in [`Walk::dirs`].
    dir: u32,
    /// Its name: `names[name..name + name_len]`.
    name: u32,
    name_len: u32,
    /// Its size, [`UNKNOWN_SIZE`] when the file system does not tell (no `Option`: it
    /// would take 8 bytes more, and 16 MB more for a million files).
    size: u64,
    /// Milliseconds since the epoch, [`UNKNOWN_TIME`] when the file system does not tell.
    modified: i64,
}

const UNKNOWN_SIZE: u64 = u64::MAX;
const UNKNOWN_TIME: i64 = i64::MIN;

/// Files under a directory, compactly.
#[derive(Debug, Default)]
pub(super) struct Walk {
    dirs: Vec<String>,
    names: String,
    files: Vec<File>,
}

/// Files under `dir` (one level, or all when `recursive`), sorted by file name and then
/// path, as Label Studio orders them. Directory symlinks are not followed (no loops).
/// With a `sieve`, each thread leaves out the files it holds before they are merged and
/// sorted: a sync with nothing new sorts and streams nothing.
pub(super) fn walk(
    dir: &Path,
    recursive: bool,
    sieve: Option<&dyn Sieve>,
) -> Result<Walk, StorageError> {
    let mut top = Walk::default();
    let mut subdirs = Vec::new();
    top.read_dir(dir, recursive.then_some(&mut subdirs))?;
    if let Some(sieve) = sieve {
        top.sift(sieve);
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(subdirs.len().max(1));
    let parts: Vec<Result<Walk, StorageError>> = std::thread::scope(|scope| {
        let subdirs = &subdirs;
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    let share = subdirs.iter().skip(worker).step_by(threads).cloned();
                    let mut part = Walk::below(share.collect())?;
                    if let Some(sieve) = sieve {
                        part.sift(sieve);
                    }
                    Ok(part)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StorageError::other("directory walk failed")))
            })
            .collect()
    });
    let mut parts = parts.into_iter().collect::<Result<Vec<Walk>, _>>()?;
    parts.push(top);
    // The largest part takes in the others (the order is made by the sort): its buffers grow
    // in place by exactly the room needed, so the listing is never held twice (a million
    // files: 40 MB less at the peak than copying every part into a new one).
    let largest = (0..parts.len())
        .max_by_key(|&i| parts[i].files.len())
        .unwrap_or_default();
    let mut all = parts.swap_remove(largest);
    all.files
        .reserve_exact(parts.iter().map(|part| part.files.len()).sum());
    all.names
        .reserve_exact(parts.iter().map(|part| part.names.len()).sum());
    for part in parts {
        all.append(part);
    }
    all.sort();
    Ok(all)
}

impl Walk {
    /// Every file below the given directories.
    fn below(mut pending: Vec<PathBuf>) -> Result<Walk, StorageError> {
        let mut walk = Walk::default();
        while let Some(current) = pending.pop() {
            walk.read_dir(&current, Some(&mut pending))?;
        }
        walk.files.shrink_to_fit();
        Ok(walk)
    }

    /// Adds the files of one directory (with their size and time) and, when asked, its
    /// subdirectories to `subdirs`.
    fn read_dir(
        &mut self,
        dir: &Path,
        mut subdirs: Option<&mut Vec<PathBuf>>,
    ) -> Result<(), StorageError> {
        let failed = |err: std::io::Error| io_error(&dir.to_string_lossy(), "list", err);
        let Some(dir_name) = dir.to_str() else {
            tracing::warn!(dir = ?dir, "skipping a directory whose path is not UTF-8");
            return Ok(());
        };
        let dir_index = self.dirs.len() as u32;
        self.dirs.push(dir_name.to_owned());
        for entry in std::fs::read_dir(dir).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            let kind = entry.file_type().map_err(failed)?;
            if kind.is_dir() {
                if let Some(subdirs) = subdirs.as_deref_mut() {
                    subdirs.push(entry.path());
                }
                continue;
            }
            let meta = if kind.is_file() {
                entry.metadata().ok()
            } else if kind.is_symlink() {
                // A symlink to a file is listed as the file it points to.
                match entry.path().metadata() {
                    Ok(meta) if meta.is_file() => Some(meta),
                    _ => continue,
                }
            } else {
                continue;
            };
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                tracing::warn!(file = ?entry.path(), "skipping a file whose name is not UTF-8");
                continue;
            };
            self.files.push(File {
                dir: dir_index,
                name: self.names.len() as u32,
                name_len: name.len() as u32,
                size: meta.as_ref().map_or(UNKNOWN_SIZE, std::fs::Metadata::len),
                modified: meta
                    .and_then(|m| m.modified().ok())
                    .map_or(UNKNOWN_TIME, |t| {
                        chrono::DateTime::<chrono::Utc>::from(t).timestamp_millis()
                    }),
            });
            self.names.push_str(name);
        }
        Ok(())
    }

    /// Leaves out the files `sieve` holds, asked a chunk at a time.
    fn sift(&mut self, sieve: &dyn Sieve) {
        const CHUNK: usize = 1024;
        if self.files.is_empty() || sieve.is_empty() {
            return;
        }
        let mut held = Vec::with_capacity(self.files.len());
        // One chunk of objects, filled again for each chunk (the keys keep their buffers).
        let mut objects = Vec::with_capacity(CHUNK);
        for chunk in self.files.chunks(CHUNK) {
            objects.resize_with(chunk.len(), ObjectInfo::default);
            for (object, file) in objects.iter_mut().zip(chunk) {
                fill_object(object, &self.dirs, &self.names, file);
            }
            held.extend(sieve.held(&objects));
        }
        let mut held = held.into_iter();
        self.files.retain(|_| !held.next().unwrap_or(false));
    }

    /// Takes in another walk's files.
    fn append(&mut self, other: Walk) {
        let (dirs, names) = (self.dirs.len() as u32, self.names.len() as u32);
        self.files.extend(other.files.into_iter().map(|file| File {
            dir: file.dir + dirs,
            name: file.name + names,
            ..file
        }));
        self.dirs.extend(other.dirs);
        self.names.push_str(&other.names);
    }

    fn name(&self, file: &File) -> &str {
        &self.names[file.name as usize..(file.name + file.name_len) as usize]
    }

    /// Label Studio's order: by file name, then (for equal names) by path.
    fn sort(&mut self) {
        let mut files = std::mem::take(&mut self.files);
        files.sort_unstable_by(|a, b| {
            self.name(a)
                .cmp(self.name(b))
                .then_with(|| self.path_order(a, b))
        });
        self.files = files;
    }

    /// Two files of the same name, by their whole paths.
    fn path_order(&self, a: &File, b: &File) -> Ordering {
        let path = |file: &File| {
            let dir = self.dirs[file.dir as usize].as_bytes();
            dir.iter().chain(b"/").chain(self.name(file).as_bytes())
        };
        path(a).cmp(path(b))
    }

    /// The files as listed objects, their keys built one at a time.
    pub(super) fn into_objects(self) -> impl Iterator<Item = ObjectInfo> + Send {
        let Walk { dirs, names, files } = self;
        files
            .into_iter()
            .map(move |file| object_of(&dirs, &names, &file))
    }
}

/// A file of a walk as a listed object.
fn object_of(dirs: &[String], names: &str, file: &File) -> ObjectInfo {
    let mut object = ObjectInfo::default();
    fill_object(&mut object, dirs, names, file);
    object
}

/// Makes `object` a file of a walk, in place (its key's buffer is kept).
fn fill_object(object: &mut ObjectInfo, dirs: &[String], names: &str, file: &File) {
    let name = &names[file.name as usize..(file.name + file.name_len) as usize];
    let dir = &dirs[file.dir as usize];
    object.key.clear();
    object.key.reserve_exact(dir.len() + 1 + name.len());
    object.key.push_str(dir);
    object.key.push('/');
    object.key.push_str(name);
    object.size = Some(file.size).filter(|&size| size != UNKNOWN_SIZE);
    object.last_modified = Some(file.modified)
        .filter(|&time| time != UNKNOWN_TIME)
        .and_then(chrono::DateTime::from_timestamp_millis);
    object.etag = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<File>(), 32);
    }

    #[test]
    fn files_come_by_name_then_by_whole_path_with_their_size() {
        let root = tempfile::tempdir().unwrap();
        for path in ["b/x.png", "a/y.png", "a/x.png", "a-c/x.png", "z.png"] {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "1234").unwrap();
        }
        let base = root.path().to_str().unwrap();
        let walk = walk(root.path(), true, None).unwrap();
        let objects: Vec<ObjectInfo> = walk.into_objects().collect();
        let keys: Vec<String> = objects
            .iter()
            .map(|o| o.key.strip_prefix(base).unwrap().to_owned())
            .collect();
        // "a-c/x.png" before "a/x.png": '-' sorts before '/' in the whole path.
        assert_eq!(
            keys,
            ["/a-c/x.png", "/a/x.png", "/b/x.png", "/a/y.png", "/z.png"]
        );
        assert!(objects.iter().all(|o| o.size == Some(4)));
        assert!(objects.iter().all(|o| o.last_modified.is_some()));
        let top: Vec<ObjectInfo> = walk_top(root.path());
        assert_eq!(top.len(), 1, "one level lists only the top's files");
    }

    fn walk_top(dir: &Path) -> Vec<ObjectInfo> {
        walk(dir, false, None).unwrap().into_objects().collect()
    }

    /// Holds the files of one name, and counts what it was asked.
    struct HoldsName(&'static str, std::sync::atomic::AtomicUsize);

    impl Sieve for HoldsName {
        fn held(&self, objects: &[ObjectInfo]) -> Vec<bool> {
            self.1
                .fetch_add(objects.len(), std::sync::atomic::Ordering::Relaxed);
            objects
                .iter()
                .map(|o| o.key.ends_with(self.0) && o.size == Some(1))
                .collect()
        }

        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    #[test]
    fn a_sieve_leaves_out_what_it_holds_from_every_thread() {
        let root = tempfile::tempdir().unwrap();
        for dir in 0..20 {
            for name in ["x.png", "y.png"] {
                let path = root.path().join(format!("d{dir}/{name}"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, "1").unwrap();
            }
        }
        std::fs::write(root.path().join("x.png"), "1").unwrap();
        let sieve = HoldsName("/x.png", Default::default());
        let listed: Vec<ObjectInfo> = walk(root.path(), true, Some(&sieve))
            .unwrap()
            .into_objects()
            .collect();
        assert_eq!(listed.len(), 20);
        assert!(listed.iter().all(|o| o.key.ends_with("/y.png")));
        assert_eq!(sieve.1.into_inner(), 41, "every file asked once");

        let empty = HoldsName("", Default::default());
        assert_eq!(
            walk(root.path(), true, Some(&empty)).unwrap().files.len(),
            41
        );
        assert_eq!(empty.1.into_inner(), 0, "an empty sieve is not asked");
    }
}
