//! What a chaos run hears from its engines and failover controllers: the placement switches
//! (for the invariants) and, when asked, every event as printed (for the secrets check).

use std::sync::{Arc, Mutex};

use super::invariants::Switch;
use crate::engine::{Engine, EngineEvent};
use crate::failover::FailoverController;
use crate::mutex::lock;

/// Listens to the engines and controllers of every process of a run.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    switches: Mutex<Vec<Switch>>,
    /// Every event, `Debug`-printed, when recording is on.
    events: Option<Mutex<Vec<String>>>,
}

impl Recorder {
    pub(crate) fn new(record_events: bool) -> Arc<Self> {
        Arc::new(Self { switches: Mutex::new(Vec::new()), events: record_events.then(|| Mutex::new(Vec::new())) })
    }

    /// The placement switches heard so far.
    pub(crate) fn switches(&self) -> Vec<Switch> {
        lock(&self.switches).clone()
    }

    /// Every event heard so far, if recording is on.
    pub(crate) fn events(&self) -> Vec<String> {
        self.events.as_ref().map(|events| lock(events).clone()).unwrap_or_default()
    }

    fn keep(&self, printed: impl FnOnce() -> String) {
        if let Some(events) = &self.events {
            lock(events).push(printed());
        }
    }

    /// Listens to `engine` and `controller` until they are gone.
    pub(crate) fn listen(self: &Arc<Self>, engine: &Engine, controller: &FailoverController) {
        let mut engine_events = engine.subscribe();
        let recorder = Arc::clone(self);
        tokio::spawn(async move {
            while let Ok(event) = engine_events.recv().await {
                recorder.keep(|| format!("{event:?}"));
                if let EngineEvent::PlacementSwitched { identity, cluster, generation, .. } = event {
                    lock(&recorder.switches).push((identity, cluster, generation));
                }
            }
        });
        let mut failover_events = controller.subscribe();
        let recorder = Arc::clone(self);
        tokio::spawn(async move {
            while let Ok(event) = failover_events.recv().await {
                recorder.keep(|| format!("{event:?}"));
            }
        });
    }
}
