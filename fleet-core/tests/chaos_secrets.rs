//! Secrets never leak: chaos runs (which fetch credentials for health probes and add-ons, and
//! fail, retry, crash and restart along the way) are watched by a tracing subscriber that
//! records every span and event field at every level, and by a listener that keeps every
//! engine and failover event; what they captured, the run's report and the whole state store
//! are searched for every token the simulated clouds handed out.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fleet_core::chaos::{ChaosOptions, run_seed_blocking};
use fleet_core::sim::{CallOutcome, Operation};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A subscriber that writes down every field of every span and event, at every level.
struct Capture {
    out: Arc<Mutex<String>>,
    next_span: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
}

impl Capture {
    fn write(&self, target: &str, record: impl FnOnce(&mut Fields<'_>)) {
        let mut out = self.out.lock().unwrap();
        let _ = write!(out, "{target}: ");
        record(&mut Fields(&mut out));
        out.push('\n');
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.write(span.metadata().name(), |fields| span.record(fields));
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        self.write("record", |fields| values.record(fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        self.write(event.metadata().target(), |fields| event.record(fields));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn no_secret_reaches_logs_events_errors_reports_or_the_store() {
    let mut options = ChaosOptions::default();
    options.record_events = true;
    let mut tokens_checked = 0;
    let mut credential_calls = 0;
    // Seed 5 keeps its journal in SQLite, the others in memory.
    for seed in [1, 2, 5, 8] {
        let out = Arc::new(Mutex::new(String::new()));
        let capture = Capture { out: Arc::clone(&out), next_span: AtomicU64::new(0) };
        let run = tracing::subscriber::with_default(capture, || run_seed_blocking(seed, &options))
            .unwrap_or_else(|failure| panic!("{failure}"));
        let logs = out.lock().unwrap().clone();
        assert!(logs.contains("reconcile") && logs.lines().count() > 100, "the subscriber saw the run: {logs:.300}");
        assert!(!run.events.is_empty(), "the listener heard the run");

        let store = tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
            let store = &run.store;
            format!(
                "{:?}\n{:?}\n{:?}\n{:?}",
                store.intents().await.unwrap(),
                store.observed().await.unwrap(),
                store.events_after(0).await.unwrap(),
                store.placements().await.unwrap()
            )
        });
        let places = [
            ("tracing output", logs.as_str()),
            ("engine and failover events", &run.events.join("\n")),
            ("the state store", &store),
            ("the report", &run.report.to_string()),
        ];
        for cloud in &run.clouds {
            credential_calls += cloud
                .call_log()
                .iter()
                .filter(|call| call.operation == Operation::Credentials && call.outcome == CallOutcome::Ok)
                .count();
            for token in cloud.issued_tokens() {
                tokens_checked += 1;
                for (place, text) in &places {
                    assert!(!text.contains(&token), "seed {seed}: a token of {} is in {place}", cloud.info().name);
                }
            }
        }
    }
    println!("{tokens_checked} issued tokens searched for; {credential_calls} credentials fetched and used");
    assert!(tokens_checked > 20, "tokens were planted: {tokens_checked}");
    assert!(credential_calls > 10, "credentials were fetched and used: {credential_calls}");
}
