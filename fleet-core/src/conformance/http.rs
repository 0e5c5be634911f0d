//! A minimal HTTP/1.1 server for provider tests: local stand-ins for cloud APIs (a responder
//! of documented answers, a fake API keeping state) that the provider's real client talks to
//! over a real socket. Keep-alive connections, `Content-Length` bodies, one thread each.
//!
//! ```
//! use fleet_core::conformance::http::{TestResponse, serve};
//! let url = serve(|request| TestResponse::json(200, format!("{{\"path\":\"{}\"}}", request.path)));
//! assert!(url.starts_with("http://127.0.0.1:"));
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query, without `?` (empty when there is none).
    pub query: String,
    /// The headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl TestRequest {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestResponse {
    /// The HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::bytes(status, "application/json", body.into().into_bytes())
    }

    /// An answer of any bytes (not necessarily UTF-8, not necessarily what `content_type` says).
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self { status, headers: vec![("Content-Type".into(), content_type.into())], body }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Serves on a free local port until the process ends, answering every request with
/// `answer`; returns the base URL (`http://127.0.0.1:PORT`).
pub fn serve(answer: impl Fn(TestRequest) -> TestResponse + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|err| panic!("test server: cannot bind: {err}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|err| panic!("test server: no local address: {err}"))
    );
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = Arc::clone(&answer);
            std::thread::spawn(move || connection(stream, answer.as_ref()));
        }
    });
    url
}

fn connection(mut stream: TcpStream, answer: &dyn Fn(TestRequest) -> TestResponse) {
    // Each answer goes out whole at once: no wait on the client's delayed acknowledgement.
    let _ = stream.set_nodelay(true);
    while let Some(request) = read_request(&mut stream) {
        let response = answer(request);
        let mut text = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\n", response.status, response.body.len());
        for (name, value) in &response.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        let mut whole = text.into_bytes();
        whole.extend_from_slice(&response.body);
        if stream.write_all(&whole).is_err() {
            return;
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<TestRequest> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length =
        headers.iter().find(|(name, _)| name == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(TestRequest { method, path: path.to_owned(), query: query.to_owned(), headers, body })
}
