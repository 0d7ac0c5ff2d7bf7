//! Configuration errors: unreadable file, malformed TOML or unknown key, invalid value.

use std::path::PathBuf;

/// Why a configuration was refused. Every message names the full key path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML, a key is unknown, or a value has the wrong type.
    /// `key` is the full key path (empty when the document itself is malformed).
    #[error("{}", describe_parse(key, message, *line, *column))]
    Parse {
        key: String,
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    /// A value has the right type but is not acceptable.
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    /// An invalid value at `key`.
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Converts a TOML/serde error, locating it in `text` by its span.
    pub(crate) fn from_toml(key: String, error: &toml::de::Error, text: &str) -> Self {
        let (line, column) = match error.span() {
            Some(span) => {
                let (line, column) = position(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError::Parse {
            key,
            message: error.message().trim_end().to_owned(),
            line,
            column,
        }
    }

    /// The key path this error concerns, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Parse { key, .. } | ConfigError::Invalid { key, .. } => {
                Some(key).filter(|key| !key.is_empty()).map(String::as_str)
            }
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

fn describe_parse(key: &str, message: &str, line: Option<usize>, column: Option<usize>) -> String {
    let mut text = String::new();
    if !key.is_empty() {
        text.push_str(key);
        text.push_str(": ");
    }
    text.push_str(message);
    match (line, column) {
        (Some(line), Some(column)) => text.push_str(&format!(" (line {line}, column {column})")),
        (Some(line), None) => text.push_str(&format!(" (line {line})")),
        _ => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let text = "a = 1\nб = \"x\"\n";
        assert_eq!(position(text, 0), (1, 1));
        let at = text.find('"').unwrap_or_default();
        assert_eq!(position(text, at), (2, 5));
    }

    #[test]
    fn parse_message_leads_with_the_key_path() {
        let error = ConfigError::Parse {
            key: "rules.daily_attempts".into(),
            message: "invalid type".into(),
            line: Some(3),
            column: Some(18),
        };
        assert_eq!(
            error.to_string(),
            "rules.daily_attempts: invalid type (line 3, column 18)"
        );
        assert_eq!(error.key(), Some("rules.daily_attempts"));
    }
}
