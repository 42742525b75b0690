//! Keeping the store healthy: `verify` re-hashes everything and removes what is damaged; `gc`
//! removes what no current spec reaches, oldest first, down to a size bound.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{ActionEntry, Store, output_tree, remove_tree};
use crate::content::tree_digest;
use crate::digest::Digest;

/// What `verify` found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Output trees re-hashed.
    pub objects: usize,
    /// Action entries read.
    pub entries: usize,
    /// One line per damaged object or entry, saying what was wrong.
    pub problems: Vec<String>,
    /// Leftover scratch directories of killed runs that were cleared.
    pub cleared: usize,
}

/// What `gc` removed and kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Action entries removed.
    pub entries_removed: usize,
    /// Output trees removed.
    pub objects_removed: usize,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Bytes the remaining output trees take.
    pub bytes_kept: u64,
    /// Action entries kept because a current spec reaches them.
    pub reachable: usize,
}

struct EntryFile {
    path: PathBuf,
    key: Option<Digest>,
    modified: SystemTime,
}

impl Store {
    fn entry_files(&self) -> Vec<EntryFile> {
        let mut out = Vec::new();
        for path in two_level(&self.root.join("actions")) {
            let key = sharded_digest(&path, ".json");
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            out.push(EntryFile {
                path,
                key,
                modified,
            });
        }
        out
    }

    fn object_dirs(&self) -> Vec<(PathBuf, Option<Digest>)> {
        two_level(&self.root.join("objects"))
            .into_iter()
            .map(|path| {
                let digest = sharded_digest(&path, "");
                (path, digest)
            })
            .collect()
    }

