//! Connecting to etcd, and its errors as Fleet's.

use std::time::Duration;

use etcd_client::{Client, ConnectOptions};
use fleet_core::{Error, Result};

/// How long one etcd request may take before it fails (so that a partitioned replica gives
/// up instead of hanging).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn connect<E: AsRef<str>>(endpoints: &[E]) -> Result<Client> {
    let shown: Vec<&str> = endpoints.iter().map(AsRef::as_ref).collect();
    if shown.is_empty() {
        return Err(Error::InvalidSpec { path: "etcd endpoints".into(), reason: "no endpoint given".into() });
    }
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(3))
        .with_timeout(REQUEST_TIMEOUT)
        .with_keep_alive(Duration::from_secs(5), Duration::from_secs(3));
    Client::connect(&shown, Some(options))
        .await
        .map_err(|err| Error::Unavailable { message: format!("etcd at {}: cannot connect: {err}", shown.join(", ")) })
}

/// Maps an etcd client error of `doing` to `Unavailable`: the engine tries again later.
pub(crate) fn etcd_error(doing: &str) -> impl FnOnce(etcd_client::Error) -> Error + '_ {
    move |err| Error::Unavailable { message: format!("etcd: {doing}: {err}") }
}
