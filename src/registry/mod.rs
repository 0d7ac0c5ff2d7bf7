//! A blocking Confluent Schema Registry client: registers dozvon's Avro schemas, returns their ids.
//
// REST API (Confluent Schema Registry v1; Karapace and Apicurio's ccompat API speak it too):
// `POST {url}/subjects/{subject}/versions` with `Content-Type:
// application/vnd.schemaregistry.v1+json` and `{"schema": "<schema text>"}` (no `schemaType`:
// AVRO) answers `{"id": N}`; registering a schema the subject already has answers the existing
// id. Errors answer `{"error_code": N, "message": "..."}` with an HTTP status (409: incompatible
// with the subject's compatibility setting, 422: invalid schema, 401/403: credentials, 5xx:
// the registry's own trouble). Subjects follow the TopicNameStrategy: `<topic>-value`.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;

/// Content type of Schema Registry requests (API v1).
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// What the client accepts in answers, as Confluent's own clients send it.
const ACCEPT: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";

/// Time limit of one request, connecting and reading the answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts per registration: the first and up to three retries.
pub const DEFAULT_ATTEMPTS: u32 = 4;

/// Pause before the first retry; doubled before each further one (0.25 s, 0.5 s, 1 s).
pub const DEFAULT_FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Answers longer than this are not read (a registration answer is a few bytes).
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// Characters of a subject written as they are in the URL path: RFC 3986 "unreserved".
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The subject of a topic's record values under the TopicNameStrategy: `<topic>-value`.
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// Why a schema could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The configured URL cannot be used.
    #[error("invalid schema registry URL: {0}")]
    Url(String),
    /// The registry answered with an error status (after the retries, for 5xx).
    #[error("the registry answered HTTP {status}{}", detail(*.error_code, .message.as_deref()))]
    Status {
        status: u16,
        /// `error_code` of the registry's JSON error body, when it sent one.
        error_code: Option<i64>,
        /// `message` of the registry's JSON error body, or the start of a non-JSON body.
        message: Option<String>,
    },
    /// No answer: connection refused or reset, time-out, unknown host, TLS failure.
    #[error("no answer from the registry{}: {error}", after(*.attempts))]
    Connection { attempts: u32, error: ureq::Error },
    /// A success status without the `{"id": N}` the API promises.
    #[error("unexpected answer from the registry (HTTP {status}): {reason}")]
    BadAnswer { status: u16, reason: String },
}

fn after(attempts: u32) -> String {
    match attempts {
        0 | 1 => String::new(),
        n => format!(" after {n} attempts"),
    }
}

fn detail(error_code: Option<i64>, message: Option<&str>) -> String {
    match (message, error_code) {
        (Some(message), Some(code)) => format!(": {message} (error code {code})"),
        (Some(message), None) => format!(": {message}"),
        (None, Some(code)) => format!(" (error code {code})"),
        (None, None) => String::new(),
    }
}

impl RegistryError {
    /// Worth another attempt: no answer at all, or a 5xx status.
    fn is_transient(&self) -> bool {
        match self {
            RegistryError::Status { status, .. } => (500..600).contains(status),
            RegistryError::Connection { error, .. } => matches!(
                error,
                ureq::Error::Io(_)
                    | ureq::Error::Timeout(_)
                    | ureq::Error::HostNotFound
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::Protocol(_)
            ),
            RegistryError::Url(_) | RegistryError::BadAnswer { .. } => false,
        }
    }
}