    /// The keys in the action cache whose hex starts with `prefix` (at least two digits).
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<Digest> {
        let Some(shard) = prefix.get(..2) else {
            return Vec::new();
        };
        let Ok(entries) = fs::read_dir(self.root.join("actions").join(shard)) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| sharded_digest(&e.path(), ".json"))
            .filter(|key| key.hex().starts_with(prefix))
            .collect()
    }

    /// Re-hashes every output tree and reads every action entry; removes damaged trees, entries
    /// that cannot be read or whose output is gone, and scratch left by killed runs.
    pub fn verify(&self) -> VerifyReport {
        let mut report = VerifyReport::default();
        let mut healthy = HashSet::new();
        for (dir, digest) in self.object_dirs() {
            report.objects += 1;
            let problem = match digest {
                None => Some("is not named by a digest".to_string()),
                Some(digest) => match output_tree(&dir) {
                    Ok(files) if tree_digest(&files) == digest => {
                        healthy.insert(digest);
                        None
                    }
                    Ok(_) => Some("does not match its digest".to_string()),
                    Err(error) => Some(error),
                },
            };
            if let Some(problem) = problem {
                report
                    .problems
                    .push(format!("output `{}` {problem}; removed", dir.display()));
                let _ = remove_tree(&dir);
            }
        }
        for file in self.entry_files() {
            report.entries += 1;
            let entry: Option<ActionEntry> = fs::read(&file.path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let problem = match (&entry, file.key) {
                (None, _) => Some("cannot be read as an action entry".to_string()),
                (_, None) => Some("is not named by a key".to_string()),
                (Some(entry), Some(key)) if entry.key != key => {
                    Some("holds the entry of another key".to_string())
                }
                (Some(entry), Some(_)) if !healthy.contains(&entry.output) => Some(format!(
                    "points at output {}, which is missing or was damaged",
                    entry.output.short(12)
                )),
                (Some(entry), Some(_)) if tree_digest(&entry.files) != entry.output => {
                    Some("lists files that do not make up its output".to_string())
                }
                _ => None,
            };
            if let Some(problem) = problem {
                report.problems.push(format!(
                    "entry `{}` {problem}; removed",
                    file.path.display()
                ));
                let _ = fs::remove_file(&file.path);
            }
        }
        report.cleared = self.clear_scratch();
        report
    }

    /// Removes scratch directories whose key no running process holds.
    fn clear_scratch(&self) -> usize {
        let mut cleared = 0;
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else {
            return 0;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(key) = name
                .to_str()
                .and_then(|n| n.split('.').next())
                .and_then(|n| n.parse::<Digest>().ok())
            else {
                continue;
            };
            if let Ok(Some(_lock)) = self.try_lock(&key) {
                let path = entry.path();
                let removed = if path.is_dir() {
                    remove_tree(&path)
                } else {
                    fs::remove_file(&path)
                };
                cleared += usize::from(removed.is_ok());
            }
        }
        cleared
    }

    /// Removes every action entry not in `roots`, oldest first, until the output trees take at
    /// most `max_size` bytes (all of them when there is no bound); then every tree no remaining
    /// entry points at, and the logs of removed keys.
    pub fn gc(&self, roots: &HashSet<Digest>, max_size: Option<u64>) -> GcReport {
        let mut report = GcReport::default();
        let sizes: HashMap<Digest, (PathBuf, u64)> = self
            .object_dirs()
            .into_iter()
            .filter_map(|(dir, digest)| {
                let size = dir_size(&dir);
                digest.map(|d| (d, (dir, size)))
            })
            .collect();
        let mut entries: Vec<(EntryFile, Option<Digest>)> = self
            .entry_files()
            .into_iter()
            .map(|file| {
                let output = file.key.and_then(|key| match self.lookup(&key) {
                    super::Lookup::Hit(output) => Some(output),
                    _ => None,
                });
                (file, output)
            })
            .collect();
        entries.sort_by_key(|(file, _)| file.modified);
        let mut users: HashMap<Digest, usize> = HashMap::new();
        for (_, output) in &entries {
            if let Some(output) = output {
                *users.entry(*output).or_default() += 1;
            }
        }
        let mut total: u64 = users
            .keys()
            .filter_map(|d| sizes.get(d).map(|(_, s)| *s))
            .sum();
        for (file, output) in &entries {
            let reachable = file.key.is_some_and(|key| roots.contains(&key));
            if reachable && output.is_some() {
                report.reachable += 1;
                continue;
            }
            if output.is_some() && max_size.is_some_and(|max| total <= max) {
                continue;
            }
            if fs::remove_file(&file.path).is_err() {
                continue;
            }
            report.entries_removed += 1;
            if let Some(key) = file.key {
                let _ = fs::remove_file(self.log_path(&key));
            }
            if let Some(output) = output
                && let Some(count) = users.get_mut(output)
            {
                *count -= 1;
                if *count == 0 {
                    total -= sizes.get(output).map_or(0, |(_, s)| *s);
                }
            }
        }
        for (digest, (dir, size)) in &sizes {
            if users.get(digest).copied().unwrap_or(0) == 0 && remove_tree(dir).is_ok() {
                report.objects_removed += 1;
                report.bytes_freed += size;
            }
        }
        report.bytes_kept = sizes
            .iter()
            .filter(|(d, _)| users.get(*d).copied().unwrap_or(0) > 0)
            .map(|(_, (_, s))| s)
            .sum();
        self.clear_scratch();
        self.hasher().prune();
        report
    }
}

/// The digest a sharded path names: `ab/cdef…<suffix>` is `abcdef…`.
fn sharded_digest(path: &Path, suffix: &str) -> Option<Digest> {
    let shard = path.parent()?.file_name()?.to_str()?;
    let rest = path.file_name()?.to_str()?.strip_suffix(suffix)?;
    format!("{shard}{rest}").parse().ok()
}

/// The entries two levels down (`objects/ab/cdef…`).
fn two_level(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(shards) = fs::read_dir(root) else {
        return out;
    };
    for shard in shards.filter_map(Result::ok) {
        if let Ok(entries) = fs::read_dir(shard.path()) {
            out.extend(entries.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    out.sort();
    out
}

/// The bytes taken by the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
