//! Input files for replay: NDJSON (borrowed, zero-copy; dozvon's or a foreign format's rows) or Avro containers.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::codec::{self, DecodeError};
use crate::formats::{InputDecoder, InputError};
use crate::model::{CallRecord, LeadEvent};

/// A line (or container record) that could not be used, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub file: PathBuf,
    /// 1-based line of an NDJSON file, or 1-based record number of a container file.
    pub line: usize,
    pub error: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.error)
    }
}

/// Decoding of one record kind from JSON bytes or an Avro container.
pub trait InputRecord<'a>: Sized {
    fn decode_json(bytes: &'a [u8]) -> Result<Self, DecodeError>;
    /// One NDJSON line through `decoder` (dozvon's lines as JSON records).
    fn decode_line(decoder: &InputDecoder, bytes: &'a [u8]) -> Result<Self, InputError>;
    fn read_container(bytes: &[u8]) -> Result<Vec<Result<Self, DecodeError>>, DecodeError>;
}

impl<'a> InputRecord<'a> for CallRecord<'a> {
    fn decode_json(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        codec::decode_json_call(bytes)
    }
    fn decode_line(decoder: &InputDecoder, bytes: &'a [u8]) -> Result<Self, InputError> {
        decoder.call_with(bytes, codec::decode_json_call)
    }
    fn read_container(bytes: &[u8]) -> Result<Vec<Result<Self, DecodeError>>, DecodeError> {
        Ok(codec::read_calls_container(bytes)?.collect())
    }
}

impl<'a> InputRecord<'a> for LeadEvent<'a> {
    fn decode_json(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        codec::decode_json_lead(bytes)
    }
    fn decode_line(decoder: &InputDecoder, bytes: &'a [u8]) -> Result<Self, InputError> {
        decoder.lead_with(bytes, codec::decode_json_lead)
    }
    fn read_container(bytes: &[u8]) -> Result<Vec<Result<Self, DecodeError>>, DecodeError> {
        Ok(codec::read_leads_container(bytes)?.collect())
    }
}

/// The non-blank lines of an NDJSON file, each with its 1-based line number.
pub(crate) struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Lines {
            data,
            pos: 0,
            line: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos >= self.data.len() {
                return None;
            }
            let data: &'a [u8] = self.data;
            let text = line_at(&data[self.pos..]);
            self.pos += text.len() + 1;
            self.line += 1;
            if !text.iter().all(u8::is_ascii_whitespace) {
                return Some((self.line, text));
            }
        }
    }
}

/// Refuses an Avro container file for an input of a foreign `format` (those are NDJSON only).
pub(crate) fn refuse_container(
    path: &Path,
    data: &[u8],
    format: Option<&str>,
) -> Result<(), Malformed> {
    match format.filter(|_| codec::is_avro_container(data)) {
        Some(format) => Err(Malformed {
            file: path.to_owned(),
            line: 0,
            error: format!("an Avro container file, but the input's format is {format}"),
        }),
        None => Ok(()),
    }
}

enum Body<'a, T> {
    Lines(Lines<'a>),
    Records(std::iter::Enumerate<std::vec::IntoIter<Result<T, DecodeError>>>),
}

/// Records of one input file, in file order; malformed ones are reported, not returned.
pub struct InputFile<'a, T> {
    path: PathBuf,
    body: Body<'a, T>,
    decoder: InputDecoder,
    skipped: u64,
}

impl<'a, T: InputRecord<'a>> InputFile<'a, T> {
    /// Reads from bytes already loaded from `path` (NDJSON or, by its magic, an Avro container).
    pub fn new(path: &Path, data: &'a [u8]) -> Result<Self, Malformed> {
        Self::with_decoder(path, data, InputDecoder::Dozvon)
    }

    /// Like [`InputFile::new`], with lines decoded by `decoder` (a foreign format is NDJSON only).
    pub fn with_decoder(
        path: &Path,
        data: &'a [u8],
        decoder: InputDecoder,
    ) -> Result<Self, Malformed> {
        refuse_container(path, data, decoder.foreign())?;
        let body = if codec::is_avro_container(data) {
            let records = T::read_container(data).map_err(|e| Malformed {
                file: path.to_owned(),
                line: 0,
                error: e.to_string(),
            })?;
            Body::Records(records.into_iter().enumerate())
        } else {
            Body::Lines(Lines::new(data))
        };
        Ok(InputFile {
            path: path.to_owned(),
            body,
            decoder,
            skipped: 0,
        })
    }

    /// Well-formed rows skipped so far as not applicable (a Bitrix24 robot call).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The next good record; malformed ones are pushed to `malformed` and skipped.
    pub fn next_record(&mut self, malformed: &mut Vec<Malformed>) -> Option<T> {
        loop {
            let (line, result) = match &mut self.body {
                Body::Lines(lines) => {
                    let (line, text) = lines.next()?;
                    (line, T::decode_line(&self.decoder, text))
                }
                Body::Records(records) => {
                    let (index, result) = records.next()?;
                    (index + 1, result.map_err(InputError::from))
                }
            };
            match result {
                Ok(record) => return Some(record),
                Err(error) if error.is_skip() => self.skipped += 1,
                Err(error) => malformed.push(Malformed {
                    file: self.path.clone(),
                    line,
                    error: error.to_string(),
                }),
            }
        }
    }
}

/// The bytes of `rest` up to its first `\n` (excluded), found with the `memchr` crate's
/// vectorised search.
fn line_at(rest: &[u8]) -> &[u8] {
    match memchr::memchr(b'\n', rest) {
        Some(end) => &rest[..end],
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::{Lines, line_at};

    #[test]
    fn lines_skip_blank_ones_and_keep_their_numbers() {
        let lines: Vec<_> = Lines::new(b"a\n\n  \nb\r\nc").collect();
        assert_eq!(lines, [(1, &b"a"[..]), (4, &b"b\r"[..]), (5, &b"c"[..])]);
        assert_eq!(Lines::new(b"").count(), 0);
    }

    #[test]
    fn lines_end_at_newline_or_end_of_input() {
        assert_eq!(line_at(b"ab\ncd"), b"ab");
        assert_eq!(line_at(b"\n"), b"");
        assert_eq!(line_at(b"cd"), b"cd");
        assert_eq!(line_at(b""), b"");
    }
}
