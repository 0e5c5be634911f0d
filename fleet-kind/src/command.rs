//! Running the `kind` command line: finding it on a search path, running it, and turning its
//! failures into errors that say what is missing and whether a retry can help.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use fleet_core::{Error, Result};
use tokio::process::Command;

/// What to tell someone whose machine lacks `kind`.
const INSTALL_KIND: &str = "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and a \
                            container engine (Docker or Podman), then try again";

/// What the container engine's client prints when its daemon does not answer (not started,
/// restarting, overloaded): a failure that goes away once the engine is back.
const ENGINE_UNREACHABLE: &[&str] = &[
    "Cannot connect to the Docker daemon",
    "Is the docker daemon running",
    "Cannot connect to Podman",
    "error during connect",
];

/// What kind prints when no container engine is installed at all, or it cannot be used.
const ENGINE_MISSING: &[&str] = &["container runtime", "docker info", "executable file not found", "podman"];

/// What `kind create cluster` prints when a cluster of that name exists already.
const NAME_TAKEN: &str = "already exist for a cluster with the name";

/// How much of what kind printed on standard error an error keeps.
const STDERR_KEPT: usize = 2000;

/// The `kind` executable and how to run it.
#[derive(Debug, Clone)]
pub struct KindCommand {
    program: PathBuf,
}

impl KindCommand {
    /// `kind` as found on `search_path` (a `PATH`-style list of directories).
    pub fn find(search_path: &OsString) -> Result<Self> {
        std::env::split_paths(search_path)
            .map(|dir| dir.join("kind"))
            .find(|candidate| is_executable(candidate))
            .map(|program| Self { program })
            .ok_or_else(|| Error::Provider {
                message: format!("the `kind` command was not found on PATH: {INSTALL_KIND}"),
                source: None,
            })
    }

    /// The executable at `program`.
    pub fn at(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into() }
    }

    /// The executable's path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs `kind` with `args`; returns its standard output, or an error carrying what it
    /// printed on standard error:
    /// - a container engine that does not answer (its daemon not running or restarting), a
    ///   machine out of processes, or `kind` killed by a signal: [`Error::Unavailable`], which
    ///   is retryable;
    /// - a missing container engine: [`Error::Provider`] saying what to install;
    /// - a cluster name already taken: [`Error::AlreadyExists`];
    /// - anything else: [`Error::Provider`].
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        tracing::debug!(target: "fleet::kind", program = %self.program.display(), ?args, "running kind");
        let output =
            Command::new(&self.program).args(args).kill_on_drop(true).output().await.map_err(|err| {
                match err.kind() {
                    std::io::ErrorKind::NotFound => Error::Provider {
                        message: format!("`{}` cannot be run: {INSTALL_KIND}", self.program.display()),
                        source: None,
                    },
                    std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::OutOfMemory => {
                        Error::Unavailable { message: format!("running `{}`: {err}", self.program.display()) }
                    }
                    _ => Error::Provider {
                        message: format!("running `{}`: {err}", self.program.display()),
                        source: None,
                    },
                }
            })?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said: String = stderr.trim().chars().take(STDERR_KEPT).collect();
        Err(failure(args, output.status, &said))
    }
}

/// The error of a `kind` run with `args` that ended with `status`, having printed `said`.
fn failure(args: &[&str], status: std::process::ExitStatus, said: &str) -> Error {
    let command = args.join(" ");
    if ENGINE_UNREACHABLE.iter().any(|sign| said.contains(sign)) {
        return Error::Unavailable {
            message: format!(
                "`kind {command}` could not reach the container engine: {said}; start Docker or Podman \
                 (or {INSTALL_KIND})"
            ),
        };
    }
    if ENGINE_MISSING.iter().any(|sign| said.contains(sign)) {
        return Error::Provider {
            message: format!("`kind {command}` found no working container engine: {said}; {INSTALL_KIND}"),
            source: None,
        };
    }
    if said.contains(NAME_TAKEN) {
        return Error::AlreadyExists { resource: format!("Kind cluster (`kind {command}`: {said})") };
    }
    if status.code().is_none() {
        return Error::Unavailable { message: format!("`kind {command}` was stopped ({status}): {said}") };
    }
    Error::Provider { message: format!("`kind {command}` failed ({status}): {said}"), source: None }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use fleet_core::ErrorKind;

    use super::*;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn an_engine_that_does_not_answer_is_retryable() {
        let said = "ERROR: failed to list clusters: command \"docker ps -a --filter label=io.x-k8s.kind.cluster\" \
                    failed with error: exit status 1\nCommand Output: Cannot connect to the Docker daemon at \
                    unix:///var/run/docker.sock. Is the docker daemon running?";
        let err = failure(&["get", "clusters"], exited(1), said);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable());
        assert!(err.to_string().contains("start Docker or Podman"), "{err}");
    }

    #[test]
    fn a_missing_engine_is_not_retryable_and_says_what_to_install() {
        let said = "ERROR: failed to create cluster: failed to get docker info: command \"docker info\" failed \
                    with error: exec: \"docker\": executable file not found in $PATH";
        let err = failure(&["create", "cluster"], exited(1), said);
        assert_eq!(err.kind(), ErrorKind::Provider, "{err}");
        assert!(err.to_string().contains("found no working container engine"), "{err}");
        assert!(err.to_string().contains("Docker or Podman"), "{err}");
    }

    #[test]
    fn a_taken_name_already_exists_and_a_killed_kind_is_retryable() {
        let said = "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"dev\"";
        assert_eq!(failure(&["create", "cluster"], exited(1), said).kind(), ErrorKind::AlreadyExists);
        let killed = failure(&["get", "clusters"], ExitStatus::from_raw(9), "");
        assert!(killed.is_retryable(), "{killed}");
        let other = failure(&["get", "clusters"], exited(2), "ERROR: unknown flag");
        assert_eq!(other.kind(), ErrorKind::Provider, "{other}");
    }
}
