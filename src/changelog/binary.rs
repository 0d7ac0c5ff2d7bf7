//! Avro binary encoding primitives (zig-zag varints, strings, unions, blocks) for the
//! changelog's hand-written fast path; the schemas in `schemas/` describe the same bytes.

use super::ChangelogError;

/// Appends Avro-encoded values.
#[derive(Debug, Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn long(&mut self, value: i64) {
        let mut n = ((value << 1) ^ (value >> 63)) as u64;
        while n >= 0x80 {
            self.bytes.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.bytes.push(n as u8);
    }

    pub fn boolean(&mut self, value: bool) {
        self.bytes.push(u8::from(value));
    }

    pub fn string(&mut self, value: &str) {
        self.long(value.len() as i64);
        self.bytes.extend_from_slice(value.as_bytes());
    }

    /// A `["null", "string"]` union.
    pub fn optional_string(&mut self, value: Option<&str>) {
        match value {
            None => self.long(0),
            Some(text) => {
                self.long(1);
                self.string(text);
            }
        }
    }

    /// An array or map: one block of `len` items written by `item`, then the end marker.
    pub fn block<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Writer, &T)) {
        if !items.is_empty() {
            self.long(items.len() as i64);
            for value in items {
                item(self, value);
            }
        }
        self.long(0);
    }
}

/// Reads Avro-encoded values; every read is bounds-checked and names what it was reading.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn error(&self, field: &'static str, reason: impl Into<String>) -> ChangelogError {
        ChangelogError::Field {
            field,
            offset: self.at,
            reason: reason.into(),
        }
    }

    pub fn long(&mut self, field: &'static str) -> Result<i64, ChangelogError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.error(field, "truncated number"));
            };
            self.at += 1;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
            }
        }
        Err(self.error(field, "number longer than 10 bytes"))
    }

    /// A long that must fit `T` (seconds, counts, dates).
    pub fn int<T: TryFrom<i64>>(&mut self, field: &'static str) -> Result<T, ChangelogError> {
        let value = self.long(field)?;
        T::try_from(value).map_err(|_| self.error(field, format!("{value} is out of range")))
    }

    pub fn boolean(&mut self, field: &'static str) -> Result<bool, ChangelogError> {
        match self.bytes.get(self.at) {
            Some(&b @ (0 | 1)) => {
                self.at += 1;
                Ok(b == 1)
            }
            Some(other) => Err(self.error(field, format!("boolean byte {other}"))),
            None => Err(self.error(field, "truncated boolean")),
        }
    }

    pub fn string(&mut self, field: &'static str) -> Result<String, ChangelogError> {
        self.str(field).map(str::to_owned)
    }

    /// A string borrowed from the bytes read.
    pub fn str(&mut self, field: &'static str) -> Result<&'a str, ChangelogError> {
        let len: usize = self.int(field)?;
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error(field, format!("string of {len} bytes past the end")))?;
        let text = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|e| self.error(field, format!("not UTF-8: {e}")))?;
        self.at = end;
        Ok(text)
    }

    /// A union branch index below `branches`.
    pub fn branch(&mut self, field: &'static str, branches: i64) -> Result<i64, ChangelogError> {
        let index = self.long(field)?;
        if (0..branches).contains(&index) {
            Ok(index)
        } else {
            Err(self.error(field, format!("union branch {index} of {branches}")))
        }
    }

    pub fn optional_string(
        &mut self,
        field: &'static str,
    ) -> Result<Option<String>, ChangelogError> {
        Ok(self.optional_str(field)?.map(str::to_owned))
    }

    /// A `["null", "string"]` union, borrowed from the bytes read.
    pub fn optional_str(&mut self, field: &'static str) -> Result<Option<&'a str>, ChangelogError> {
        match self.branch(field, 2)? {
            0 => Ok(None),
            _ => self.str(field).map(Some),
        }
    }

    /// Items of an array or map (blocks until the zero count; negative counts carry a size).
    pub fn block<T>(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, ChangelogError>,
    ) -> Result<Vec<T>, ChangelogError> {
        let mut items = Vec::new();
        loop {
            let mut count = self.long(field)?;
            if count == 0 {
                return Ok(items);
            }
            if count < 0 {
                count = count
                    .checked_neg()
                    .ok_or_else(|| self.error(field, "bad block count"))?;
                self.long(field)?; // the block's size in bytes
            }
            // Every item takes at least one byte: a count past the end is corrupt, not a
            // reason to reserve memory.
            let remaining = (self.bytes.len() - self.at) as i64;
            if count > remaining {
                return Err(self.error(field, format!("{count} items in {remaining} bytes")));
            }
            for _ in 0..count {
                items.push(item(self)?);
            }
        }
    }

    pub fn finish(&self) -> Result<(), ChangelogError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(ChangelogError::TrailingBytes {
                extra: self.bytes.len() - self.at,
            })
        }
    }
}
