//! Helpers to read and build apache_avro `Value`s field by field, with errors naming the field.

use apache_avro::types::Value;
use chrono::NaiveDate;

use super::error::{DecodeError, EncodeError};
use crate::model::Timestamp;

/// The Avro type name of a value, for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "int",
        Value::Long(_) => "long",
        Value::Float(_) => "float",
        Value::Double(_) => "double",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "string",
        Value::Fixed(..) => "fixed",
        Value::Enum(..) => "enum",
        Value::Union(..) => "union",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Record(_) => "record",
        Value::Date(_) => "date",
        Value::TimestampMillis(_) => "timestamp-millis",
        Value::TimestampMicros(_) => "timestamp-micros",
        Value::TimestampNanos(_) => "timestamp-nanos",
        _ => "another logical type",
    }
}

fn expected(field: &'static str, what: &str, found: &Value) -> DecodeError {
    DecodeError::field(
        field,
        format!("expected {what}, found {}", type_name(found)),
    )
}

/// The fields of a decoded record, taken out one by one by name.
pub(crate) struct Fields {
    items: Vec<(String, Value)>,
    cursor: usize,
}

impl Fields {
    pub(crate) fn new(value: Value, record: &'static str) -> Result<Self, DecodeError> {
        match value {
            Value::Record(items) => Ok(Fields { items, cursor: 0 }),
            other => Err(DecodeError::Avro {
                offset: 0,
                message: format!("expected record {record}, found {}", type_name(&other)),
            }),
        }
    }

    /// Takes a field's value; `None` when the record has no such field.
    fn take(&mut self, field: &'static str) -> Option<Value> {
        // Fields come in schema order, so the next one is almost always at the cursor.
        let index = match self.items.get(self.cursor) {
            Some((name, _)) if name == field => self.cursor,
            _ => self.items.iter().position(|(name, _)| name == field)?,
        };
        self.cursor = index + 1;
        let slot = self.items.get_mut(index)?;
        Some(std::mem::replace(&mut slot.1, Value::Null))
    }

    fn required(&mut self, field: &'static str) -> Result<Value, DecodeError> {
        self.take(field)
            .ok_or_else(|| DecodeError::field(field, "missing"))
    }

    /// An optional field: absent, `null` or the null branch (index 0) of `["null", T]` are
    /// `None`. A null under another branch (apache_avro's reading of a cut-off string) stays
    /// `Some(Null)` so the caller reports it.
    fn optional(&mut self, field: &'static str) -> Option<Value> {
        match self.take(field)? {
            Value::Null => None,
            Value::Union(0, inner) if *inner == Value::Null => None,
            Value::Union(_, inner) => Some(*inner),
            other => Some(other),
        }
    }

    pub(crate) fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        to_string(field, self.required(field)?)
    }

    pub(crate) fn opt_string(
        &mut self,
        field: &'static str,
    ) -> Result<Option<String>, DecodeError> {
        self.optional(field)
            .map(|v| to_string(field, v))
            .transpose()
    }

    pub(crate) fn timestamp(&mut self, field: &'static str) -> Result<Timestamp, DecodeError> {
        to_timestamp(field, self.required(field)?)
    }

    pub(crate) fn opt_timestamp(
        &mut self,
        field: &'static str,
    ) -> Result<Option<Timestamp>, DecodeError> {
        self.optional(field)
            .map(|v| to_timestamp(field, v))
            .transpose()
    }

    pub(crate) fn count(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        to_count(field, self.required(field)?)
    }

    pub(crate) fn opt_count(&mut self, field: &'static str) -> Result<Option<u32>, DecodeError> {
        self.optional(field).map(|v| to_count(field, v)).transpose()
    }

    pub(crate) fn boolean(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.required(field)? {
            Value::Boolean(b) => Ok(b),
            other => Err(expected(field, "boolean", &other)),
        }
    }

    pub(crate) fn opt_date(
        &mut self,
        field: &'static str,
    ) -> Result<Option<NaiveDate>, DecodeError> {
        self.optional(field).map(|v| to_date(field, v)).transpose()
    }

    /// An Avro enum, matched by symbol against `all` (named by `name`).
    pub(crate) fn enumeration<E: Copy>(
        &mut self,
        field: &'static str,
        all: &[E],
        name: fn(E) -> &'static str,
    ) -> Result<E, DecodeError> {
        match self.required(field)? {
            Value::Enum(_, symbol) => all
                .iter()
                .copied()
                .find(|e| name(*e) == symbol)
                .ok_or_else(|| DecodeError::field(field, format!("unknown symbol {symbol:?}"))),
            other => Err(expected(field, "enum", &other)),
        }
    }
}

fn to_string(field: &'static str, value: Value) -> Result<String, DecodeError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(expected(field, "string", &other)),
    }
}

fn to_timestamp(field: &'static str, value: Value) -> Result<Timestamp, DecodeError> {
    let millis = match value {
        Value::TimestampMillis(ms) | Value::Long(ms) => ms,
        other => return Err(expected(field, "timestamp-millis", &other)),
    };
    Timestamp::from_millis(millis).map_err(|e| DecodeError::field(field, e.to_string()))
}

fn to_count(field: &'static str, value: Value) -> Result<u32, DecodeError> {
    let n = match value {
        Value::Int(n) => i64::from(n),
        Value::Long(n) => n,
        other => return Err(expected(field, "int", &other)),
    };
    u32::try_from(n).map_err(|_| DecodeError::field(field, format!("{n} is negative")))
}

fn to_date(field: &'static str, value: Value) -> Result<NaiveDate, DecodeError> {
    let days = match value {
        Value::Date(days) | Value::Int(days) => days,
        other => return Err(expected(field, "date", &other)),
    };
    NaiveDate::from_epoch_days(days).ok_or_else(|| {
        DecodeError::field(
            field,
            format!("{days} days from 1970-01-01 is out of range"),
        )
    })
}

// ---- building values ----

pub(crate) fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

pub(crate) fn timestamp(ts: Timestamp) -> Value {
    Value::TimestampMillis(ts.millis())
}

pub(crate) fn date(day: NaiveDate) -> Value {
    Value::Date(day.to_epoch_days())
}

pub(crate) fn count(field: &'static str, n: u32) -> Result<Value, EncodeError> {
    i32::try_from(n)
        .map(Value::Int)
        .map_err(|_| EncodeError::Field {
            field,
            reason: format!("{n} does not fit an Avro int"),
        })
}

/// A `["null", T]` union value.
pub(crate) fn optional(value: Option<Value>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(v) => Value::Union(1, Box::new(v)),
    }
}

pub(crate) fn opt_string(s: Option<&str>) -> Value {
    optional(s.map(string))
}

pub(crate) fn opt_count(field: &'static str, n: Option<u32>) -> Result<Value, EncodeError> {
    Ok(optional(n.map(|n| count(field, n)).transpose()?))
}

/// An enum value; `all` lists the symbols in schema order.
pub(crate) fn enumeration<E: Copy + PartialEq>(
    value: E,
    all: &[E],
    name: fn(E) -> &'static str,
) -> Value {
    let index = all.iter().position(|e| *e == value).unwrap_or_default();
    Value::Enum(index as u32, name(value).to_owned())
}

/// A record value from `(field, value)` pairs in schema order.
pub(crate) fn record<const N: usize>(fields: [(&'static str, Value); N]) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}
