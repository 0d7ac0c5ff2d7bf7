//! Hand-written mappings between the four record types and apache_avro `Value`s.

use std::borrow::Cow;

use apache_avro::types::Value;

use super::avro_value::{self as av, Fields};
use super::error::{DecodeError, EncodeError};
use super::schema::RecordKind;
use crate::model::{
    CallRecord, Direction, Disposition, LeadEvent, MatchedOn, QcKind, QcReview, Rule, Violation,
};

/// A record type with an embedded Avro schema and an explicit `Value` mapping.
pub(crate) trait AvroRecord: Sized {
    const KIND: RecordKind;
    fn to_avro(&self) -> Result<Value, EncodeError>;
    /// Maps a decoded value (of our schema) back, validating what the model requires.
    fn from_avro(value: Value) -> Result<Self, DecodeError>;
}

fn owned<'a>(s: String) -> Cow<'a, str> {
    Cow::Owned(s)
}

impl<'a> AvroRecord for CallRecord<'a> {
    const KIND: RecordKind = RecordKind::Call;

    fn to_avro(&self) -> Result<Value, EncodeError> {
        Ok(av::record([
            ("call_id", av::string(&self.call_id)),
            ("tenant", av::opt_string(self.tenant.as_deref())),
            ("lead_id", av::opt_string(self.lead_id.as_deref())),
            ("phone", av::string(&self.phone)),
            ("manager_id", av::opt_string(self.manager_id.as_deref())),
            (
                "direction",
                av::enumeration(self.direction, &Direction::ALL, Direction::as_str),
            ),
            ("started_at", av::timestamp(self.started_at)),
            (
                "talk_seconds",
                av::count("talk_seconds", self.talk_seconds)?,
            ),
            (
                "disposition",
                av::enumeration(self.disposition, &Disposition::ALL, Disposition::as_str),
            ),
            (
                "recording_url",
                av::opt_string(self.recording_url.as_deref()),
            ),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, Self::KIND.full_name())?;
        let call = CallRecord {
            call_id: owned(f.string("call_id")?),
            tenant: f.opt_string("tenant")?.map(owned),
            lead_id: f.opt_string("lead_id")?.map(owned),
            phone: owned(f.string("phone")?),
            manager_id: f.opt_string("manager_id")?.map(owned),
            direction: f.enumeration("direction", &Direction::ALL, Direction::as_str)?,
            started_at: f.timestamp("started_at")?,
            talk_seconds: f.count("talk_seconds")?,
            disposition: f.enumeration("disposition", &Disposition::ALL, Disposition::as_str)?,
            recording_url: f.opt_string("recording_url")?.map(owned),
        };
        call.validate()?;
        Ok(call)
    }
}

impl<'a> AvroRecord for LeadEvent<'a> {
    const KIND: RecordKind = RecordKind::Lead;

    fn to_avro(&self) -> Result<Value, EncodeError> {
        Ok(av::record([
            ("event_id", av::string(&self.event_id)),
            ("tenant", av::opt_string(self.tenant.as_deref())),
            ("lead_id", av::string(&self.lead_id)),
            ("occurred_at", av::timestamp(self.occurred_at)),
            ("stage", av::string(&self.stage)),
            ("manager_id", av::opt_string(self.manager_id.as_deref())),
            (
                "created_at",
                av::optional(self.created_at.map(av::timestamp)),
            ),
            ("channel", av::opt_string(self.channel.as_deref())),
            ("phone", av::opt_string(self.phone.as_deref())),
            ("email", av::opt_string(self.email.as_deref())),
            (
                "rejection_reason",
                av::opt_string(self.rejection_reason.as_deref()),
            ),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, Self::KIND.full_name())?;
        let lead = LeadEvent {
            event_id: owned(f.string("event_id")?),
            tenant: f.opt_string("tenant")?.map(owned),
            lead_id: owned(f.string("lead_id")?),
            occurred_at: f.timestamp("occurred_at")?,
            stage: owned(f.string("stage")?),
            manager_id: f.opt_string("manager_id")?.map(owned),
            created_at: f.opt_timestamp("created_at")?,
            channel: f.opt_string("channel")?.map(owned),
            phone: f.opt_string("phone")?.map(owned),
            email: f.opt_string("email")?.map(owned),
            rejection_reason: f.opt_string("rejection_reason")?.map(owned),
        };
        lead.validate()?;
        Ok(lead)
    }
}

impl AvroRecord for Violation {
    const KIND: RecordKind = RecordKind::Violation;

    fn to_avro(&self) -> Result<Value, EncodeError> {
        Ok(av::record([
            ("violation_id", av::string(&self.violation_id)),
            ("rule", av::enumeration(self.rule, &Rule::ALL, Rule::as_str)),
            ("tenant", av::string(&self.tenant)),
            ("lead_id", av::string(&self.lead_id)),
            ("manager_id", av::opt_string(self.manager_id.as_deref())),
            (
                "business_day",
                av::optional(self.business_day.map(av::date)),
            ),
            ("detected_at", av::timestamp(self.detected_at)),
            (
                "attempts_on_day",
                av::opt_count("attempts_on_day", self.attempts_on_day)?,
            ),
            (
                "attempts_total",
                av::opt_count("attempts_total", self.attempts_total)?,
            ),
            ("required", av::opt_count("required", self.required)?),
            (
                "day_of_period",
                av::opt_count("day_of_period", self.day_of_period)?,
            ),
            (
                "episode_start",
                av::optional(self.episode_start.map(av::timestamp)),
            ),
            ("stage", av::opt_string(self.stage.as_deref())),
            (
                "rejection_reason",
                av::opt_string(self.rejection_reason.as_deref()),
            ),
            ("channel", av::opt_string(self.channel.as_deref())),
            ("deadline", av::optional(self.deadline.map(av::timestamp))),
            (
                "last_activity_at",
                av::optional(self.last_activity_at.map(av::timestamp)),
            ),
            ("retracts", av::opt_string(self.retracts.as_deref())),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, Self::KIND.full_name())?;
        Ok(Violation {
            violation_id: f.string("violation_id")?,
            rule: f.enumeration("rule", &Rule::ALL, Rule::as_str)?,
            tenant: f.string("tenant")?,
            lead_id: f.string("lead_id")?,
            manager_id: f.opt_string("manager_id")?,
            business_day: f.opt_date("business_day")?,
            detected_at: f.timestamp("detected_at")?,
            attempts_on_day: f.opt_count("attempts_on_day")?,
            attempts_total: f.opt_count("attempts_total")?,
            required: f.opt_count("required")?,
            day_of_period: f.opt_count("day_of_period")?,
            episode_start: f.opt_timestamp("episode_start")?,
            stage: f.opt_string("stage")?,
            rejection_reason: f.opt_string("rejection_reason")?,
            channel: f.opt_string("channel")?,
            deadline: f.opt_timestamp("deadline")?,
            last_activity_at: f.opt_timestamp("last_activity_at")?,
            retracts: f.opt_string("retracts")?,
        })
    }
}

impl AvroRecord for QcReview {
    const KIND: RecordKind = RecordKind::QcReview;

    fn to_avro(&self) -> Result<Value, EncodeError> {
        Ok(av::record([
            ("review_id", av::string(&self.review_id)),
            (
                "kind",
                av::enumeration(self.kind, &QcKind::ALL, QcKind::as_str),
            ),
            ("tenant", av::string(&self.tenant)),
            ("lead_id", av::string(&self.lead_id)),
            ("manager_id", av::opt_string(self.manager_id.as_deref())),
            ("call_id", av::opt_string(self.call_id.as_deref())),
            (
                "recording_url",
                av::opt_string(self.recording_url.as_deref()),
            ),
            (
                "talk_seconds",
                av::opt_count("talk_seconds", self.talk_seconds)?,
            ),
            ("premature", Value::Boolean(self.premature)),
            ("detected_at", av::timestamp(self.detected_at)),
            (
                "rejection_reason",
                av::opt_string(self.rejection_reason.as_deref()),
            ),
            ("stage", av::opt_string(self.stage.as_deref())),
            (
                "attempts_total",
                av::opt_count("attempts_total", self.attempts_total)?,
            ),
            (
                "earlier_lead_id",
                av::opt_string(self.earlier_lead_id.as_deref()),
            ),
            (
                "earlier_manager_id",
                av::opt_string(self.earlier_manager_id.as_deref()),
            ),
            (
                "matched_on",
                av::opt_string(self.matched_on.map(MatchedOn::as_str)),
            ),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, Self::KIND.full_name())?;
        Ok(QcReview {
            review_id: f.string("review_id")?,
            kind: f.enumeration("kind", &QcKind::ALL, QcKind::as_str)?,
            tenant: f.string("tenant")?,
            lead_id: f.string("lead_id")?,
            manager_id: f.opt_string("manager_id")?,
            call_id: f.opt_string("call_id")?,
            recording_url: f.opt_string("recording_url")?,
            talk_seconds: f.opt_count("talk_seconds")?,
            premature: f.boolean("premature")?,
            detected_at: f.timestamp("detected_at")?,
            rejection_reason: f.opt_string("rejection_reason")?,
            stage: f.opt_string("stage")?,
            attempts_total: f.opt_count("attempts_total")?,
            earlier_lead_id: f.opt_string("earlier_lead_id")?,
            earlier_manager_id: f.opt_string("earlier_manager_id")?,
            matched_on: f
                .opt_string("matched_on")?
                .map(|text| {
                    MatchedOn::parse(&text).ok_or_else(|| {
                        DecodeError::field("matched_on", format!("unknown value {text:?}"))
                    })
                })
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn call() -> CallRecord<'static> {
        CallRecord {
            call_id: "c1".into(),
            tenant: None,
            lead_id: Some("L1".into()),
            phone: "79000000000".into(),
            manager_id: None,
            direction: Direction::Outbound,
            started_at: Timestamp::from_millis(1_772_434_800_000).unwrap(),
            talk_seconds: 42,
            disposition: Disposition::Answered,
            recording_url: None,
        }
    }

    fn with_field(field: &str, value: Value) -> Value {
        let Value::Record(mut items) = call().to_avro().unwrap() else {
            panic!("not a record")
        };
        for item in &mut items {
            if item.0 == field {
                item.1 = value.clone();
            }
        }
        Value::Record(items)
    }

    #[test]
    fn field_errors_name_the_field() {
        let err = CallRecord::from_avro(with_field("started_at", Value::String("x".into())));
        assert_eq!(
            err.unwrap_err(),
            DecodeError::Field {
                field: "started_at",
                reason: "expected timestamp-millis, found string".into()
            }
        );
        let err = CallRecord::from_avro(with_field("talk_seconds", Value::Int(-1))).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Field {
                    field: "talk_seconds",
                    ..
                }
            ),
            "{err}"
        );
        let err = CallRecord::from_avro(with_field("started_at", Value::Long(-5))).unwrap_err();
        assert!(
            err.to_string().contains("outside the supported range"),
            "{err}"
        );
        let bad_enum = Value::Enum(0, "sideways".into());
        let err = CallRecord::from_avro(with_field("direction", bad_enum)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `direction`: unknown symbol \"sideways\""
        );
        let cut_string = Value::Union(1, Box::new(Value::Null));
        let err = CallRecord::from_avro(with_field("lead_id", cut_string)).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Field {
                    field: "lead_id",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn missing_fields_and_non_records_are_reported() {
        let Value::Record(mut items) = call().to_avro().unwrap() else {
            panic!("not a record")
        };
        items.retain(|(name, _)| name != "phone");
        let err = CallRecord::from_avro(Value::Record(items)).unwrap_err();
        assert_eq!(err, DecodeError::field("phone", "missing"));
        let err = CallRecord::from_avro(Value::Int(1)).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected record dev.dozvon.CallRecord")
        );
    }

    #[test]
    fn plain_longs_and_bare_optionals_are_accepted() {
        let ms = call().started_at.millis();
        let value = with_field("started_at", Value::Long(ms));
        let value = match value {
            Value::Record(mut items) => {
                for item in &mut items {
                    if item.0 == "recording_url" {
                        item.1 = Value::String("https://rec/1".into());
                    }
                }
                Value::Record(items)
            }
            other => other,
        };
        let decoded = CallRecord::from_avro(value).unwrap();
        assert_eq!(decoded.started_at.millis(), ms);
        assert_eq!(decoded.recording_url.as_deref(), Some("https://rec/1"));
    }

    #[test]
    fn validation_applies_to_avro_input() {
        let err = CallRecord::from_avro(with_field("call_id", Value::String(String::new())));
        assert!(matches!(err, Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn counts_above_i32_are_refused_on_encode() {
        let mut big = call();
        big.talk_seconds = u32::MAX;
        let err = big.to_avro().unwrap_err();
        assert!(matches!(
            err,
            EncodeError::Field {
                field: "talk_seconds",
                ..
            }
        ));
    }
}
