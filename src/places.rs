//! Where a command finds its store and a spec's input files.

use std::path::{Path, PathBuf};

use crate::Places;

/// The store: `--store`, else `$RUNG_STORE`, else `.rung/` next to the spec (or in the current
/// directory when there is no spec).
pub(crate) fn store(places: &Places, spec: Option<&Path>) -> PathBuf {
    if let Some(store) = &places.store {
        return store.clone();
    }
    if let Some(store) = std::env::var_os("RUNG_STORE").filter(|s| !s.is_empty()) {
        return PathBuf::from(store);
    }
    match spec.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(".rung"),
        _ => PathBuf::from(".rung"),
    }
}

/// The data root: `--data-root`, else `$RUNG_DATA_ROOT`, else `../shared/data` when it exists,
/// else the spec's directory.
pub(crate) fn data_root(places: &Places, spec: &Path) -> PathBuf {
    if let Some(root) = &places.data_root {
        return root.clone();
    }
    if let Some(root) = std::env::var_os("RUNG_DATA_ROOT").filter(|s| !s.is_empty()) {
        return PathBuf::from(root);
    }
    let shared = Path::new("../shared/data");
    if shared.is_dir() {
        return shared.to_path_buf();
    }
    match spec.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds a spec's input file: absolute paths as they are, relative ones under the data root.
pub(crate) fn resolve(root: &Path, file: &str) -> Result<PathBuf, String> {
    let path = Path::new(file);
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    if full.exists() {
        Ok(full)
    } else if path.is_absolute() {
        Err(format!("`{}` does not exist", full.display()))
    } else {
        Err(format!(
            "not found at `{}` (the data root is `{}`; set it with --data-root or RUNG_DATA_ROOT)",
            full.display(),
            root.display()
        ))
    }
}

/// An absolute, normalised form of the spec's path: the identity of its records in the store.
pub(crate) fn spec_identity(spec: &Path) -> PathBuf {
    std::fs::canonicalize(spec).unwrap_or_else(|_| spec.to_path_buf())
}
