//! The store: content-addressed output trees plus an action cache from keys to outputs.
//!
//! Layout under the store's root (`.rung/` by default):
//!
//! ```text
//! VERSION                      format marker
//! objects/ab/cdef…/            an output tree, named by its tree digest (files read-only)
//! actions/ab/cdef….json        key -> output tree, file manifest and provenance
//! locks/<key>.lock             per-key lock files (flock), so a key is computed once
//! tmp/<key>/                   a node's output while it is being computed
//! logs/<key>.log               a node's log
//! specs/<digest>.json          the last run of a spec: node names -> keys (explanations, gc roots)
//! runs/<time>-<pid>.json       what each `rung run` executed and found cached
//! stat-cache.json              (path, size, mtime, inode) -> digest of input files and objects
//! ```
//!
//! Publishing is two atomic renames: the finished output tree into `objects/`, then the action
//! entry into `actions/`. The action entry is the commit point: a process killed at any moment
//! leaves either no entry or a complete one, and leftovers in `tmp/` are never read.

mod maintenance;
mod records;

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::content::{ContentHasher, Links, TreeFile, hash_file, list_tree, tree_digest};
use crate::digest::Digest;

pub use maintenance::{GcReport, VerifyReport};
pub use records::{NodeRecord, RunRecord, SpecRecord};

/// The store format this build reads and writes.
const FORMAT: &str = "rung-store 1\n";

/// The action entry format.
const ACTION_FORMAT: u32 = 1;

/// Something went wrong with the store's files; the message names the path and what was tried.
#[derive(Debug)]
pub struct StoreError {
    /// What rung was doing.
    pub doing: String,
    /// The path involved.
    pub path: PathBuf,
    /// The underlying error.
    pub source: io::Error,
}

impl StoreError {
    pub(crate) fn new(doing: impl Into<String>, path: &Path, source: io::Error) -> StoreError {
        StoreError {
            doing: doing.into(),
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} `{}`: {}",
            self.doing,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Where a node's inputs came from, for the provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The parameter it was given in (`data`, `inputs[2]`).
    pub param: String,
    /// The upstream node's name, or the file's path as written in the spec.
    pub name: String,
    /// `node` or `file`.
    pub kind: String,
    /// The upstream output's or the file's digest.
    pub digest: Digest,
}

/// How a node's output came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The node's name in the spec that ran it.
    pub node: String,
    /// The operation.
    pub operation: String,
    /// Its implementation version.
    pub version: u32,
    /// Every parameter, defaults filled in, as JSON.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The upstream outputs and files read.
    pub inputs: Vec<InputRecord>,
    /// The `seed` parameter, when the operation has one.
    pub seed: Option<i64>,
    /// rung's version.
    pub rung_version: String,
    /// What the operation computed on (`cpu`, `cuda`), as it recorded it.
    pub backend: String,
    /// The device (`cpu`, `cuda:0`), as the operation recorded it.
    pub device: String,
    /// Other facts the operation recorded (precision, library versions...).
    pub facts: std::collections::BTreeMap<String, String>,
    /// The host that ran it.
    pub host: String,
    /// When it started (RFC 3339, UTC).
    pub start: String,
    /// How long it took, in seconds.
    pub duration_s: f64,
    /// How many attempts it took.
    pub attempts: u32,
}

/// An action cache entry: a key's output tree, its files and its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionEntry {
    /// The entry format.
    pub format: u32,
    /// The key.
    pub key: Digest,
    /// The output tree's digest.
    pub output: Digest,
    /// The output's files.
    pub files: Vec<TreeFile>,
    /// How it was computed.
    pub provenance: Provenance,
}

/// The part of an entry a lookup needs; the rest is skipped when parsing.
#[derive(Deserialize)]
struct EntryHead {
    format: u32,
    key: Digest,
    output: Digest,
}

/// The outcome of looking a key up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The key's output is in the store.
    Hit(Digest),
    /// The key was never computed (or its entry was removed).
    Miss,
    /// An entry exists but cannot be used; the next run recomputes and replaces it.
    Corrupt(String),
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    hasher: ContentHasher,
    verified: Mutex<HashSet<Digest>>,
}

