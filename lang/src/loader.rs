//! Loading a spec and everything it imports, with import cycles and unreadable files reported.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::ast::{Item, Module};
use crate::diagnostic::{Code, Diagnostic};
use crate::parser::parse_module;
use crate::source::{FileId, Sources, Span};

/// The largest spec file rung reads; real specs are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where spec files come from: the disk, or memory in tests and fuzzing.
pub trait FileSystem {
    /// The file's bytes; files over `limit` bytes are refused with [`ReadError::TooLarge`].
    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError>;
    /// A name for the file that is the same however the path was spelt.
    fn identity(&self, path: &Path) -> PathBuf;
}

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The operating system's error.
    Io(io::Error),
    /// The file is larger than the limit (its size given).
    TooLarge(u64),
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct Disk;

impl FileSystem for Disk {
    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(ReadError::Io)?;
        let size = file.metadata().map_err(ReadError::Io)?.len();
        if size > limit {
            return Err(ReadError::TooLarge(size));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(ReadError::Io)?;
        if bytes.len() as u64 > limit {
            return Err(ReadError::TooLarge(bytes.len() as u64));
        }
        Ok(bytes)
    }

    fn identity(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Identifies a loaded module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ModuleId(pub(crate) usize);

/// A parsed file and the modules its imports bind.
#[derive(Debug)]
pub(crate) struct LoadedModule {
    pub(crate) ast: Module,
    /// Namespace name, where it was written, and the module it names.
    pub(crate) imports: Vec<(String, Span, ModuleId)>,
    /// The prefix of labels of nodes declared here (`paper.`), empty for the root.
    pub(crate) prefix: String,
}

/// Every module reached from the root; the root is module 0.
pub(crate) struct Loaded {
    pub(crate) modules: Vec<LoadedModule>,
}

struct Loader<'a> {
    fs: &'a dyn FileSystem,
    sources: &'a mut Sources,
    diagnostics: &'a mut Vec<Diagnostic>,
    modules: Vec<Option<LoadedModule>>,
    by_identity: HashMap<PathBuf, ModuleId>,
    /// Modules being loaded, for cycle reports: identity and display name.
    stack: Vec<(PathBuf, String)>,
}

/// Reads the root file and everything it imports; `None` when the root itself cannot be parsed.
pub(crate) fn load(
    fs: &dyn FileSystem,
    root: &Path,
    display: &str,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Loaded> {
    let mut loader = Loader {
        fs,
        sources,
        diagnostics,
        modules: Vec::new(),
        by_identity: HashMap::new(),
        stack: Vec::new(),
    };
    let file = loader.read(root, display, None)?;
    loader.module(root, display, file, String::new())?;
    let modules = loader.modules.into_iter().collect::<Option<Vec<_>>>()?;
    Some(Loaded { modules })
}

/// The namespace an import binds when it has no `as`: the file's stem, if it is a valid name.
fn stem_name(path: &str) -> Option<String> {
    let stem = Path::new(path).file_stem()?.to_str()?;
    let mut chars = stem.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(stem, "import" | "as" | "in" | "true" | "false" | "none");
    valid.then(|| stem.to_string())
}

impl Loader<'_> {
    /// Parses a read file and loads its imports, depth first.
    fn module(
        &mut self,
        path: &Path,
        display: &str,
        file: FileId,
        prefix: String,
    ) -> Option<ModuleId> {
        let identity = self.fs.identity(path);
        let id = ModuleId(self.modules.len());
        self.modules.push(None);
        self.by_identity.insert(identity.clone(), id);
        self.stack.push((identity, display.to_string()));
        let text = self.sources.get(file).text.clone();
        let (ast, diagnostics) = parse_module(file, &text);
        self.diagnostics.extend(diagnostics);
        let Some(ast) = ast else {
            self.stack.pop();
            return None;
        };
        let mut imports = Vec::new();
        for item in &ast.items {
            let Item::Import(import) = item else { continue };
            let name = match (&import.alias, stem_name(&import.path)) {
                (Some(alias), _) => alias.name.clone(),
                (None, Some(stem)) => stem,
                (None, None) => {
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::ImportName,
                            import.path_span,
                            format!("`{}` does not give a valid namespace name", import.path),
                        )
                        .with_hint("name the namespace: `import \"...\" as name`"),
                    );
                    continue;
                }
            };
            let name_span = import.alias.as_ref().map_or(import.path_span, |a| a.span);
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            let target = base.join(&import.path);
            let target_identity = self.fs.identity(&target);
            if let Some(position) = self.stack.iter().position(|(p, _)| *p == target_identity) {
                let mut cycle: Vec<&str> = self.stack[position..]
                    .iter()
                    .map(|(_, d)| d.as_str())
                    .collect();
                cycle.push(&self.stack[position].1);
                self.diagnostics.push(
                    Diagnostic::error(Code::ImportCycle, import.path_span, "import cycle")
                        .with_label(format!("`{}` is already being imported", import.path))
                        .with_hint(format!("the cycle: {}", cycle.join(" -> "))),
                );
                continue;
            }
            let target_id = match self.by_identity.get(&target_identity) {
                Some(existing) => *existing,
                None => {
                    let target_display = display_path(display, &import.path);
                    let Some(target_file) =
                        self.read(&target, &target_display, Some(import.path_span))
                    else {
                        continue;
                    };
                    let target_prefix = format!("{prefix}{name}.");
                    match self.module(&target, &target_display, target_file, target_prefix) {
                        Some(loaded) => loaded,
                        None => continue,
                    }
                }
            };
            imports.push((name, name_span, target_id));
        }
        self.stack.pop();
        self.modules[id.0] = Some(LoadedModule {
            ast,
            imports,
            prefix,
        });
        Some(id)
    }

    /// Reads and decodes a file, reporting problems at `at` (the import) or unlocated (the root).
    fn read(&mut self, path: &Path, display: &str, at: Option<Span>) -> Option<FileId> {
        let report = |code, message: String| match at {
            Some(span) => Diagnostic::error(code, span, message),
            None => Diagnostic::unlocated(code, message),
        };
        let bytes = match self.fs.read(path, MAX_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(ReadError::Io(error)) => {
                self.diagnostics.push(report(
                    Code::Unreadable,
                    format!("cannot read `{display}`: {error}"),
                ));
                return None;
            }
            Err(ReadError::TooLarge(size)) => {
                let message = format!(
                    "`{display}` is {size} bytes; spec files are limited to {MAX_FILE_BYTES} bytes"
                );
                self.diagnostics.push(report(Code::TooLarge, message));
                return None;
            }
        };
        match String::from_utf8(bytes) {
            Ok(text) => Some(self.sources.add(display, path, text)),
            Err(error) => {
                let valid = error.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                let id = self.sources.add(display, path, text);
                let span = Span::new(id, valid, valid + 1);
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::NotUtf8,
                        span,
                        format!("`{display}` is not valid UTF-8"),
                    )
                    .with_label("the first invalid byte is here")
                    .with_hint("spec files are UTF-8 text"),
                );
                None
            }
        }
    }
}

/// How an imported file is shown: its path joined to the importer's directory, as the user
/// would type it.
fn display_path(importer: &str, import: &str) -> String {
    let joined = Path::new(importer)
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(import);
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in joined.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if parts
                    .last()
                    .is_some_and(|p| *p != std::ffi::OsStr::new("..")) =>
            {
                parts.pop();
            }
            other => parts.push(other.as_os_str()),
        }
    }
    parts.iter().collect::<PathBuf>().display().to_string()
}
