//! Unit tests of the Schema Registry client against a one-answer-per-connection HTTP server.

use super::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

/// A request as the test server received it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one connection per answer (`status`, body), in order, then stops listening.
fn serve(answers: Vec<(u16, &'static str)>) -> (String, JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, body) in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut bytes = vec![0; length];
            reader.read_exact(&mut bytes).unwrap();
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {CONTENT_TYPE}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            seen.push(Seen {
                request_line: request_line.trim_end().to_owned(),
                headers,
                body: String::from_utf8(bytes).unwrap(),
            });
        }
        seen
    });
    (url, handle)
}

fn client(url: &str) -> RegistryClient {
    RegistryClient::with_timeout(url, Duration::from_secs(5))
        .unwrap()
        .with_retries(3, Duration::from_millis(1))
}

const SCHEMA: &str = r#"{"type": "record", "name": "X", "fields": []}"#;

#[test]
fn registers_with_the_documented_request() {
    let (url, server) = serve(vec![(200, r#"{"id":41}"#)]);
    let id = client(&url).register("dozvon.violations-value", SCHEMA);
    assert_eq!(id.unwrap(), 41);
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        request.request_line,
        "POST /subjects/dozvon.violations-value/versions HTTP/1.1"
    );
    assert_eq!(request.header("content-type"), Some(CONTENT_TYPE));
    assert_eq!(request.header("authorization"), None);
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body, serde_json::json!({ "schema": SCHEMA }));
}

#[test]
fn user_info_becomes_basic_auth_and_a_path_prefix_is_kept() {
    let (url, server) = serve(vec![(200, r#"{"id": 7}"#)]);
    let with_user = url.replace("http://", "http://us%40er:p%3Ass@") + "/ccompat/";
    let client = client(&with_user);
    assert!(client.url().ends_with("/ccompat"), "{}", client.url());
    assert!(client.url().starts_with("http://us%40er:***@127.0.0.1:"));
    assert_eq!(client.register("a b", SCHEMA).unwrap(), 7);
    let seen = server.join().unwrap();
    assert_eq!(
        seen[0].request_line,
        "POST /ccompat/subjects/a%20b/versions HTTP/1.1"
    );
    let expected = format!("Basic {}", BASE64.encode("us@er:p:ss"));
    assert_eq!(seen[0].header("authorization"), Some(expected.as_str()));
    assert!(seen[0].header("host").is_some_and(|h| !h.contains('@')));
}

#[test]
fn server_errors_are_retried() {
    let (url, server) = serve(vec![
        (503, r#"{"error_code":50003,"message":"busy"}"#),
        (500, "oops"),
        (200, r#"{"id":3}"#),
    ]);
    assert_eq!(client(&url).register("s", SCHEMA).unwrap(), 3);
    assert_eq!(server.join().unwrap().len(), 3);
}

#[test]
fn server_errors_give_up_after_the_attempts() {
    let (url, server) = serve(vec![
        (500, "oops"),
        (500, ""),
        (502, "<html>bad gateway</html>"),
    ]);
    let error = client(&url).register("s", SCHEMA).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 3);
    assert_eq!(
        error.to_string(),
        "the registry answered HTTP 502: <html>bad gateway</html>"
    );
}

#[test]
fn client_errors_are_final_and_carry_the_registry_message() {
    let (url, server) = serve(vec![(
        409,
        r#"{"error_code":409,"message":"Schema being registered is incompatible"}"#,
    )]);
    // A retry would find the port closed and end with a connection error instead.
    let error = client(&url).register("s", SCHEMA).unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(
            &error,
            RegistryError::Status { status: 409, error_code: Some(409), message: Some(m) }
                if m == "Schema being registered is incompatible"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the registry answered HTTP 409: Schema being registered is incompatible \
         (error code 409)"
    );
}

#[test]
fn an_answer_without_an_id_is_reported() {
    let (url, server) = serve(vec![(200, r#"{"version":1}"#)]);
    let error = client(&url).register("s", SCHEMA).unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(error, RegistryError::BadAnswer { status: 200, .. }),
        "{error:?}"
    );
    assert!(matches!(
        interpret(200, r#"{"id":-1}"#),
        Err(RegistryError::BadAnswer { .. })
    ));
    assert!(matches!(
        interpret(201, "not json"),
        Err(RegistryError::BadAnswer { .. })
    ));
    assert_eq!(interpret(200, r#"{"id": 4294967295}"#).unwrap(), u32::MAX);
}

#[test]
fn an_unreachable_registry_is_retried_then_reported() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = client(&format!("http://127.0.0.1:{port}"))
        .register("s", SCHEMA)
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Connection { attempts: 3, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("no answer from the registry after 3 attempts: ")
    );
}

#[test]
fn urls_are_taken_apart() {
    let parsed = parse_url("HTTPS://registry:8081/").unwrap();
    assert_eq!(parsed.base, "https://registry:8081");
    assert_eq!(parsed.shown, "https://registry:8081");
    assert_eq!(parsed.credentials, None);
    let parsed = parse_url("https://user@registry").unwrap();
    assert_eq!(parsed.shown, "https://user@registry");
    assert_eq!(parsed.credentials, Some(("user".to_owned(), String::new())));
    for bad in [
        "registry:8081",
        "ftp://registry",
        "http://",
        "http://user:pw@/x",
        "http://registry?x=1",
        "http://%FF@registry",
    ] {
        assert!(
            matches!(parse_url(bad), Err(RegistryError::Url(_))),
            "{bad}"
        );
    }
}

#[test]
fn subjects_follow_the_topic_name_strategy() {
    assert_eq!(
        value_subject("dozvon.violations"),
        "dozvon.violations-value"
    );
}

#[test]
fn long_answers_are_cut_in_messages() {
    let long = "é".repeat(300);
    let cut = excerpt(&long);
    assert_eq!(cut.chars().count(), 201);
    assert!(cut.ends_with('…'));
}
