//! [`RegionProxy`]: one EKS region's endpoint in front of moto. It relays each request to moto
//! over a connection of its own and answers with moto's answer, unless it was told to fail or
//! throttle the next calls ([`Faults`], shared by the proxies of all regions: they count the
//! provider's calls, whatever their region). A cut proxy closes its port: connections are
//! refused, as by a region whose endpoint cannot be reached, until it is restored.
//!
//! One request per connection (every answer says `Connection: close`), `Content-Length`
//! request bodies (what the AWS SDK sends to EKS). The proxies pass moto one request at a
//! time ([`Upstream`]). What moto lacks or accepts where EKS refuses is answered by the
//! [`StandIn`] first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::{Error, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::stand_in::StandIn;

/// Moto, behind every region's proxy. Its EKS backend checks that a name is free and then
/// takes it without a lock, so that concurrent creates of one cluster or node group can all
/// succeed (and leave a cluster that counts a node group too many and can never be deleted),
/// where EKS lets one succeed and refuses the others: requests go to it one at a time.
#[derive(Debug)]
pub struct Upstream {
    port: u16,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Upstream {
    pub fn new(port: u16) -> Arc<Upstream> {
        Arc::new(Upstream { port, one_at_a_time: tokio::sync::Mutex::new(()) })
    }
}

/// What the proxies do to the next requests.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    fail: u32,
    throttle: u32,
    retry_after: Duration,
}

enum Injected {
    Fail,
    Throttle(Duration),
}

impl Faults {
    /// The next `count` requests answer 500 `ServerException`.
    pub fn fail_next(&self, count: u32) {
        self.state.lock().unwrap().fail = count;
    }

    /// The next `count` requests answer 429 `ThrottlingException`, asking to retry after
    /// `retry_after`.
    pub fn throttle_next(&self, count: u32, retry_after: Duration) {
        let mut state = self.state.lock().unwrap();
        state.throttle = count;
        state.retry_after = retry_after;
    }

    fn take(&self) -> Option<Injected> {
        let mut state = self.state.lock().unwrap();
        if state.throttle > 0 {
            state.throttle -= 1;
            Some(Injected::Throttle(state.retry_after))
        } else if state.fail > 0 {
            state.fail -= 1;
            Some(Injected::Fail)
        } else {
            None
        }
    }
}

/// What every connection of one region's proxy shares.
#[derive(Clone)]
struct Shared {
    region: String,
    upstream: Arc<Upstream>,
    faults: Arc<Faults>,
    stand_in: Arc<StandIn>,
}

/// One region's endpoint: `url`, relaying to moto on `upstream`.
pub struct RegionProxy {
    pub url: String,
    port: u16,
    shared: Shared,
    serving: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl RegionProxy {
    /// Starts serving on a free local port.
    pub async fn start(
        region: &str,
        upstream: Arc<Upstream>,
        faults: Arc<Faults>,
        stand_in: Arc<StandIn>,
    ) -> Arc<RegionProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Shared { region: region.to_owned(), upstream, faults, stand_in };
        let task = tokio::spawn(accept(listener, shared.clone()));
        Arc::new(RegionProxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            shared,
            serving: tokio::sync::Mutex::new(Some(task)),
        })
    }

    /// Closes the port and every open connection: from now on connections are refused.
    pub async fn cut(&self) {
        if let Some(task) = self.serving.lock().await.take() {
            task.abort();
            // Once the task has ended, its listener and connections are closed.
            let _ = task.await;
        }
    }

    /// Serves on the same port again.
    pub async fn restore(&self) -> Result<()> {
        let mut serving = self.serving.lock().await;
        if serving.is_some() {
            return Ok(());
        }
        let mut last = None;
        for _ in 0..100 {
            match listen(self.port) {
                Ok(listener) => {
                    *serving = Some(tokio::spawn(accept(listener, self.shared.clone())));
                    return Ok(());
                }
                Err(err) => last = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(Error::Unavailable { message: format!("cannot listen on port {} again: {last:?}", self.port) })
    }
}

fn listen(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    socket.listen(128)
}

/// Accepts connections until aborted; aborting it drops the listener and, with the join
/// set, every connection.
async fn accept(listener: TcpListener, shared: Shared) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(relay(stream, shared.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers one request: an injected fault, the stand-in's answer, or moto's.
async fn relay(client: TcpStream, shared: Shared) {
    let mut client = BufReader::new(client);
    let Some((head, body)) = read_request(&mut client).await else { return };
    let stand_in = || shared.stand_in.answer(&shared.region, head.first().map_or("", String::as_str), &body);
    let answer = match shared.faults.take() {
        Some(Injected::Throttle(after)) => error_answer(
            429,
            "ThrottlingException",
            "Rate exceeded",
            &[
                ("Retry-After", after.as_secs_f64().ceil().to_string()),
                ("x-amz-retry-after", after.as_millis().to_string()),
            ],
        ),
        Some(Injected::Fail) => {
            error_answer(500, "ServerException", "An internal error occurred; try again later", &[])
        }
        None => match stand_in() {
            Some(answer) => json_answer(answer.status, answer.error_type, &answer.body),
            None => match forward(&head, &body, &shared.upstream).await {
                Ok(answer) => rewritten(answer, |moto| {
                    shared.stand_in.rewrite(&shared.region, head.first().map_or("", String::as_str), moto)
                }),
                Err(err) => error_answer(502, "ServerException", &format!("moto did not answer: {err}"), &[]),
            },
        },
    };
    let client = client.get_mut();
    let _ = client.write_all(&answer).await;
    let _ = client.shutdown().await;
}

/// A request's head (without the blank line) and body.
async fn read_request(client: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if client.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
        if head.len() > 200 {
            return None;
        }
    }
    let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    client.read_exact(&mut body).await.ok()?;
    Some((head, body))
}

fn header<'h>(head: &'h [String], name: &str) -> Option<&'h str> {
    head.iter().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then_some(value.trim())
    })
}

