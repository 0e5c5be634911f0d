//! The reference service: Fleet inside a Rust service, behind an HTTP API, on **simulated**
//! clouds by default (see `fleet_examples::service`). It serves until SIGTERM or Ctrl-C.
//!
//! ```text
//! cargo run -p fleet-examples --example service
//! curl -H 'Authorization: Bearer demo-payments-token-0001' localhost:8080/v1/status
//! ```

#[tokio::main]
async fn main() -> Result<(), fleet_examples::service::Failure> {
    fleet_examples::service::main(std::env::args().skip(1)).await
}