impl Store {
    /// Opens the store at `root`, creating it if needed.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for dir in [
            "objects", "actions", "locks", "tmp", "logs", "specs", "runs",
        ] {
            let path = root.join(dir);
            fs::create_dir_all(&path)
                .map_err(|e| StoreError::new("create the store directory", &path, e))?;
        }
        let version = root.join("VERSION");
        match fs::read_to_string(&version) {
            Ok(text) if text == FORMAT => {}
            Ok(text) => {
                return Err(StoreError::new(
                    "use the store at",
                    root,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "it is in format `{}`, this rung reads `{}`",
                            text.trim(),
                            FORMAT.trim()
                        ),
                    ),
                ));
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                write_atomically(&version, FORMAT.as_bytes())
                    .map_err(|e| StoreError::new("write", &version, e))?;
            }
            Err(error) => return Err(StoreError::new("read", &version, error)),
        }
        static PROBES: AtomicU64 = AtomicU64::new(0);
        let n = PROBES.fetch_add(1, Ordering::Relaxed);
        let probe = root
            .join("tmp")
            .join(format!("probe-{}-{n}", std::process::id()));
        fs::write(&probe, b"")
            .and_then(|()| fs::remove_file(&probe))
            .map_err(|e| StoreError::new("write into the store at", root, e))?;
        Ok(Store {
            root: root.to_path_buf(),
            hasher: ContentHasher::persistent(root.join("stat-cache.json")),
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The content hasher whose stat cache lives in this store.
    pub fn hasher(&self) -> &ContentHasher {
        &self.hasher
    }

    /// Saves the stat cache.
    pub fn save_cache(&self) -> Result<(), StoreError> {
        self.hasher
            .save()
            .map_err(|e| StoreError::new("write", &self.root.join("stat-cache.json"), e))
    }

    /// Where the output tree `digest` lives.
    pub fn object_dir(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("objects").join(&hex[..2]).join(&hex[2..])
    }

    fn action_path(&self, key: &Digest) -> PathBuf {
        let hex = key.hex();
        self.root
            .join("actions")
            .join(&hex[..2])
            .join(format!("{}.json", &hex[2..]))
    }

    /// Where the node with this key keeps resumable state (training checkpoints) across
    /// failed, cancelled or killed attempts; created on demand, removed once its output is
    /// published.
    pub fn checkpoint_dir(&self, key: &Digest) -> PathBuf {
        self.root.join("checkpoints").join(key.hex())
    }

    /// Removes a key's resumable state once its output is published.
    pub fn forget_checkpoints(&self, key: &Digest) {
        // Leftovers only cost disk space: `gc` removes those of published keys.
        let _ = remove_tree(&self.checkpoint_dir(key));
    }

    /// The log file of the node with this key.
    pub fn log_path(&self, key: &Digest) -> PathBuf {
        self.root.join("logs").join(format!("{key}.log"))
    }

    /// Looks a key up: a hit needs a well-formed entry for this key whose output tree exists.
    pub fn lookup(&self, key: &Digest) -> Lookup {
        let path = self.action_path(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Lookup::Miss,
            Err(error) => return Lookup::Corrupt(format!("cannot read its entry: {error}")),
        };
        let head: EntryHead = match serde_json::from_slice(&bytes) {
            Ok(head) => head,
            Err(error) => return Lookup::Corrupt(format!("its entry is malformed: {error}")),
        };
        if head.format != ACTION_FORMAT || head.key != *key {
            return Lookup::Corrupt("its entry belongs to another key or format".into());
        }
        if !self.object_dir(&head.output).is_dir() {
            return Lookup::Corrupt(format!("its output {} is missing", head.output.short(12)));
        }
        Lookup::Hit(head.output)
    }

    /// The whole action entry of a key, if it is in the store.
    pub fn entry(&self, key: &Digest) -> Option<ActionEntry> {
        let bytes = fs::read(self.action_path(key)).ok()?;
        serde_json::from_slice(&bytes)
            .ok()
            .filter(|e: &ActionEntry| e.key == *key)
    }

    /// Checks that an output tree still has the contents it is named after.
    /// A tree is checked once per process: later reads trust the first check.
    pub fn verify_object(&self, digest: &Digest) -> Result<(), String> {
        if self.verified().contains(digest) {
            return Ok(());
        }
        let dir = self.object_dir(digest);
        let files = self
            .hasher
            .tree(&dir)
            .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        if tree_digest(&files) == *digest {
            self.verified().insert(*digest);
            Ok(())
        } else {
            Err(format!(
                "`{}` no longer matches its digest: the store is corrupt; `rung verify` removes the damaged entry",
                dir.display()
            ))
        }
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, HashSet<Digest>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the lock of `key` if no other process holds it (`None` when one does).
    pub fn try_lock(&self, key: &Digest) -> Result<Option<KeyLock>, StoreError> {
        let path = self.root.join("locks").join(format!("{key}.lock"));
        let file = fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::new("create the lock", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(KeyLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(error)) => Err(StoreError::new("lock", &path, error)),
        }
    }

    /// A fresh, empty output directory for `key` (the caller holds its lock), clearing whatever
    /// a killed process left behind.
    pub fn scratch(&self, key: &Digest) -> Result<PathBuf, StoreError> {
        let out = self.root.join("tmp").join(key.hex());
        remove_tree(&out).map_err(|e| StoreError::new("clear", &out, e))?;
        fs::create_dir(&out).map_err(|e| StoreError::new("create", &out, e))?;
        Ok(out)
    }

    /// Removes a key's scratch directory after a failed or cancelled attempt.
    pub fn discard(&self, key: &Digest) {
        // Leftovers are harmless: the next attempt, `gc` and `verify` clear them.
        let _ = remove_tree(&self.root.join("tmp").join(key.hex()));
    }

    /// Publishes the finished output in `key`'s scratch directory: the tree is moved into
    /// `objects/` (or dropped if an identical tree is there), then the entry is committed.
    pub fn publish(&self, key: &Digest, provenance: Provenance) -> Result<ActionEntry, String> {
        let out = self.root.join("tmp").join(key.hex());
        let files = output_tree(&out)?;
        let output = tree_digest(&files);
        for file in &files {
            let path = out.join(&file.path);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o444))
                .map_err(|e| format!("cannot seal `{}`: {e}", path.display()))?;
        }
        let object = self.object_dir(&output);
        // Another process may have published the same tree first: then keep theirs.
        if !self.verified().contains(&output)
            && !object.is_dir()
            && let Err(error) = rename_into(&out, &object)
            && !object.is_dir()
        {
            return Err(format!("cannot publish `{}`: {error}", object.display()));
        }
        if out.exists() {
            let _ = remove_tree(&out);
        }
        self.verified().insert(output);
        let entry = ActionEntry {
            format: ACTION_FORMAT,
            key: *key,
            output,
            files,
            provenance,
        };
        let path = self.action_path(key);
        let bytes = serde_json::to_vec_pretty(&entry).map_err(|e| e.to_string())?;
        let staged = self.root.join("tmp").join(format!("{key}.entry"));
        fs::write(&staged, bytes)
            .and_then(|()| rename_into(&staged, &path))
            .map_err(|e| format!("cannot commit `{}`: {e}", path.display()))?;
        Ok(entry)
    }
}

