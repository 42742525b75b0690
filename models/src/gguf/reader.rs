//! The little-endian cursor that parses a GGUF header: every read checks the bytes that remain,
//! and every count is checked against them before anything is allocated.

use std::path::Path;

use super::error::{GgufError, GgufErrorKind};
use super::metadata::{MetadataArray, MetadataValue, code};

/// How deep arrays may nest. GGUF files nest at most once in practice; the limit keeps a
/// corrupted file from recursing until the stack overflows.
const MAX_ARRAY_DEPTH: usize = 8;

/// A cursor over the bytes of a GGUF file.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], path: &'a Path) -> Self {
        Self {
            bytes,
            pos: 0,
            path,
        }
    }

    /// The current position.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes left after the current position.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// An error at `offset`.
    pub(crate) fn error_at(&self, offset: usize, kind: GgufErrorKind) -> GgufError {
        GgufError::new(self.path, Some(offset as u64), kind)
    }

    /// The next `n` bytes.
    pub(crate) fn take(
        &mut self,
        n: u64,
        what: &dyn Fn() -> String,
    ) -> Result<&'a [u8], GgufError> {
        let available = self.remaining();
        match usize::try_from(n) {
            Ok(n) if n <= available => {
                let slice = &self.bytes[self.pos..self.pos + n];
                self.pos += n;
                Ok(slice)
            }
            _ => Err(self.error_at(
                self.pos,
                GgufErrorKind::Truncated {
                    what: what(),
                    needed: n,
                    available: available as u64,
                },
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], GgufError> {
        let slice = self.take(N as u64, what)?;
        let mut out = [0; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A count of items that each take at least `min_item_bytes`, checked against the bytes
    /// that remain.
    pub(crate) fn count(
        &mut self,
        min_item_bytes: u64,
        what: &dyn Fn() -> String,
    ) -> Result<usize, GgufError> {
        let start = self.pos;
        let count = self.u64(what)?;
        let available = self.remaining() as u64;
        let fits = count
            .checked_mul(min_item_bytes)
            .is_some_and(|bytes| bytes <= available);
        match usize::try_from(count) {
            Ok(count) if fits => Ok(count),
            _ => Err(self.error_at(
                start,
                GgufErrorKind::CountTooLarge {
                    what: what(),
                    count,
                    min_item_bytes,
                    available,
                },
            )),
        }
    }

    /// A string: a u64 length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, GgufError> {
        let start = self.pos;
        let len = self.u64(&|| format!("the length of {}", what()))?;
        let available = self.remaining() as u64;
        if len > available {
            // Reported where the string starts, with the length it claims.
            return Err(self.error_at(
                start,
                GgufErrorKind::Truncated {
                    what: what(),
                    needed: len,
                    available,
                },
            ));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| self.error_at(start, GgufErrorKind::InvalidUtf8 { what: what() }))
    }

    /// A value type code, checked.
    fn value_type(&mut self, what: &dyn Fn() -> String) -> Result<u32, GgufError> {
        let start = self.pos;
        let type_code = self.u32(&|| format!("the value type of {}", what()))?;
        if code::min_size(type_code).is_none() {
            return Err(self.error_at(
                start,
                GgufErrorKind::UnknownValueType {
                    what: what(),
                    code: type_code,
                },
            ));
        }
        Ok(type_code)
    }

    /// A metadata value: its type code, then the value.
    pub(crate) fn value(&mut self, what: &dyn Fn() -> String) -> Result<MetadataValue, GgufError> {
        let type_code = self.value_type(what)?;
        self.value_of_type(type_code, what)
    }

    fn value_of_type(
        &mut self,
        type_code: u32,
        what: &dyn Fn() -> String,
    ) -> Result<MetadataValue, GgufError> {
        Ok(match type_code {
            code::U8 => MetadataValue::U8(u8::from_le_bytes(self.array(what)?)),
            code::I8 => MetadataValue::I8(i8::from_le_bytes(self.array(what)?)),
            code::U16 => MetadataValue::U16(u16::from_le_bytes(self.array(what)?)),
            code::I16 => MetadataValue::I16(i16::from_le_bytes(self.array(what)?)),
            code::U32 => MetadataValue::U32(u32::from_le_bytes(self.array(what)?)),
            code::I32 => MetadataValue::I32(i32::from_le_bytes(self.array(what)?)),
            code::F32 => MetadataValue::F32(f32::from_le_bytes(self.array(what)?)),
            code::BOOL => MetadataValue::Bool(self.bool(what)?),
            code::STRING => MetadataValue::String(self.string(what)?),
            code::U64 => MetadataValue::U64(u64::from_le_bytes(self.array(what)?)),
            code::I64 => MetadataValue::I64(i64::from_le_bytes(self.array(what)?)),
            code::F64 => MetadataValue::F64(f64::from_le_bytes(self.array(what)?)),
            // `value_type` admits only the codes above and ARRAY.
            _ => MetadataValue::Array(self.array_value(what, 1)?),
        })
    }

    fn bool(&mut self, what: &dyn Fn() -> String) -> Result<bool, GgufError> {
        let start = self.pos;
        match self.array::<1>(what)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [other] => Err(self.error_at(
                start,
                GgufErrorKind::Invalid {
                    what: what(),
                    reason: format!("bool byte {other}, expected 0 or 1"),
                },
            )),
        }
    }

    /// An array's element type, count and elements.
    fn array_value(
        &mut self,
        what: &dyn Fn() -> String,
        depth: usize,
    ) -> Result<MetadataArray, GgufError> {
        let start = self.pos;
        if depth > MAX_ARRAY_DEPTH {
            return Err(self.error_at(
                start,
                GgufErrorKind::Invalid {
                    what: what(),
                    reason: format!("arrays nested more than {MAX_ARRAY_DEPTH} deep"),
                },
            ));
        }
        let element_type = self.value_type(&|| format!("the elements of {}", what()))?;
        let min_size = code::min_size(element_type).unwrap_or(1);
        let count = self.count(min_size, what)?;
        let item = |i: usize| move || format!("element {i} of {}", what());

        macro_rules! fixed {
            ($variant:ident, $ty:ty) => {{
                let width = std::mem::size_of::<$ty>();
                let bytes = self.take((count * width) as u64, what)?;
                MetadataArray::$variant(
                    bytes
                        .chunks_exact(width)
                        .map(|chunk| {
                            let mut raw = [0; std::mem::size_of::<$ty>()];
                            raw.copy_from_slice(chunk);
                            <$ty>::from_le_bytes(raw)
                        })
                        .collect(),
                )
            }};
        }

        Ok(match element_type {
            code::U8 => fixed!(U8, u8),
            code::I8 => fixed!(I8, i8),
            code::U16 => fixed!(U16, u16),
            code::I16 => fixed!(I16, i16),
            code::U32 => fixed!(U32, u32),
            code::I32 => fixed!(I32, i32),
            code::F32 => fixed!(F32, f32),
            code::U64 => fixed!(U64, u64),
            code::I64 => fixed!(I64, i64),
            code::F64 => fixed!(F64, f64),
            code::BOOL => {
                let mut values = Vec::with_capacity(count);
                for i in 0..count {
                    values.push(self.bool(&item(i))?);
                }
                MetadataArray::Bool(values)
            }
            code::STRING => {
                let mut values = Vec::with_capacity(count);
                for i in 0..count {
                    values.push(self.string(&item(i))?);
                }
                MetadataArray::String(values)
            }
            _ => {
                let mut values = Vec::with_capacity(count);
                for i in 0..count {
                    values.push(self.array_value(&item(i), depth + 1)?);
                }
                MetadataArray::Array(values)
            }
        })
    }
}
