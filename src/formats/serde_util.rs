//! Serde forms for option structs: durations in humantime syntax, time zones by IANA name.

/// `Duration` as `"30s"`, `"5m"`, `"1h 30m"`.
pub(crate) mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(text.trim())
            .map_err(|error| D::Error::custom(format!("invalid duration {text:?}: {error}")))
    }
}

/// `chrono_tz::Tz` as its IANA name, e.g. `"Europe/Moscow"`.
pub(crate) mod zone {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim()
            .parse::<Tz>()
            .map_err(|_| D::Error::custom(format!("unknown IANA time zone {text:?}")))
    }
}