/// A Schema Registry at one URL.
///
/// The URL is `http://` or `https://`, optionally with user info for HTTP basic auth
/// (`https://user:password@host:8081`, percent-encoded where needed) and a path prefix
/// (`https://host/apis/ccompat/v7`). Requests go to the URL without the user info; the
/// credentials travel in an `Authorization: Basic` header.
pub struct RegistryClient {
    agent: ureq::Agent,
    /// `scheme://host[:port][/path]`: no user info, no trailing `/`.
    base: String,
    /// The URL for messages and logs: any password replaced by `***`.
    shown: String,
    /// `Basic <base64(user:password)>` when the URL carries user info.
    authorization: Option<String>,
    attempts: u32,
    first_backoff: Duration,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.shown)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client with [`DEFAULT_TIMEOUT`] per request and [`DEFAULT_ATTEMPTS`] attempts.
    pub fn new(url: &str) -> Result<RegistryClient, RegistryError> {
        RegistryClient::with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// A client whose requests give up after `timeout`.
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<RegistryClient, RegistryError> {
        let parsed = parse_url(url)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("dozvon/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(RegistryClient {
            agent: ureq::Agent::new_with_config(config),
            base: parsed.base,
            shown: parsed.shown,
            authorization: parsed.credentials.map(|(user, password)| {
                format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
            }),
            attempts: DEFAULT_ATTEMPTS,
            first_backoff: DEFAULT_FIRST_BACKOFF,
        })
    }

    /// Makes up to `attempts` attempts (at least one) on transient failures, pausing
    /// `first_backoff` before the first retry and twice as long before each further one.
    pub fn with_retries(mut self, attempts: u32, first_backoff: Duration) -> RegistryClient {
        self.attempts = attempts.max(1);
        self.first_backoff = first_backoff;
        self
    }

    /// The registry's URL as given, with any password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Registers the Avro `schema` (its JSON text) under `subject` and returns its schema id;
    /// the existing id when the subject already has this schema. Connection failures and 5xx
    /// answers are retried with a growing pause; any other answer is final.
    pub fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = format!(
            "{}/subjects/{}/versions",
            self.base,
            utf8_percent_encode(subject, PATH_SEGMENT)
        );
        let body = serde_json::json!({ "schema": schema }).to_string();
        let mut pause = self.first_backoff;
        let mut attempt = 1;
        loop {
            match self.post(&url, &body) {
                Err(error) if attempt < self.attempts && error.is_transient() => {
                    tracing::warn!(
                        registry = self.shown,
                        subject,
                        attempt,
                        %error,
                        "schema registration failed; retrying in {pause:?}"
                    );
                    std::thread::sleep(pause);
                    pause = pause.saturating_mul(2);
                    attempt += 1;
                }
                Err(RegistryError::Connection { error, .. }) => {
                    return Err(RegistryError::Connection {
                        attempts: attempt,
                        error,
                    });
                }
                outcome => return outcome,
            }
        }
    }

    /// One attempt.
    fn post(&self, url: &str, body: &str) -> Result<u32, RegistryError> {
        let mut request = self
            .agent
            .post(url)
            .header("Accept", ACCEPT)
            .content_type(CONTENT_TYPE);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let connection = |error| RegistryError::Connection { attempts: 1, error };
        let mut response = request.send(body).map_err(connection)?;
        let status = response.status().as_u16();
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(connection)?;
        interpret(status, &answer)
    }
}

/// What an answer means: `{"id": N}` under a 2xx status, the registry's error otherwise.
fn interpret(status: u16, answer: &str) -> Result<u32, RegistryError> {
    #[derive(Deserialize)]
    struct Registered {
        id: u32,
    }
    #[derive(Deserialize)]
    struct Failure {
        error_code: Option<i64>,
        message: Option<String>,
    }
    if (200..300).contains(&status) {
        return serde_json::from_str::<Registered>(answer)
            .map(|registered| registered.id)
            .map_err(|error| RegistryError::BadAnswer {
                status,
                reason: format!("{error} in {:?}", excerpt(answer)),
            });
    }
    let (error_code, message) = match serde_json::from_str::<Failure>(answer) {
        Ok(Failure {
            error_code,
            message,
        }) if error_code.is_some() || message.is_some() => (error_code, message),
        _ => (None, Some(excerpt(answer)).filter(|text| !text.is_empty())),
    };
    Err(RegistryError::Status {
        status,
        error_code,
        message,
    })
}

/// The start of an answer, for messages: at most 200 characters, trimmed.
fn excerpt(answer: &str) -> String {
    const LIMIT: usize = 200;
    let answer = answer.trim();
    match answer.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &answer[..end]),
        None => answer.to_owned(),
    }
}

/// Checks a registry URL as [`RegistryClient::new`] would; returns it with the password
/// replaced by `***`, fit for logs and printed configurations.
pub fn shown_url(url: &str) -> Result<String, RegistryError> {
    parse_url(url).map(|parsed| parsed.shown)
}

/// A registry URL taken apart.
#[derive(Debug, PartialEq, Eq)]
struct ParsedUrl {
    base: String,
    shown: String,
    credentials: Option<(String, String)>,
}

/// Splits the user info off `scheme://[user[:password]@]host[:port][/path]`.
fn parse_url(url: &str) -> Result<ParsedUrl, RegistryError> {
    let invalid = |reason: &str| RegistryError::Url(format!("{url:?}: {reason}"));
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or_else(|| invalid("expected http:// or https://"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(invalid("expected http:// or https://"));
    }
    if rest.contains(['?', '#']) {
        return Err(invalid("a query or fragment is not supported"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (user_info, host) = match authority.rsplit_once('@') {
        Some((user_info, host)) => (Some(user_info), host),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    let path = path.trim_end_matches('/');
    let base = format!("{scheme}://{host}{path}");
    let Some(user_info) = user_info else {
        return Ok(ParsedUrl {
            shown: base.clone(),
            base,
            credentials: None,
        });
    };
    let (user, password) = match user_info.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (user_info, None),
    };
    let decode = |part: &str| {
        percent_decode_str(part)
            .decode_utf8()
            .map(Cow::into_owned)
            .map_err(|_| invalid("user info is not UTF-8 once percent-decoded"))
    };
    let shown = match password {
        Some(_) => format!("{scheme}://{user}:***@{host}{path}"),
        None => format!("{scheme}://{user}@{host}{path}"),
    };
    Ok(ParsedUrl {
        base,
        shown,
        credentials: Some((decode(user)?, decode(password.unwrap_or_default())?)),
    })
}

#[cfg(test)]
mod tests;
