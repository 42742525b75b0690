//! Shared helpers of the integration tests: where the real benchmark data lives.

use std::path::PathBuf;

/// The shared data folder (`../shared/data` from the workspace root), or none, with the reason
/// printed, when it is absent so that the calling test can skip.
pub(crate) fn data_root() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if root.join("items").is_dir() {
        Some(root)
    } else {
        println!(
            "skipped: the shared data folder {} is absent",
            root.display()
        );
        None
    }
}
