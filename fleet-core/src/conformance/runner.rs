//! Running checks: one [`Kit`] per check that remembers what it made, catches a panicking
//! check, cleans up after it whatever happened, and reports passed, skipped or failed.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use super::ConformanceContext;
use crate::mutex::lock;
use crate::{
    Cluster, ClusterId, ClusterProvider, ClusterProviderExt, ClusterSpec, Credentials, Error, ErrorKind, Region,
    Result, WaitOptions,
};

/// One check of the kit: its name and the promise of the contract it holds the provider to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// The check's name, also the name of its function in [`crate::conformance`].
    pub name: &'static str,
    /// The promise of [`ClusterProvider`]'s contract it checks.
    pub promise: &'static str,
}

/// How one check ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// It could not run here; the reason names the hook, capability or setting it lacked.
    Skipped(String),
}

/// A check that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedCheck {
    /// The check.
    pub check: &'static str,
    /// Why it did not run.
    pub reason: String,
}

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedCheck {
    /// The check.
    pub check: &'static str,
    /// The promise the provider broke.
    pub promise: &'static str,
    /// What the check saw.
    pub message: String,
}

/// What a run of the kit found: every check is in exactly one of the three lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformanceReport {
    /// The checks that passed, in the order they ran.
    pub passed: Vec<&'static str>,
    /// The checks that could not run here, with why.
    pub skipped: Vec<SkippedCheck>,
    /// The checks that failed, with the promise broken and what was seen.
    pub failed: Vec<FailedCheck>,
}

impl ConformanceReport {
    /// The names of the failed checks.
    pub fn failed_checks(&self) -> Vec<&'static str> {
        self.failed.iter().map(|f| f.check).collect()
    }

    /// The names of the skipped checks.
    pub fn skipped_checks(&self) -> Vec<&'static str> {
        self.skipped.iter().map(|s| s.check).collect()
    }

    /// Panics, at the caller's line, naming every failed check, its promise and what was seen.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.failed.is_empty() {
            panic!("{}", self.failure_message());
        }
    }

    pub(crate) fn failure_message(&self) -> String {
        let mut message = format!(
            "conformance: {} of {} checks failed: {}",
            self.failed.len(),
            self.passed.len() + self.skipped.len() + self.failed.len(),
            self.failed_checks().join(", ")
        );
        for failed in &self.failed {
            message.push_str(&format!("\n- {}: broke \"{}\": {}", failed.check, failed.promise, failed.message));
        }
        message
    }

    fn add(&mut self, check: &Check, result: std::result::Result<Outcome, String>) {
        match result {
            Ok(Outcome::Passed) => self.passed.push(check.name),
            Ok(Outcome::Skipped(reason)) => self.skipped.push(SkippedCheck { check: check.name, reason }),
            Err(message) => self.failed.push(FailedCheck { check: check.name, promise: check.promise, message }),
        }
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance: {} passed, {} skipped, {} failed",
            self.passed.len(),
            self.skipped.len(),
            self.failed.len()
        )?;
        for name in &self.passed {
            writeln!(f, "  passed   {name}")?;
        }
        for skipped in &self.skipped {
            writeln!(f, "  SKIPPED  {}: {}", skipped.check, skipped.reason)?;
        }
        for failed in &self.failed {
            writeln!(f, "  FAILED   {}: {}", failed.check, failed.message)?;
        }
        Ok(())
    }
}

/// Why a check stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// It cannot run here.
    Skip(String),
    /// A promise was broken.
    Fail(String),
}

/// What a check returns.
pub(crate) type Verdict = std::result::Result<(), Stop>;

/// Fails the check with a message unless `$cond` holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err($crate::conformance::runner::Stop::Fail(format!($($message)+)));
        }
    };
}
pub(crate) use ensure;

/// Whose provider made a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Whose {
    /// The provider under test.
    Mine,
    /// The other fleet's provider.
    Theirs,
}

/// What every check of one run saw, for the check that no secret reached an error.
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    /// Secret values out of every kubeconfig the provider handed out.
    pub(crate) secrets: Mutex<Vec<String>>,
    /// `Display` and `Debug` of every error the provider returned.
    pub(crate) errors: Mutex<Vec<String>>,
}

/// One check's view of the provider under test, the context and what it made.
pub(crate) struct Kit<'a> {
    pub(crate) provider: &'a dyn ClusterProvider,
    pub(crate) ctx: &'a ConformanceContext,
    pub(crate) wait: WaitOptions,
    evidence: &'a Evidence,
    created: Mutex<Vec<(Whose, ClusterId)>>,
    planted: Mutex<Vec<(ClusterId, Region)>>,
    cut: Mutex<Vec<Region>>,
}

