//! Where data files live (the data root) and pinning a file's content by its SHA-256.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The environment variable naming the data root.
pub const DATA_ROOT_ENV: &str = "RUNG_DATA_ROOT";

/// Where a project looks for its data when neither a value nor the environment names a root:
/// this path relative to the project directory.
pub const DEFAULT_DATA_ROOT: &str = "../shared/data";

/// How the data root was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootSource {
    /// Given explicitly (a `--data-root` flag, a spec setting).
    Explicit,
    /// From the `RUNG_DATA_ROOT` environment variable.
    Environment,
    /// `../shared/data` relative to the project directory.
    ProjectDefault,
}

impl fmt::Display for RootSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Explicit => "given explicitly",
            Self::Environment => "from RUNG_DATA_ROOT",
            Self::ProjectDefault => "the project's default ../shared/data",
        })
    }
}

/// The folder relative data paths are resolved against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataRoot {
    path: PathBuf,
    source: RootSource,
}

impl DataRoot {
    /// Chooses the data root: `explicit` if given, else the `RUNG_DATA_ROOT` environment
    /// variable if set and not empty, else `../shared/data` relative to `project_dir` if it
    /// exists. The chosen folder must exist; an error says which places were tried.
    pub fn choose(explicit: Option<&Path>, project_dir: &Path) -> Result<Self, DataError> {
        let environment = std::env::var_os(DATA_ROOT_ENV).map(PathBuf::from);
        Self::choose_from(explicit, environment.as_deref(), project_dir)
    }

    /// [`DataRoot::choose`] with the environment variable's value given rather than read.
    pub fn choose_from(
        explicit: Option<&Path>,
        environment: Option<&Path>,
        project_dir: &Path,
    ) -> Result<Self, DataError> {
        let environment = environment.filter(|path| !path.as_os_str().is_empty());
        let (path, source) = if let Some(path) = explicit {
            (path.to_path_buf(), RootSource::Explicit)
        } else if let Some(path) = environment {
            (path.to_path_buf(), RootSource::Environment)
        } else {
            let path = project_dir.join(DEFAULT_DATA_ROOT);
            if !path.is_dir() {
                return Err(DataError::NoRoot {
                    tried: vec![
                        "no explicit data root was given".to_string(),
                        format!("{DATA_ROOT_ENV} is not set"),
                        format!("`{}` is not a folder", path.display()),
                    ],
                });
            }
            (path, RootSource::ProjectDefault)
        };
        if !path.is_dir() {
            let mut tried = Vec::new();
            if source == RootSource::Environment {
                tried.push("no explicit data root was given".to_string());
            }
            tried.push(format!("`{}` ({source}) is not a folder", path.display()));
            return Err(DataError::NoRoot { tried });
        }
        Ok(Self { path, source })
    }

    /// The root folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How the root was chosen.
    pub fn source(&self) -> RootSource {
        self.source
    }

    /// `relative` resolved against the root (an absolute path is kept), which must exist.
    pub fn resolve(&self, relative: &Path) -> Result<PathBuf, DataError> {
        let path = self.path.join(relative);
        if path.exists() {
            Ok(path)
        } else {
            Err(DataError::NotFound {
                path,
                root: self.path.clone(),
                source: self.source,
            })
        }
    }
}

/// The SHA-256 of the file at `path`, in lower-case hexadecimal.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let read_error = |error: io::Error| DataError::Read {
        path: path.to_path_buf(),
        message: error.to_string(),
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(read_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Checks that the file at `path` has the SHA-256 `expected` (hexadecimal, either case).
pub fn check_sha256(path: &Path, expected: &str) -> Result<(), DataError> {
    let expected = expected.trim().to_ascii_lowercase();
    if expected.len() != 64 || !expected.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DataError::BadPin { expected });
    }
    let actual = sha256_file(path)?;
    if actual == expected {
        Ok(())
    } else {
        Err(DataError::Mismatch {
            path: path.to_path_buf(),
            actual,
            expected,
        })
    }
}

