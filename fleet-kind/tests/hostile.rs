//! Hostile answers from `kind` and hostile records: a `kind` that prints malformed, oversized
//! and adversarial output (the kit's hostile bodies) and exits with success or failure, and
//! Fleet's own record of the cluster overwritten with the same bytes. Every call of the Kind
//! provider ends with an error or a sane result: no panic, no hang.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::FakeKind;
use fleet_core::conformance::hostile::{bodies, every_call_ends, web_spec};
use fleet_core::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_call_ends_whatever_kind_prints() {
    let kind = FakeKind::hostile();
    let provider: Arc<dyn ClusterProvider> = Arc::new(kind.provider("prod"));
    let spec = web_spec("kind", "local").unwrap();
    std::fs::create_dir_all(kind.records()).unwrap();
    let mut problems = Vec::new();
    for body in bodies("") {
        for (status, corrupt_record) in [(0, false), (1, false), (0, true)] {
            kind.answer_with(status, &body.bytes);
            if corrupt_record {
                std::fs::write(kind.records().join("web-1.json"), &body.bytes).unwrap();
            }
            for problem in every_call_ends(Arc::clone(&provider), &spec, Duration::from_secs(60)).await {
                problems.push(format!("{} (exit {status}, record corrupt: {corrupt_record}): {problem}", body.name));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