impl<'a> Kit<'a> {
    pub(crate) fn new(provider: &'a dyn ClusterProvider, ctx: &'a ConformanceContext, evidence: &'a Evidence) -> Self {
        Self {
            provider,
            ctx,
            wait: ctx.wait_for(provider.info()),
            evidence,
            created: Mutex::new(Vec::new()),
            planted: Mutex::new(Vec::new()),
            cut: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn of(&self, whose: Whose) -> &'a dyn ClusterProvider {
        match whose {
            Whose::Mine => self.provider,
            Whose::Theirs => self.ctx.other_fleet.as_ref(),
        }
    }

    /// Notes an error the provider returned, for the secrets check.
    pub(crate) fn saw_error(&self, err: &Error) {
        let mut errors = lock(&self.evidence.errors);
        errors.push(err.to_string());
        errors.push(format!("{err:?}"));
    }

    /// Notes the secret values of credentials the provider handed out.
    pub(crate) fn saw_credentials(&self, credentials: &Credentials) {
        lock(&self.evidence.secrets).extend(secret_values(credentials.expose_kubeconfig()));
    }

    pub(crate) fn evidence(&self) -> (Vec<String>, Vec<String>) {
        (lock(&self.evidence.secrets).clone(), lock(&self.evidence.errors).clone())
    }

    /// The value of `result`, or a failure saying what was being done.
    pub(crate) fn ok<T>(&self, result: Result<T>, doing: &str) -> std::result::Result<T, Stop> {
        result.map_err(|err| {
            self.saw_error(&err);
            Stop::Fail(format!("{doing} failed: {err}"))
        })
    }

    /// The error of `result` when it is of one of the `expected` kinds, else a failure.
    pub(crate) fn expect_err<T: fmt::Debug>(
        &self,
        result: Result<T>,
        expected: &[ErrorKind],
        doing: &str,
    ) -> std::result::Result<Error, Stop> {
        match result {
            Err(err) if expected.contains(&err.kind()) => {
                self.saw_error(&err);
                Ok(err)
            }
            Err(err) => {
                self.saw_error(&err);
                Err(Stop::Fail(format!("{doing} should fail with {expected:?}, got {:?}: {err}", err.kind())))
            }
            Ok(value) => Err(Stop::Fail(format!("{doing} should fail with {expected:?}, got Ok({value:?})"))),
        }
    }

    /// Runs a hook, skipping the check when the harness does not implement it.
    pub(crate) fn hook<T>(&self, name: &str, answer: Option<Result<T>>) -> std::result::Result<T, Stop> {
        match answer {
            None => Err(Stop::Skip(format!("needs hook `{name}`, which this harness does not implement"))),
            Some(Err(err)) => Err(Stop::Fail(format!("hook `{name}` failed: {err}"))),
            Some(Ok(value)) => Ok(value),
        }
    }

    /// A spec for `suffix` in the context's region, for the provider under test.
    pub(crate) fn spec(&self, suffix: &str) -> ClusterSpec {
        self.ctx.spec_in(self.provider, suffix, &self.ctx.region)
    }

    /// `create`, remembering the id for clean-up first (a failed call may still have made it).
    pub(crate) async fn create(&self, whose: Whose, spec: &ClusterSpec) -> Result<Cluster> {
        {
            let mut created = lock(&self.created);
            if !created.contains(&(whose, spec.id.clone())) {
                created.push((whose, spec.id.clone()));
            }
        }
        self.of(whose).create(spec).await
    }

    /// Creates `spec` and waits for it to run.
    pub(crate) async fn create_running_spec(
        &self,
        whose: Whose,
        spec: &ClusterSpec,
    ) -> std::result::Result<Cluster, Stop> {
        self.ok(self.create(whose, spec).await, &format!("create `{}`", spec.id))?;
        self.wait_running(whose, &spec.id).await
    }

    /// Creates a cluster for `suffix` in the context's region and waits for it to run.
    pub(crate) async fn create_running(&self, whose: Whose, suffix: &str) -> std::result::Result<ClusterSpec, Stop> {
        let spec = self.ctx.spec_in(self.of(whose), suffix, &self.ctx.region);
        self.create_running_spec(whose, &spec).await?;
        Ok(spec)
    }

    pub(crate) async fn wait_running(&self, whose: Whose, id: &ClusterId) -> std::result::Result<Cluster, Stop> {
        self.ok(self.of(whose).wait_until_running(id, self.wait).await, &format!("waiting for `{id}` to run"))
    }

    pub(crate) async fn delete_and_wait(&self, whose: Whose, id: &ClusterId) -> Verdict {
        let provider = self.of(whose);
        self.ok(provider.delete(id).await, &format!("delete `{id}`"))?;
        self.ok(provider.wait_until_deleted(id, self.wait).await, &format!("waiting for `{id}` to be deleted"))?;
        lock(&self.created).retain(|(w, c)| !(*w == whose && c == id));
        Ok(())
    }

    /// Plants a cluster on the backend through the harness's hook.
    pub(crate) async fn plant(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Verdict {
        let answer = self.ctx.hooks.plant_cluster(id, region, tags).await;
        if answer.is_some() {
            lock(&self.planted).push((id.clone(), region.clone()));
        }
        self.hook("plant_cluster", answer)
    }

    /// Removes a planted cluster; fails when it is gone (something deleted it).
    pub(crate) async fn remove_planted(&self, id: &ClusterId, region: &Region) -> Verdict {
        lock(&self.planted).retain(|(c, _)| c != id);
        match self.ctx.hooks.remove_planted(id, region).await {
            None => Err(Stop::Skip("needs hook `remove_planted`, which this harness does not implement".into())),
            Some(Err(Error::NotFound { .. })) => Err(Stop::Fail(format!(
                "the planted cluster `{id}` is gone: the provider deleted a cluster not its own"
            ))),
            Some(Err(err)) => Err(Stop::Fail(format!("hook `remove_planted` failed: {err}"))),
            Some(Ok(())) => Ok(()),
        }
    }

    /// Cuts a region through the harness's hook; it is restored at clean-up at the latest.
    pub(crate) async fn cut_region(&self, region: &Region) -> Verdict {
        let answer = self.ctx.hooks.cut_region(region).await;
        if answer.is_some() {
            lock(&self.cut).push(region.clone());
        }
        self.hook("cut_region", answer)
    }

    pub(crate) async fn restore_region(&self, region: &Region) -> Verdict {
        lock(&self.cut).retain(|r| r != region);
        self.hook("restore_region", self.ctx.hooks.restore_region(region).await)
    }

    /// Best effort: brings back cut regions, removes planted clusters, and deletes and awaits
    /// every cluster the check made, whatever became of the check.
    async fn clean_up(&self) {
        let cut = std::mem::take(&mut *lock(&self.cut));
        for region in cut {
            let _ = self.ctx.hooks.restore_region(&region).await;
        }
        let planted = std::mem::take(&mut *lock(&self.planted));
        for (id, region) in planted {
            let _ = self.ctx.hooks.remove_planted(&id, &region).await;
        }
        let created = std::mem::take(&mut *lock(&self.created));
        for (whose, id) in &created {
            let provider = self.of(*whose);
            for _ in 0..5 {
                match provider.delete(id).await {
                    Err(err) if err.is_retryable() => {
                        tokio::time::sleep(err.retry_after().unwrap_or(self.wait.initial_interval)).await;
                    }
                    _ => break,
                }
            }
        }
        for (whose, id) in &created {
            let _ = self.of(*whose).wait_until_deleted(id, self.wait).await;
        }
    }
}

/// The values of the secret fields of a kubeconfig (tokens, keys, passwords).
pub(crate) fn secret_values(kubeconfig: &str) -> Vec<String> {
    const SECRET_KEYS: [&str; 4] = ["token:", "client-key-data:", "password:", "id-token:"];
    kubeconfig
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches("- ");
            let key = SECRET_KEYS.iter().find(|key| line.starts_with(**key))?;
            let value = line[key.len()..].trim().trim_matches('"').trim_matches('\'');
            (value.len() >= 8).then(|| value.to_owned())
        })
        .collect()
}