/// `head` without its `Connection` header, with `Connection: close`, as bytes ending in the
/// blank line.
fn closing(head: &[String]) -> Vec<u8> {
    let mut text = String::new();
    for (index, line) in head.iter().enumerate() {
        let is_connection =
            index > 0 && line.split_once(':').is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            text.push_str(line);
            text.push_str("\r\n");
        }
    }
    text.push_str("Connection: close\r\n\r\n");
    text.into_bytes()
}

/// Sends the request to moto and returns its answer, marked `Connection: close`.
async fn forward(head: &[String], body: &[u8], upstream: &Upstream) -> std::io::Result<Vec<u8>> {
    let _turn = upstream.one_at_a_time.lock().await;
    let mut moto = TcpStream::connect(("127.0.0.1", upstream.port)).await?;
    moto.write_all(&closing(head)).await?;
    moto.write_all(body).await?;
    let mut answer = Vec::new();
    moto.read_to_end(&mut answer).await?;
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(std::io::Error::other("moto's answer has no end of head"));
    };
    let answer_head: Vec<String> = String::from_utf8_lossy(&answer[..end]).split("\r\n").map(str::to_owned).collect();
    let mut relayed = closing(&answer_head);
    relayed.extend_from_slice(&answer[end + 4..]);
    Ok(relayed)
}

/// `answer` with its body replaced by what `rewrite` makes of it (a successful answer only),
/// its `Content-Length` set to match.
fn rewritten(answer: Vec<u8>, rewrite: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { return answer };
    let head: Vec<String> = String::from_utf8_lossy(&answer[..end]).split("\r\n").map(str::to_owned).collect();
    if !head.first().is_some_and(|status| status.contains(" 200 ")) {
        return answer;
    }
    let Some(body) = rewrite(&answer[end + 4..]) else { return answer };
    let mut head: Vec<String> =
        head.into_iter().filter(|line| !line.to_ascii_lowercase().starts_with("content-length:")).collect();
    head.push(format!("Content-Length: {}", body.len()));
    let mut relayed = closing(&head);
    relayed.extend_from_slice(&body);
    relayed
}

/// An answer with a JSON `body` and, for an error, its type in `x-amzn-ErrorType`.
fn json_answer(status: u16, error_type: Option<&str>, body: &str) -> Vec<u8> {
    let mut head = vec![
        format!("HTTP/1.1 {status} {}", if status == 200 { "OK" } else { "Error" }),
        "Content-Type: application/json".to_owned(),
        "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000".to_owned(),
        format!("Content-Length: {}", body.len()),
    ];
    head.extend(error_type.map(|kind| format!("x-amzn-ErrorType: {kind}")));
    let mut answer = closing(&head);
    answer.extend_from_slice(body.as_bytes());
    answer
}

/// An answer as EKS gives errors: the status, the error type in `x-amzn-ErrorType`, a JSON
/// body with the message.
fn error_answer(status: u16, error_type: &str, message: &str, extra: &[(&str, String)]) -> Vec<u8> {
    let body = format!(r#"{{"message":"{}"}}"#, message.replace('"', "'"));
    let mut head = vec![
        format!("HTTP/1.1 {status} {}", if status == 429 { "Too Many Requests" } else { "Error" }),
        "Content-Type: application/json".to_owned(),
        format!("x-amzn-ErrorType: {error_type}"),
        "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000".to_owned(),
        format!("Content-Length: {}", body.len()),
    ];
    head.extend(extra.iter().map(|(name, value)| format!("{name}: {value}")));
    let mut answer = closing(&head);
    answer.extend_from_slice(body.as_bytes());
    answer
}
