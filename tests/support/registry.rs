//! A Schema Registry stand-in (just enough HTTP/1.1 to register schemas) and configs that use it.
//
// No real Schema Registry runs on the test machines (no JVM, no Docker, Karapace is not
// installable), so the service tests talk to this: a thread on 127.0.0.1 that records every
// request and answers `POST /subjects/{subject}/versions` as the Confluent REST API does.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Topics, service_config};

/// A request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: String,
}

/// How the stand-in answers.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// `POST /subjects/{subject}/versions` of a known subject: 200 `{"id": N}` with the
    /// subject's id (the same every time, like a registry given the same schema again);
    /// anything else: 404 with a Confluent error body.
    Register,
    /// Every request: this status with a Confluent error body.
    Status(u16),
}

/// The stand-in: listens on `url` until dropped.
pub struct StandIn {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    address: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Starts a stand-in that knows the subjects of `ids` (subject, schema id).
    pub fn start(ids: &[(String, u32)], answer: Answer) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the registry stand-in");
        let address = listener.local_addr().expect("stand-in address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let ids: BTreeMap<String, u32> = ids.iter().cloned().collect();
        let thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    match serve(stream, &ids, answer) {
                        Ok(request) => requests.lock().expect("requests").push(request),
                        Err(error) => eprintln!("registry stand-in: {error}"),
                    }
                }
            })
        };
        StandIn {
            url: format!("http://{address}"),
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (headers, `Content-Length` body), answers it and closes the connection.
fn serve(
    stream: TcpStream,
    ids: &BTreeMap<String, u32>,
    answer: Answer,
) -> std::io::Result<Request> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(invalid("no request line"));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut content_type = None;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("connection closed inside the headers"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid("malformed header"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().map_err(|_| invalid("bad Content-Length"))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid("the stand-in reads Content-Length bodies only"));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8(body).map_err(|_| invalid("body is not UTF-8"))?;
    let (status, answer_body) = match answer {
        Answer::Status(status) => (
            status,
            format!(
                r#"{{"error_code":{},"message":"stand-in answers {status}"}}"#,
                if status == 409 {
                    409
                } else {
                    u32::from(status) * 100 + 1
                }
            ),
        ),
        Answer::Register => {
            let subject = path
                .strip_prefix("/subjects/")
                .and_then(|rest| rest.strip_suffix("/versions"));
            match subject
                .and_then(|s| ids.get(s))
                .filter(|_| method == "POST")
            {
                Some(id) => (200, format!(r#"{{"id":{id}}}"#)),
                None => (
                    404,
                    format!(
                        r#"{{"error_code":40401,"message":"stand-in: unexpected {method} {path}"}}"#
                    ),
                ),
            }
        }
    };
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 {status} Stand-in\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{answer_body}",
        answer_body.len()
    )?;
    stream.flush()?;
    Ok(Request {
        method,
        path,
        content_type,
        body,
    })
}

/// [`service_config`] with `[kafka] schema_registry_url = url` and the two output encodings
/// (`"json"` / `"avro"`); `service_config`'s `extra` lands in `[processing]`, too late for these.
pub fn registry_config(
    topics: &Topics,
    guarantee: &str,
    url: &str,
    violations: &str,
    qc_reviews: &str,
) -> String {
    let base = service_config(topics, guarantee, "");
    let anchor = "\n[kafka.topics]\n";
    assert!(
        base.contains(anchor),
        "service_config has a [kafka.topics] table"
    );
    base.replacen(
        anchor,
        &format!(
            "schema_registry_url = \"{url}\"\n\n\
             [kafka.encoding]\nviolations = \"{violations}\"\nqc_reviews = \"{qc_reviews}\"\n{anchor}"
        ),
        1,
    )
}