/// Runs `check` with a kit of its own, then cleans up; a panic is a failure.
pub(crate) async fn run_one<'a>(
    check: &Check,
    provider: &'a dyn ClusterProvider,
    ctx: &'a ConformanceContext,
    evidence: &'a Evidence,
) -> std::result::Result<Outcome, String> {
    let kit = Kit::new(provider, ctx, evidence);
    tracing::info!(target: "fleet::conformance", check = check.name, "running");
    let verdict = match super::dispatch(check.name, &kit) {
        Some(future) => CatchUnwind(future).await,
        None => Ok(Err(Stop::Fail(format!("no check named `{}`", check.name)))),
    };
    kit.clean_up().await;
    match verdict {
        Ok(Ok(())) => Ok(Outcome::Passed),
        Ok(Err(Stop::Skip(reason))) => Ok(Outcome::Skipped(reason)),
        Ok(Err(Stop::Fail(message))) => Err(message),
        Err(panic) => Err(format!("panicked: {}", panic_message(&panic))),
    }
}

/// Runs every check of `checks`, each after the last one's clean-up.
pub(crate) async fn run_every(
    checks: &[Check],
    provider: &dyn ClusterProvider,
    ctx: &ConformanceContext,
) -> ConformanceReport {
    let evidence = Evidence::default();
    let mut report = ConformanceReport::default();
    for check in checks {
        let result = run_one(check, provider, ctx, &evidence).await;
        report.add(check, result);
    }
    report
}

fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// A future that turns a panic while it is polled into an `Err`.
struct CatchUnwind<'a>(Pin<Box<dyn Future<Output = Verdict> + 'a>>);

impl Future for CatchUnwind<'_> {
    type Output = std::result::Result<Verdict, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(move || future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(verdict)) => Poll::Ready(Ok(verdict)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