/// Why a data file cannot be found or trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataError {
    /// No data root could be chosen.
    NoRoot {
        /// What was tried, in order.
        tried: Vec<String>,
    },
    /// A path does not exist under the data root.
    NotFound {
        /// The resolved path.
        path: PathBuf,
        /// The data root.
        root: PathBuf,
        /// How the root was chosen.
        source: RootSource,
    },
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        message: String,
    },
    /// A pinned hash is not 64 hexadecimal digits.
    BadPin {
        /// The pin as given, lower-cased.
        expected: String,
    },
    /// The file's content is not the pinned one.
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        actual: String,
        /// The pinned SHA-256.
        expected: String,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoot { tried } => write!(f, "no data root: {}", tried.join("; ")),
            Self::NotFound { path, root, source } => write!(
                f,
                "`{}` does not exist under the data root `{}` ({source})",
                path.display(),
                root.display()
            ),
            Self::Read { path, message } => {
                write!(f, "{}: cannot read it: {message}", path.display())
            }
            Self::BadPin { expected } => {
                write!(
                    f,
                    "expected a SHA-256 of 64 hexadecimal digits, found `{expected}`"
                )
            }
            Self::Mismatch {
                path,
                actual,
                expected,
            } => write!(
                f,
                "`{}` has SHA-256 {actual}, but the spec pins {expected}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explicit_root_wins_then_the_environment_then_the_project() {
        let explicit = tempfile::tempdir().unwrap();
        let environment = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let project = workspace.path().join("main");
        let shared = workspace.path().join("shared/data");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(&shared).unwrap();

        let root = DataRoot::choose_from(Some(explicit.path()), Some(environment.path()), &project)
            .unwrap();
        assert_eq!(
            (root.path(), root.source()),
            (explicit.path(), RootSource::Explicit)
        );
        let root = DataRoot::choose_from(None, Some(environment.path()), &project).unwrap();
        assert_eq!(
            (root.path(), root.source()),
            (environment.path(), RootSource::Environment)
        );
        let root = DataRoot::choose_from(None, Some(Path::new("")), &project).unwrap();
        assert_eq!(root.source(), RootSource::ProjectDefault);
        assert!(root.path().ends_with("main/../shared/data"));
    }

    #[test]
    fn errors_say_what_was_tried() {
        let project = tempfile::tempdir().unwrap();
        let message = DataRoot::choose_from(None, None, project.path())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("no explicit data root was given"),
            "{message}"
        );
        assert!(message.contains("RUNG_DATA_ROOT is not set"), "{message}");
        assert!(
            message.contains("shared/data` is not a folder"),
            "{message}"
        );
        let message = DataRoot::choose_from(None, Some(Path::new("/no/such/root")), project.path())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`/no/such/root` (from RUNG_DATA_ROOT) is not a folder"),
            "{message}"
        );
    }

    #[test]
    fn resolve_needs_an_existing_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jsonl"), "").unwrap();
        let root = DataRoot::choose_from(Some(dir.path()), None, dir.path()).unwrap();
        assert_eq!(
            root.resolve(Path::new("a.jsonl")).unwrap(),
            dir.path().join("a.jsonl")
        );
        let message = root.resolve(Path::new("b.jsonl")).unwrap_err().to_string();
        assert!(
            message.contains("b.jsonl` does not exist under the data root"),
            "{message}"
        );
    }

    #[test]
    fn pins_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, "abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&path).unwrap(), abc);
        check_sha256(&path, &abc.to_ascii_uppercase()).unwrap();
        let wrong = "0".repeat(64);
        let message = check_sha256(&path, &wrong).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "`{}` has SHA-256 {abc}, but the spec pins {wrong}",
                path.display()
            )
        );
        assert!(matches!(
            check_sha256(&path, "abc"),
            Err(DataError::BadPin { .. })
        ));
    }
}
