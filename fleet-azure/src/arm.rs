//! [`Arm`]: calls to the Azure Resource Manager REST API through an `azure_core` pipeline
//! (bearer token, client request id, user agent, retries honouring `Retry-After`), and
//! long-running operations followed through `Azure-AsyncOperation` or `Location`.

use std::time::Duration;

use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, Request, Url};
use fleet_core::{Error, RequestKind, Result};
use serde_json::Value;

use crate::errors::{ArmFailure, map_arm_error, operation_failed, parse_retry_after};
use crate::model::AsyncOperation;

const ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");
const LOCATION: HeaderName = HeaderName::from_static("location");
const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");

/// The longest wait between polls Fleet accepts from a `Retry-After`.
const LONGEST_POLL_WAIT: Duration = Duration::from_secs(300);

/// An answer from ARM.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &HeaderName) -> Option<&str> {
        self.headers.get_optional_str(name)
    }

    fn retry_after(&self) -> Option<Duration> {
        self.header(&RETRY_AFTER).and_then(parse_retry_after)
    }

    /// The body as `T`; a body that is not one is a provider error naming `doing`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, doing: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|err| Error::Provider {
            message: format!("{doing}: ARM answered with a body Fleet cannot read: {err}"),
            source: None,
        })
    }
}

/// The ARM endpoint, the API version and the pipeline; see the module documentation.
#[derive(Debug)]
pub(crate) struct Arm {
    pub pipeline: Pipeline,
    pub base: Url,
    pub api_version: &'static str,
    pub poll_interval: Duration,
    pub operation_timeout: Duration,
}

impl Arm {
    /// `path` (starting with `/subscriptions/`) on the endpoint, with the API version.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.url_with_version(path, self.api_version)
    }

    /// `path` on the endpoint, with another resource provider's `api_version`.
    pub fn url_with_version(&self, path: &str, api_version: &str) -> Result<Url> {
        let mut url = self.base.join(path).map_err(|err| Error::InvalidSpec {
            path: "ARM path".into(),
            reason: format!("`{path}` does not make a URL: {err}"),
        })?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    /// A link ARM handed out (`nextLink`, an operation URL), only on ARM's own host, so that
    /// the bearer token never goes anywhere else.
    pub fn link(&self, link: &str, doing: &str) -> Result<Url> {
        let url = Url::parse(link).map_err(|err| Error::Provider {
            message: format!("{doing}: ARM handed out a link that is not a URL ({err})"),
            source: None,
        })?;
        if url.scheme() != self.base.scheme()
            || url.host_str() != self.base.host_str()
            || url.port() != self.base.port()
        {
            return Err(Error::Provider {
                message: format!(
                    "{doing}: ARM handed out a link to another host ({}), which Fleet does not follow",
                    url.host_str().unwrap_or("none")
                ),
                source: None,
            });
        }
        Ok(url)
    }

    /// Sends one request; any answer comes back, a failure to get one is `Unavailable`.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        headers: &[(&'static str, &str)],
    ) -> Result<Answer> {
        let what = format!("{method} {}", url.path());
        let mut request = Request::new(url, method);
        request.insert_header("accept", "application/json");
        for (name, value) in headers {
            request.insert_header(*name, (*value).to_owned());
        }
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(serde_json::to_vec(body).map_err(|err| Error::Provider {
                message: format!("{what}: cannot write the request body: {err}"),
                source: None,
            })?);
        }
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|err| Error::Unavailable { message: format!("{what}: ARM could not be reached: {err}") })?;
        let (status, headers, body) = response.deconstruct();
        Ok(Answer { status: u16::from(status), headers, body: body.as_ref().to_vec() })
    }

    /// Sends a request and turns an error answer into Fleet's error.
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        headers: &[(&'static str, &str)],
        doing: &str,
        request: RequestKind,
    ) -> Result<Answer> {
        let answer = self.send(method, url, body, headers).await?;
        if answer.status >= 400 {
            return Err(map_arm_error(
                doing,
                request,
                ArmFailure::parse(answer.status, answer.retry_after(), &answer.body),
            ));
        }
        Ok(answer)
    }

    /// Follows the long-running operation `started` began, until it succeeds (`Ok`), fails,
    /// or outlasts the operation time-out. Waits between polls as long as ARM's
    /// `Retry-After` asks (at most five minutes), else the poll interval.
    pub async fn follow(&self, started: &Answer, doing: &str) -> Result<()> {
        let operation = started.header(&ASYNC_OPERATION).map(|link| self.link(link, doing)).transpose()?;
        let location = started.header(&LOCATION).map(|link| self.link(link, doing)).transpose()?;
        if operation.is_none() && location.is_none() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + self.operation_timeout;
        let mut wait = started.retry_after();
        loop {
            tokio::time::sleep(wait.unwrap_or(self.poll_interval).min(LONGEST_POLL_WAIT)).await;
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout { message: format!("{doing}: the operation is not done") });
            }
            if let Some(url) = &operation {
                let answer = self.call(Method::Get, url.clone(), None, &[], doing, RequestKind::ReadsOrChanges).await?;
                let status: AsyncOperation = answer.json(doing)?;
                match status.status.as_str() {
                    "Succeeded" => return Ok(()),
                    "Failed" | "Canceled" => return Err(operation_failed(doing, &status.status, status.error)),
                    _ => wait = answer.retry_after(),
                }
            } else if let Some(url) = &location {
                let answer = self.call(Method::Get, url.clone(), None, &[], doing, RequestKind::ReadsOrChanges).await?;
                if answer.status != 202 {
                    return Ok(());
                }
                wait = answer.retry_after();
            }
        }
    }
}