/// Renames `from` to `to`, creating `to`'s parent directory when it is missing.
fn rename_into(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(error) if error.kind() == io::ErrorKind::NotFound && from.exists() => {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::rename(from, to)
        }
        other => other,
    }
}

/// Holds a key's lock until dropped (the OS releases it if the process dies).
#[derive(Debug)]
pub struct KeyLock {
    _file: fs::File,
}

/// The files of a finished output, hashed without the stat cache; links and special files are
/// refused, since the tree must hold its bytes.
fn output_tree(root: &Path) -> Result<Vec<TreeFile>, String> {
    list_tree(root, Links::Refuse, &mut |path, _| hash_file(path))
        .map_err(|e| format!("the output in `{}` is unusable: {e}", root.display()))
}

/// This machine's host name, for provenance and run records.
pub fn host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Removes a directory tree if it exists.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Replaces a file's contents so that a crash leaves either the old or the new bytes.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}-{n}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    fs::write(&temporary, bytes)?;
    fs::rename(&temporary, path).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_of_one_process_open_one_store_at_once() {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..20 {
            let barrier = std::sync::Barrier::new(4);
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        barrier.wait();
                        Store::open(dir.path()).unwrap();
                    });
                }
            });
        }
    }

    #[test]
    fn a_store_of_another_format_is_refused_with_both_formats_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("VERSION"), "rung-store 99\n").unwrap();
        let error = Store::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("`rung-store 99`"), "{error}");
        assert!(error.contains("`rung-store 1`"), "{error}");
    }
}
