//! GGUF files: header, metadata and tensors, dequantized to f32 on request.
//!
//! [`GgufFile::open`] reads a whole GGUF file (versions 2 and 3, little-endian) into memory and
//! checks its structure: every length and count against the bytes that remain before anything
//! is allocated, every tensor's data against the file's end and alignment. After that, reading
//! metadata and dequantizing tensors cannot run off the file; no input makes it panic.
//!
//! The layout, after the magic `GGUF` and the u32 version: u64 tensor count, u64 metadata
//! count, the metadata (key string, u32 value type, value), the tensor infos (name string, u32
//! dimension count, u64 dimensions innermost first, u32 ggml type, u64 data offset), padding to
//! `general.alignment` (32 by default), then the data section. Strings are a u64 length and
//! UTF-8 bytes; arrays a u32 element type, a u64 count and the elements.

mod dequant;
mod error;
mod ggml_type;
mod metadata;
mod reader;
mod tensor_info;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use dequant::DequantizedTensor;
pub use error::{GgufError, GgufErrorKind};
pub use ggml_type::GgmlType;
pub use metadata::{MetadataArray, MetadataValue};
pub use tensor_info::TensorInfo;

use reader::Reader;

/// The alignment of the data section and of each tensor in it when `general.alignment` is not
/// set.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// The most dimensions a ggml tensor has (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;

/// A parsed GGUF file, holding all its bytes.
pub struct GgufFile {
    path: PathBuf,
    bytes: Vec<u8>,
    version: u32,
    metadata: Vec<(String, MetadataValue)>,
    metadata_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    data_start: usize,
}

impl GgufFile {
    /// Reads and parses the file at `path`. The whole file is read into memory.
    pub fn open(path: &Path) -> Result<Self, GgufError> {
        let bytes = std::fs::read(path)
            .map_err(|error| GgufError::new(path, None, GgufErrorKind::Io(error)))?;
        Self::parse(bytes, path)
    }

