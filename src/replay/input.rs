//! Input files for replay: NDJSON (borrowed, zero-copy) or Avro object container files.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::codec::{self, DecodeError};
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
    fn read_container(bytes: &[u8]) -> Result<Vec<Result<Self, DecodeError>>, DecodeError>;
}

impl<'a> InputRecord<'a> for CallRecord<'a> {
    fn decode_json(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        codec::decode_json_call(bytes)
    }
    fn read_container(bytes: &[u8]) -> Result<Vec<Result<Self, DecodeError>>, DecodeError> {
        Ok(codec::read_calls_container(bytes)?.collect())
    }
}

impl<'a> InputRecord<'a> for LeadEvent<'a> {
    fn decode_json(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        codec::decode_json_lead(bytes)
    }
    fn read_container(bytes: &[u8]) -> Result<Vec<Result<Self, DecodeError>>, DecodeError> {
        Ok(codec::read_leads_container(bytes)?.collect())
    }
}

enum Body<'a, T> {
    Lines {
        data: &'a [u8],
        pos: usize,
        line: usize,
    },
    Records(std::iter::Enumerate<std::vec::IntoIter<Result<T, DecodeError>>>),
}

/// Records of one input file, in file order; malformed ones are reported, not returned.
pub struct InputFile<'a, T> {
    path: PathBuf,
    body: Body<'a, T>,
}

impl<'a, T: InputRecord<'a>> InputFile<'a, T> {
    /// Reads from bytes already loaded from `path` (NDJSON or, by its magic, an Avro container).
    pub fn new(path: &Path, data: &'a [u8]) -> Result<Self, Malformed> {
        let body = if codec::is_avro_container(data) {
            let records = T::read_container(data).map_err(|e| Malformed {
                file: path.to_owned(),
                line: 0,
                error: e.to_string(),
            })?;
            Body::Records(records.into_iter().enumerate())
        } else {
            Body::Lines {
                data,
                pos: 0,
                line: 0,
            }
        };
        Ok(InputFile {
            path: path.to_owned(),
            body,
        })
    }

    /// The next good record; malformed ones are pushed to `malformed` and skipped.
    pub fn next_record(&mut self, malformed: &mut Vec<Malformed>) -> Option<T> {
        loop {
            let (line, result) = match &mut self.body {
                Body::Lines { data, pos, line } => {
                    if *pos >= data.len() {
                        return None;
                    }
                    let data: &'a [u8] = data;
                    let rest = &data[*pos..];
                    let text = line_at(rest);
                    *pos += text.len() + 1;
                    *line += 1;
                    if text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    (*line, T::decode_json(text))
                }
                Body::Records(records) => {
                    let (index, result) = records.next()?;
                    (index + 1, result)
                }
            };
            match result {
                Ok(record) => return Some(record),
                Err(error) => malformed.push(Malformed {
                    file: self.path.clone(),
                    line,
                    error: error.to_string(),
                }),
            }
        }
    }
}

/// The bytes of `rest` up to its first `\n` (excluded), found with the standard library's
/// vectorised `memchr` behind `BufRead::skip_until`.
fn line_at(rest: &[u8]) -> &[u8] {
    use std::io::BufRead;
    let mut reader = rest;
    let consumed = reader.skip_until(b'\n').unwrap_or(rest.len());
    let line = &rest[..consumed.min(rest.len())];
    line.strip_suffix(b"\n").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::line_at;

    #[test]
    fn lines_end_at_newline_or_end_of_input() {
        assert_eq!(line_at(b"ab\ncd"), b"ab");
        assert_eq!(line_at(b"\n"), b"");
        assert_eq!(line_at(b"cd"), b"cd");
        assert_eq!(line_at(b""), b"");
    }
}
