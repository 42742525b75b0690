//! Content digests of files and directory trees, with a stat cache.
//!
//! A file's digest is the blake3 of its bytes (what `b3sum` prints). A directory's digest covers
//! every file under it: relative path, size and digest, in path order. The stat cache remembers
//! (path, size, mtime, inode, device) -> digest so that an unchanged large file is not read again;
//! a file modified in the last two seconds is never cached, since a later write within the same
//! clock tick would leave its stat unchanged.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::form_hash::write_str;

/// Tag of the tree encoding.
pub const TREE_ENCODING: &[u8] = b"rung.tree.v1\0";

/// Files younger than this are hashed but not cached.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// One file of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeFile {
    /// The path relative to the tree's root, with `/` separators.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The blake3 of its contents.
    pub digest: Digest,
}

/// The digest of a tree given its files in path order.
pub fn tree_digest(files: &[TreeFile]) -> Digest {
    let mut hasher = blake3::Hasher::new();
    hasher.update(TREE_ENCODING);
    hasher.update(&(files.len() as u64).to_le_bytes());
    for file in files {
        write_str(&mut hasher, &file.path);
        hasher.update(&file.size.to_le_bytes());
        hasher.update(file.digest.as_bytes());
    }
    Digest::of_hasher(&hasher)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    device: u64,
}

impl Stat {
    fn of(meta: &fs::Metadata) -> Stat {
        Stat {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stat: Stat,
    digest: Digest,
}

/// Hashes files and trees, remembering digests by stat.
#[derive(Debug, Default)]
pub struct ContentHasher {
    entries: Mutex<HashMap<PathBuf, Entry>>,
    dirty: AtomicBool,
    file: Option<PathBuf>,
}

impl ContentHasher {
    /// A hasher whose cache lives only as long as it does.
    pub fn in_memory() -> ContentHasher {
        ContentHasher::default()
    }

    /// A hasher whose cache is read from (and saved to) `file`. A missing or unreadable cache is
    /// an empty one: it only ever saves work.
    pub fn persistent(file: PathBuf) -> ContentHasher {
        let entries = fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        ContentHasher {
            entries: Mutex::new(entries),
            dirty: AtomicBool::new(false),
            file: Some(file),
        }
    }

    /// Writes the cache back if it changed, atomically.
    pub fn save(&self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let bytes = {
            let entries = self.lock();
            serde_json::to_vec(&*entries).map_err(io::Error::other)?
        };
        crate::store::write_atomically(file, &bytes)
    }

    /// Forgets cached digests of paths that no longer exist.
    pub fn prune(&self) {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|path, _| path.exists());
        if entries.len() != before {
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The digest of a file, or of a directory's tree.
    pub fn path_digest(&self, path: &Path) -> io::Result<Digest> {
        let meta = fs::metadata(path)?;
        if meta.is_dir() {
            Ok(tree_digest(&self.tree(path)?))
        } else {
            self.file_digest_with(path, &meta)
        }
    }

    /// The files under `root`, in path order, with their digests. Symbolic links are followed.
    pub fn tree(&self, root: &Path) -> io::Result<Vec<TreeFile>> {
        list_tree(root, Links::Follow, &mut |path, meta| {
            self.file_digest_with(path, meta)
        })
    }

    fn file_digest_with(&self, path: &Path, meta: &fs::Metadata) -> io::Result<Digest> {
        let stat = Stat::of(meta);
        if let Some(entry) = self.lock().get(path)
            && entry.stat == stat
        {
            return Ok(entry.digest);
        }
        let digest = hash_file(path)?;
        let settled = meta
            .modified()
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age >= RACY_WINDOW);
        if settled {
            self.lock()
                .insert(path.to_path_buf(), Entry { stat, digest });
            self.dirty.store(true, Ordering::Relaxed);
        }
        Ok(digest)
    }
}

/// What a tree walk does with symbolic links and special files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// Follow links (input trees).
    Follow,
    /// Refuse anything but regular files and directories (outputs must hold their bytes).
    Refuse,
}

/// The files under `root` in path order, each digested by `digest`.
pub(crate) fn list_tree(
    root: &Path,
    links: Links,
    digest: &mut dyn FnMut(&Path, &fs::Metadata) -> io::Result<Digest>,
) -> io::Result<Vec<TreeFile>> {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("`{}` is not a UTF-8 file name", path.display()),
                ));
            };
            let meta = match links {
                Links::Follow => fs::metadata(&path)?,
                Links::Refuse => fs::symlink_metadata(&path)?,
            };
            let relative = format!("{prefix}{name}");
            if meta.is_dir() {
                stack.push((path, format!("{relative}/")));
            } else if meta.is_file() {
                let digest = digest(&path, &meta)?;
                files.push(TreeFile {
                    path: relative,
                    size: meta.len(),
                    digest,
                });
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("`{relative}` is not a regular file or directory"),
                ));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The blake3 of a file's bytes, read in full (no cache).
pub fn hash_file(path: &Path) -> io::Result<Digest> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(fs::File::open(path)?)?;
    Ok(Digest::of_hasher(&hasher))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_digest_covers_names_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("a.txt"), "1").unwrap();
        fs::write(dir.path().join("sub/b.txt"), "2").unwrap();
        let hasher = ContentHasher::in_memory();
        let tree = hasher.tree(dir.path()).unwrap();
        assert_eq!(
            tree.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["a.txt", "sub/b.txt"]
        );
        assert_eq!(
            tree[0].digest,
            hash_file(&dir.path().join("a.txt")).unwrap()
        );
        let before = hasher.path_digest(dir.path()).unwrap();
        fs::rename(dir.path().join("a.txt"), dir.path().join("c.txt")).unwrap();
        assert_ne!(hasher.path_digest(dir.path()).unwrap(), before);
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(time).unwrap();
    }

    #[test]
    fn the_stat_cache_answers_for_settled_files_and_survives_a_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        fs::write(&path, "x").unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        set_mtime(&path, old);
        let cache = dir.path().join("stat-cache.json");
        let hasher = ContentHasher::persistent(cache.clone());
        let digest = hasher.path_digest(&path).unwrap();
        hasher.save().unwrap();

        // Rewrite the bytes but restore size and mtime: only the cache can still answer `x`.
        fs::write(&path, "y").unwrap();
        set_mtime(&path, old);
        let reloaded = ContentHasher::persistent(cache);
        assert_eq!(reloaded.path_digest(&path).unwrap(), digest);
        assert_ne!(hash_file(&path).unwrap(), digest);
    }

    #[test]
    fn a_fresh_file_is_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        fs::write(&path, "x").unwrap();
        let hasher = ContentHasher::in_memory();
        hasher.path_digest(&path).unwrap();
        assert!(hasher.lock().is_empty());
    }
}