    /// Parses the bytes of a GGUF file; `path` names it in errors.
    pub fn parse(bytes: Vec<u8>, path: &Path) -> Result<Self, GgufError> {
        let header = parse_header(&bytes, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            version: header.version,
            metadata_index: header
                .metadata
                .iter()
                .enumerate()
                .map(|(i, (key, _))| (key.clone(), i))
                .collect(),
            metadata: header.metadata,
            tensor_index: header
                .tensors
                .iter()
                .enumerate()
                .map(|(i, info)| (info.name.clone(), i))
                .collect(),
            tensors: header.tensors,
            alignment: header.alignment,
            data_start: header.data_start,
        })
    }

    /// The file's path, as given to [`GgufFile::open`] or [`GgufFile::parse`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The GGUF version: 2 or 3.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The alignment of the data section and of each tensor's data: `general.alignment`, or
    /// [`DEFAULT_ALIGNMENT`].
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Where the data section starts in the file.
    pub fn data_offset(&self) -> u64 {
        self.data_start as u64
    }

    // ----- metadata -----

    /// The metadata value of `key`, if any.
    pub fn metadata(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// All metadata entries, in file order.
    pub fn metadata_entries(&self) -> impl ExactSizeIterator<Item = (&str, &MetadataValue)> {
        self.metadata
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// The value of `key`, or an error naming the missing key.
    fn required(&self, key: &str) -> Result<&MetadataValue, GgufError> {
        self.metadata(key).ok_or_else(|| {
            self.error(GgufErrorKind::MissingKey {
                key: key.to_owned(),
            })
        })
    }

    fn wrong_type(&self, key: &str, expected: &str, found: String) -> GgufError {
        self.error(GgufErrorKind::WrongType {
            key: key.to_owned(),
            expected: expected.to_owned(),
            found,
        })
    }

    /// The string `key`.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        let value = self.required(key)?;
        value
            .as_str()
            .ok_or_else(|| self.wrong_type(key, "a string", value.describe()))
    }

    /// The integer `key` as a u32: any integer type is accepted when its value fits.
    pub fn get_u32(&self, key: &str) -> Result<u32, GgufError> {
        self.get_integer(key, "an integer that fits u32")
    }

    /// The integer `key` as a u64: any integer type is accepted when its value fits.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.get_integer(key, "an integer that fits u64")
    }

    /// The integer `key` as an i64: any integer type is accepted when its value fits.
    pub fn get_i64(&self, key: &str) -> Result<i64, GgufError> {
        self.get_integer(key, "an integer that fits i64")
    }

    fn get_integer<T: TryFrom<i128>>(&self, key: &str, expected: &str) -> Result<T, GgufError> {
        let value = self.required(key)?;
        value
            .as_integer()
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| self.wrong_type(key, expected, value.describe()))
    }

    /// The float `key` as an f32: an f32, or an f64 rounded to f32.
    pub fn get_f32(&self, key: &str) -> Result<f32, GgufError> {
        match *self.required(key)? {
            MetadataValue::F32(v) => Ok(v),
            MetadataValue::F64(v) => Ok(v as f32),
            ref other => Err(self.wrong_type(key, "a float (f32 or f64)", other.describe())),
        }
    }

    /// The bool `key`.
    pub fn get_bool(&self, key: &str) -> Result<bool, GgufError> {
        match *self.required(key)? {
            MetadataValue::Bool(v) => Ok(v),
            ref other => Err(self.wrong_type(key, "a bool", other.describe())),
        }
    }

    /// The array of strings `key`.
    pub fn get_str_array(&self, key: &str) -> Result<&[String], GgufError> {
        match self.required(key)? {
            MetadataValue::Array(MetadataArray::String(values)) => Ok(values),
            other => Err(self.wrong_type(key, "an array of strings", other.describe())),
        }
    }

    /// The array of integers `key` as i32s: any integer element type is accepted when every
    /// element fits.
    pub fn get_i32_array(&self, key: &str) -> Result<Vec<i32>, GgufError> {
        let value = self.required(key)?;
        let expected = "an array of integers that fit i32";
        let Some(integers) = value.as_array().and_then(MetadataArray::integers) else {
            return Err(self.wrong_type(key, expected, value.describe()));
        };
        integers
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                i32::try_from(v).map_err(|_| {
                    let found = format!("{} whose element {i} is {v}", value.describe());
                    self.wrong_type(key, expected, found)
                })
            })
            .collect()
    }

    /// The string `key`, or `None` when it is absent (an error when it is not a string).
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, GgufError> {
        self.optional(key, Self::get_str)
    }

    /// The integer `key` as a u32, or `None` when it is absent (an error when it is not an
    /// integer that fits).
    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, GgufError> {
        self.optional(key, Self::get_u32)
    }

    /// The float `key` as an f32, or `None` when it is absent (an error when it is not a float).
    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>, GgufError> {
        self.optional(key, Self::get_f32)
    }

    /// The bool `key`, or `None` when it is absent (an error when it is not a bool).
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, GgufError> {
        self.optional(key, Self::get_bool)
    }

    fn optional<'a, T>(
        &'a self,
        key: &str,
        get: impl FnOnce(&'a Self, &str) -> Result<T, GgufError>,
    ) -> Result<Option<T>, GgufError> {
        if self.metadata(key).is_none() {
            return Ok(None);
        }
        get(self, key).map(Some)
    }

    /// `general.architecture`, e.g. `llama` or `qwen2`: the prefix of the model's own keys
    /// (`llama.block_count`, ...).
    pub fn architecture(&self) -> Result<&str, GgufError> {
        self.get_str("general.architecture")
    }

    // ----- tensors -----

    /// The tensors' names, in file order.
    pub fn tensor_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.tensors.iter().map(|info| info.name.as_str())
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Whether the file has a tensor of this name.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.tensor_index.contains_key(name)
    }

    /// The info of tensor `name`, or an error naming it.
    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensor_index
            .get(name)
            .map(|&i| &self.tensors[i])
            .ok_or_else(|| {
                self.error(GgufErrorKind::MissingTensor {
                    name: name.to_owned(),
                })
            })
    }

    /// The raw bytes of tensor `name`, as stored. An error for a type of unknown size.
    pub fn tensor_data(&self, name: &str) -> Result<&[u8], GgufError> {
        let info = self.tensor_info(name)?;
        let Some(n_bytes) = info.n_bytes else {
            return Err(self.error(GgufErrorKind::UnsupportedTensorType {
                name: name.to_owned(),
                ggml_type: info.ggml_type,
            }));
        };
        // Checked against the file's length when it was parsed.
        let start = self.data_start + info.offset as usize;
        Ok(&self.bytes[start..start + n_bytes as usize])
    }

    /// Tensor `name` as f32 values in PyTorch order (the GGUF dimensions reversed). Types F32,
    /// F16, BF16, Q8_0, Q4_0 and Q4_1 ([`GgmlType::DEQUANTIZABLE`]); any other type is an error
    /// naming the tensor and its type.
    pub fn dequantize(&self, name: &str) -> Result<DequantizedTensor, GgufError> {
        let info = self.tensor_info(name)?;
        if !info.ggml_type.is_dequantizable() {
            return Err(self.error(GgufErrorKind::UnsupportedTensorType {
                name: name.to_owned(),
                ggml_type: info.ggml_type,
            }));
        }
        let src = self.tensor_data(name)?;
        // The element count was checked to fit a usize when the file was parsed.
        let data = dequant::dequantize(info.ggml_type, src, info.n_elements as usize);
        Ok(DequantizedTensor {
            data,
            shape: info.shape(),
        })
    }

    fn error(&self, kind: GgufErrorKind) -> GgufError {
        GgufError::new(&self.path, None, kind)
    }
}

