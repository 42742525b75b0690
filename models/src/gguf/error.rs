//! [`GgufError`]: what went wrong reading a GGUF file, naming the file, the byte offset and what
//! was expected there.

use std::fmt;
use std::path::{Path, PathBuf};

use super::GgmlType;

/// An error reading a GGUF file or one of its tensors.
///
/// Its message names the file, the byte offset where the problem was found when there is one,
/// and what was expected. [`GgufError::kind`] gives the details as data.
#[derive(Debug)]
pub struct GgufError {
    path: PathBuf,
    offset: Option<u64>,
    kind: GgufErrorKind,
}

/// What went wrong, as data. The byte offset and the file are on [`GgufError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum GgufErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file does not start with `GGUF`.
    BadMagic {
        /// The first four bytes (fewer when the file is shorter).
        found: Vec<u8>,
    },
    /// A GGUF version other than 2 and 3 (or a big-endian file, whose version reads swapped).
    UnsupportedVersion {
        /// The version as read little-endian.
        version: u32,
    },
    /// The file ends before something it declares.
    Truncated {
        /// What was being read.
        what: String,
        /// The bytes it needs.
        needed: u64,
        /// The bytes left in the file.
        available: u64,
    },
    /// A count (of metadata entries, tensors or array elements) that the rest of the file
    /// cannot hold, even at the smallest size per item.
    CountTooLarge {
        /// What was being counted.
        what: String,
        /// The count as read.
        count: u64,
        /// The fewest bytes one item takes.
        min_item_bytes: u64,
        /// The bytes left in the file.
        available: u64,
    },
    /// A metadata value type code outside 0..=12.
    UnknownValueType {
        /// The value whose type this is.
        what: String,
        /// The type code as read.
        code: u32,
    },
    /// A string that is not UTF-8.
    InvalidUtf8 {
        /// The string being read.
        what: String,
    },
    /// A value that breaks a rule of the format (a bool other than 0 or 1, arrays nested too
    /// deep, an alignment that is not a power of two, too many dimensions, a tensor size that
    /// overflows, a row length that is not a whole number of blocks).
    Invalid {
        /// What the value is.
        what: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A metadata key that appears twice.
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A tensor name that appears twice.
    DuplicateTensor {
        /// The name.
        name: String,
    },
    /// A tensor whose data offset is not a multiple of the file's alignment.
    MisalignedTensor {
        /// The tensor.
        name: String,
        /// Its offset in the data section.
        offset: u64,
        /// The file's alignment (`general.alignment`, 32 by default).
        alignment: u64,
    },
    /// A tensor whose data lies (partly) past the end of the file.
    TensorOutOfBounds {
        /// The tensor.
        name: String,
        /// Where its data starts in the file.
        start: u64,
        /// Where its data ends in the file (exclusive).
        end: u64,
        /// The file's length.
        file_len: u64,
    },
    /// No tensor of this name.
    MissingTensor {
        /// The name asked for.
        name: String,
    },
    /// No metadata entry of this key.
    MissingKey {
        /// The key asked for.
        key: String,
    },
    /// A metadata value of another type than the one asked for.
    WrongType {
        /// The key.
        key: String,
        /// What was asked for, e.g. `an integer that fits u32`.
        expected: String,
        /// What the file holds, e.g. `a string` or `i64 -3`.
        found: String,
    },
    /// A tensor of a type [`GgufFile::dequantize`](super::GgufFile::dequantize) cannot
    /// dequantize.
    UnsupportedTensorType {
        /// The tensor.
        name: String,
        /// Its type.
        ggml_type: GgmlType,
    },
}

impl GgufError {
    pub(crate) fn new(path: &Path, offset: Option<u64>, kind: GgufErrorKind) -> Self {
        Self {
            path: path.to_path_buf(),
            offset,
            kind,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte offset in the file where the problem was found, when it is about a place in
    /// the file.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &GgufErrorKind {
        &self.kind
    }
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            GgufErrorKind::MissingTensor { name } => {
                return write!(f, "no tensor `{name}` in {path}");
            }
            GgufErrorKind::MissingKey { key } => {
                return write!(f, "no metadata key `{key}` in {path}");
            }
            GgufErrorKind::WrongType {
                key,
                expected,
                found,
            } => {
                return write!(
                    f,
                    "metadata key `{key}` in {path} is {found}, expected {expected}"
                );
            }
            GgufErrorKind::UnsupportedTensorType { name, ggml_type } => {
                return write!(
                    f,
                    "tensor `{name}` in {path} has type {ggml_type}, which cannot be \
                     dequantized (supported: {})",
                    GgmlType::DEQUANTIZABLE.map(|ty| ty.to_string()).join(", ")
                );
            }
            _ => {}
        }
        match self.offset {
            Some(offset) => write!(f, "{path}: at byte {offset}: ")?,
            None => write!(f, "{path}: ")?,
        }
        match &self.kind {
            GgufErrorKind::Io(error) => write!(f, "cannot read the file: {error}"),
            GgufErrorKind::BadMagic { found } => write!(
                f,
                "not a GGUF file: expected the magic bytes `GGUF`, found {}",
                describe_bytes(found)
            ),
            GgufErrorKind::UnsupportedVersion { version } => {
                write!(f, "unsupported GGUF version {version}, expected 2 or 3")?;
                if matches!(version.swap_bytes(), 2 | 3) {
                    write!(
                        f,
                        " (this looks like a big-endian GGUF file, which is not supported)"
                    )?;
                }
                Ok(())
            }
            GgufErrorKind::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "the file is truncated: {what} needs {needed} bytes, only {available} remain"
            ),
            GgufErrorKind::CountTooLarge {
                what,
                count,
                min_item_bytes,
                available,
            } => write!(
                f,
                "{what} declares {count} items of at least {min_item_bytes} bytes each, but only \
                 {available} bytes remain in the file"
            ),
            GgufErrorKind::UnknownValueType { what, code } => write!(
                f,
                "{what} has unknown value type {code}, expected a type code from 0 to 12"
            ),
            GgufErrorKind::InvalidUtf8 { what } => write!(f, "{what} is not valid UTF-8"),
            GgufErrorKind::Invalid { what, reason } => write!(f, "{what}: {reason}"),
            GgufErrorKind::DuplicateKey { key } => {
                write!(f, "metadata key `{key}` appears more than once")
            }
            GgufErrorKind::DuplicateTensor { name } => {
                write!(f, "tensor `{name}` appears more than once")
            }
            GgufErrorKind::MisalignedTensor {
                name,
                offset,
                alignment,
            } => write!(
                f,
                "tensor `{name}` starts at offset {offset} of the data section, expected a \
                 multiple of the alignment {alignment}"
            ),
            GgufErrorKind::TensorOutOfBounds {
                name,
                start,
                end,
                file_len,
            } => write!(
                f,
                "the data of tensor `{name}` spans bytes {start}..{end}, past the end of the \
                 file ({file_len} bytes)"
            ),
            // Written above, without an offset.
            GgufErrorKind::MissingTensor { .. }
            | GgufErrorKind::MissingKey { .. }
            | GgufErrorKind::WrongType { .. }
            | GgufErrorKind::UnsupportedTensorType { .. } => Ok(()),
        }
    }
}

impl std::error::Error for GgufError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            GgufErrorKind::Io(error) => Some(error),
            _ => None,
        }
    }
}

/// `[0x47, 0x47]` as `47 47 ("GG")`, for the bad-magic message.
fn describe_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "an empty file".to_owned();
    }
    let hex: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{} ({:?})", hex.join(" "), String::from_utf8_lossy(bytes))
}