impl std::fmt::Debug for GgufFile {
    /// The file's outline; not its bytes, which may be gigabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .field("alignment", &self.alignment)
            .field("data_start", &self.data_start)
            .finish()
    }
}

/// The parsed header: everything before the data section.
struct Header {
    version: u32,
    metadata: Vec<(String, MetadataValue)>,
    tensors: Vec<TensorInfo>,
    alignment: u64,
    data_start: usize,
}

/// The smallest metadata entry: an empty key (8), a value type (4) and a one-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// The smallest tensor info: an empty name (8), a dimension count (4), no dimensions, a type
/// (4) and an offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

fn parse_header(bytes: &[u8], path: &Path) -> Result<Header, GgufError> {
    let mut r = Reader::new(bytes, path);
    if !bytes.starts_with(b"GGUF") {
        let found = bytes[..bytes.len().min(4)].to_vec();
        return Err(r.error_at(0, GgufErrorKind::BadMagic { found }));
    }
    r.take(4, &|| "the magic".to_owned())?;
    let version = r.u32(&|| "the version".to_owned())?;
    if !matches!(version, 2 | 3) {
        return Err(r.error_at(4, GgufErrorKind::UnsupportedVersion { version }));
    }
    let tensor_count = r.count(MIN_TENSOR_INFO_BYTES, &|| "the tensor count".to_owned())?;
    let kv_count = r.count(MIN_KV_BYTES, &|| "the metadata count".to_owned())?;

    let mut metadata: Vec<(String, MetadataValue)> = Vec::with_capacity(kv_count);
    let mut keys = HashMap::with_capacity(kv_count);
    for i in 0..kv_count {
        let start = r.pos();
        let key = r.string(&|| format!("the key of metadata entry {i}"))?;
        let value = r.value(&|| format!("metadata value `{key}`"))?;
        if keys.insert(key.clone(), ()).is_some() {
            return Err(r.error_at(start, GgufErrorKind::DuplicateKey { key }));
        }
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(key, _)| key == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, value)) => match value.as_integer().map(u64::try_from) {
            Some(Ok(alignment)) if alignment.is_power_of_two() => alignment,
            _ => {
                return Err(GgufError::new(
                    path,
                    None,
                    GgufErrorKind::Invalid {
                        what: "metadata value `general.alignment`".to_owned(),
                        reason: format!("{}, expected an integer power of two", value.describe()),
                    },
                ));
            }
        },
    };

    let mut tensors: Vec<TensorInfo> = Vec::with_capacity(tensor_count);
    let mut names = HashMap::with_capacity(tensor_count);
    let mut starts = Vec::with_capacity(tensor_count);
    for i in 0..tensor_count {
        let start = r.pos();
        let name = r.string(&|| format!("the name of tensor {i}"))?;
        let what = || format!("tensor `{name}`");
        let dims_at = r.pos();
        let n_dims = r.u32(&|| format!("the dimension count of {}", what()))?;
        if n_dims > MAX_DIMS {
            return Err(r.error_at(
                dims_at,
                GgufErrorKind::Invalid {
                    what: what(),
                    reason: format!("{n_dims} dimensions, expected at most {MAX_DIMS}"),
                },
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            dims.push(r.u64(&|| format!("dimension {d} of {}", what()))?);
        }
        let ggml_type = GgmlType::from_code(r.u32(&|| format!("the type of {}", what()))?);
        let offset = r.u64(&|| format!("the data offset of {}", what()))?;
        let invalid = |reason: String| {
            r.error_at(
                start,
                GgufErrorKind::Invalid {
                    what: what(),
                    reason,
                },
            )
        };

        let n_elements = dims
            .iter()
            .try_fold(1u64, |n, &dim| n.checked_mul(dim))
            .filter(|&n| usize::try_from(n).is_ok())
            .ok_or_else(|| invalid(format!("dimensions {dims:?} have too many elements")))?;
        let n_bytes = match ggml_type.block_layout() {
            None => None,
            Some((block, block_bytes)) => {
                let row = dims.first().copied().unwrap_or(1);
                if row % block != 0 {
                    return Err(invalid(format!(
                        "a row of {row} elements is not a whole number of {ggml_type} blocks \
                         of {block}"
                    )));
                }
                let n_bytes = (n_elements / block)
                    .checked_mul(block_bytes)
                    .filter(|&n| usize::try_from(n).is_ok())
                    .ok_or_else(|| invalid(format!("dimensions {dims:?} have too many bytes")))?;
                Some(n_bytes)
            }
        };
        if offset % alignment != 0 {
            return Err(r.error_at(
                start,
                GgufErrorKind::MisalignedTensor {
                    name,
                    offset,
                    alignment,
                },
            ));
        }
        if names.insert(name.clone(), ()).is_some() {
            return Err(r.error_at(start, GgufErrorKind::DuplicateTensor { name }));
        }
        starts.push(start);
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
            n_elements,
            n_bytes,
        });
    }

    // The data section starts at the next multiple of the alignment. A file without tensors
    // may end before it.
    let header_end = r.pos() as u64;
    let data_start = header_end.div_ceil(alignment).saturating_mul(alignment);
    let file_len = bytes.len() as u64;
    for (info, &start) in tensors.iter().zip(&starts) {
        let Some(n_bytes) = info.n_bytes else {
            continue;
        };
        let begin = data_start.checked_add(info.offset);
        let end = begin.and_then(|begin| begin.checked_add(n_bytes));
        match (begin, end) {
            (Some(_), Some(end)) if end <= file_len => {}
            _ => {
                return Err(r.error_at(
                    start,
                    GgufErrorKind::TensorOutOfBounds {
                        name: info.name.clone(),
                        start: begin.unwrap_or(u64::MAX),
                        end: end.unwrap_or(u64::MAX),
                        file_len,
                    },
                ));
            }
        }
    }
    let data_start = usize::try_from(data_start.min(file_len)).unwrap_or(bytes.len());
    Ok(Header {
        version,
        metadata,
        tensors,
        alignment,
        data_start,
    })
}
