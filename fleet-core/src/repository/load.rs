//! Reading a repository directory: every `*.yaml`/`*.yml` file below it, multi-document files
//! allowed, add-on manifests referenced by `file:` read in.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::Repository;
use super::documents::{BlueprintFile, Document, parse_document, split_documents};
use crate::blueprint::{Blueprint, Layer};
use crate::{SpecError, SpecErrors};

/// Largest file read, so that a hostile repository cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Directories of this name hold Kubernetes manifests for add-ons (referenced by `file:`), not
/// Fleet documents, and are not walked.
pub const MANIFESTS_DIR: &str = "manifests";

/// Most directory levels walked below the root.
const MAX_DEPTH: usize = 16;

impl Repository {
    /// Loads every document in the `*.yaml` and `*.yml` files under `root` (hidden entries,
    /// symbolic links and directories named `manifests`, which hold add-on manifests, are
    /// skipped; files may hold several documents separated by `---`). Returns the repository, or every problem found, each
    /// naming its file, line and column where known, and its field path.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("fleet-doc-load-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("policy.yaml"), "kind: TeamPolicy\nspec:\n  team: payments\n  quota: {clusters: 2, nodes: many}\n").unwrap();
    /// let errors = fleet_core::repository::Repository::load_dir(&dir).unwrap_err();
    /// assert!(errors.to_string().contains("policy.yaml:4:"), "{errors}");
    /// assert!(errors.to_string().contains("`spec.quota.nodes`"), "{errors}");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn load_dir(root: impl AsRef<Path>) -> Result<Repository, SpecErrors> {
        let root = root.as_ref();
        let mut files = Vec::new();
        collect_files(root, 0, &mut files)?;
        files.sort();
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        for file in &files {
            let shown = file.strip_prefix(root).unwrap_or(file).to_path_buf();
            match read_text(file) {
                Ok(text) => loaded.push((shown, text)),
                Err(err) => errors.push(err.in_file(shown)),
            }
        }
        let sources: Vec<(PathBuf, &str)> = loaded.iter().map(|(path, text)| (path.clone(), text.as_str())).collect();
        let mut repository = match Repository::from_sources(&sources) {
            Ok(repository) => repository,
            Err(SpecErrors(more)) => {
                errors.extend(more);
                return Err(SpecErrors(errors));
            }
        };
        errors.extend(repository.inline_addons(&|path: &Path| read_text(&root.join(path))));
        if errors.is_empty() { Ok(repository) } else { Err(SpecErrors(errors)) }
    }

    /// Reads the add-on manifests the repository's layers name by `file:` from `files`
    /// (`(path, text)` pairs, paths relative to the repository's root, as the layers' own
    /// files are): what [`load_dir`](Self::load_dir) reads from disk, for a repository built
    /// [`from_sources`](Self::from_sources).
    ///
    /// ```
    /// use fleet_core::repository::Repository;
    /// let layer = "kind: Layer\nspec:\n  name: base\n  owner: ops\n  set:\n    addons: {deny: {file: ../manifests/deny.yaml}}\n";
    /// let repository = Repository::from_sources(&[("layers/base.yaml".into(), layer)]).unwrap();
    /// let repository = repository
    ///     .with_files(&[("manifests/deny.yaml".into(), "kind: NetworkPolicy\n")])
    ///     .unwrap();
    /// assert_eq!(repository.layers["base"].set["addons"]["deny"]["manifest"], "kind: NetworkPolicy\n");
    /// let missing = Repository::from_sources(&[("layers/base.yaml".into(), layer)]).unwrap().with_files(&[]).unwrap_err();
    /// assert_eq!(missing.0.len(), 1, "named once: {missing}");
    /// assert!(missing.to_string().contains("layers/base.yaml: `set.addons.deny.file`"), "{missing}");
    /// ```
    ///
    /// # Errors
    /// Every manifest that is not among `files` or lies outside the repository, once each,
    /// naming the layer's file and the field.
    pub fn with_files(mut self, files: &[(PathBuf, &str)]) -> Result<Repository, SpecErrors> {
        let errors = self.inline_addons(&|path: &Path| {
            files
                .iter()
                .find(|(name, _)| name == path)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| SpecError::new("", format!("no file `{}` given", path.display())))
        });
        if errors.is_empty() { Ok(self) } else { Err(SpecErrors(errors)) }
    }

    /// Inlines every layer's `file:` add-ons with `read` (a path relative to the root);
    /// returns the problems, each once, however many blueprints use the layer.
    fn inline_addons(&mut self, read: &dyn Fn(&Path) -> Result<String, SpecError>) -> Vec<SpecError> {
        let mut errors: Vec<SpecError> = Vec::new();
        for layer in self.layers_mut() {
            if let Err(err) = inline_addon_files(layer, read)
                && !errors.contains(&err)
            {
                errors.push(err);
            }
        }
        errors
    }

    /// Builds a repository from in-memory files: `(name, YAML text)` pairs.
    pub fn from_sources(sources: &[(PathBuf, &str)]) -> Result<Repository, SpecErrors> {
        let mut repository = Repository::default();
        let mut blueprint_files = Vec::new();
        let mut errors = Vec::new();
        for (file, text) in sources {
            for (index, (offset, document)) in split_documents(text).into_iter().enumerate() {
                match parse_document(&document, offset) {
                    Ok(None) => {}
                    Ok(Some(document)) => match document {
                        Document::Blueprint(blueprint) => blueprint_files.push((file.clone(), blueprint)),
                        Document::Layer(mut layer) => {
                            layer.source = Some(file.clone());
                            if repository.layers.insert(layer.name.clone(), layer.clone()).is_some() {
                                errors.push(
                                    SpecError::new("spec.name", format!("layer `{}` is declared twice", layer.name))
                                        .in_file(file),
                                );
                            }
                        }
                        Document::FleetSpec(spec) => repository.fleet_specs.push((file.clone(), spec)),
                        Document::EnvironmentRequest(request) => repository.requests.push((file.clone(), request)),
                        Document::TeamPolicy(policy) => {
                            if repository.policies.insert(policy.team.clone(), policy.clone()).is_some() {
                                errors.push(
                                    SpecError::new("spec.team", format!("team `{}` has two policies", policy.team))
                                        .in_file(file),
                                );
                            }
                        }
                    },
                    Err(err) => {
                        let err = err.in_file(file);
                        errors.push(if index > 0 && err.line.is_none() {
                            err.under(&format!("document {}", index + 1))
                        } else {
                            err
                        });
                    }
                }
            }
        }
        for (file, blueprint) in blueprint_files {
            match build_blueprint(&file, blueprint, &repository.layers) {
                Ok(blueprint) => {
                    if repository.blueprints.contains_key(&blueprint.name) {
                        errors.push(
                            SpecError::new("spec.name", format!("blueprint `{}` is declared twice", blueprint.name))
                                .in_file(&file),
                        );
                    }
                    repository.blueprints.insert(blueprint.name.clone(), blueprint);
                }
                Err(more) => errors.extend(more),
            }
        }
        if errors.is_empty() { Ok(repository) } else { Err(SpecErrors(errors)) }
    }
}

fn collect_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), SpecErrors> {
    let unreadable = |err: std::io::Error| SpecError::new("", format!("cannot read directory: {err}")).in_file(dir);
    if depth > MAX_DEPTH {
        return Err(SpecError::new("", format!("more than {MAX_DEPTH} directory levels")).in_file(dir).into());
    }
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(unreadable)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let skipped = name.starts_with('.') || (kind.is_dir() && name == MANIFESTS_DIR);
        if skipped || kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            collect_files(&path, depth + 1, out)?;
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_text(file: &Path) -> Result<String, SpecError> {
    let size = std::fs::metadata(file).map_err(|err| SpecError::new("", format!("cannot read: {err}")))?.len();
    if size > MAX_FILE_BYTES {
        return Err(SpecError::new("", format!("file is {size} bytes, at most {MAX_FILE_BYTES} are read")));
    }
    let bytes = std::fs::read(file).map_err(|err| SpecError::new("", format!("cannot read: {err}")))?;
    String::from_utf8(bytes).map_err(|err| SpecError::new("", format!("not UTF-8: {err}")))
}

fn build_blueprint(
    file: &Path,
    blueprint: BlueprintFile,
    layers: &BTreeMap<String, Layer>,
) -> Result<Blueprint, Vec<SpecError>> {
    let mut errors = Vec::new();
    for (name, decl) in &blueprint.variables {
        if let Err(err) = decl.check_declaration() {
            errors.push(SpecError::new(format!("spec.variables.{name}"), err).in_file(file));
        }
    }
    let mut built = Vec::new();
    for (index, entry) in blueprint.layers.into_iter().enumerate() {
        let path = format!("spec.layers[{index}]");
        match entry {
            crate::repository::documents::LayerEntry { uses: Some(name), name: None, owner: None, set: None, lock: None } => {
                match layers.get(&name) {
                    Some(layer) => built.push(layer.clone()),
                    None => {
                        let known = layers.keys().cloned().collect::<Vec<_>>().join(", ");
                        errors.push(SpecError::new(format!("{path}.use"), format!("no Layer document named `{name}`; known layers: {known}")).in_file(file));
                    }
                }
            }
            crate::repository::documents::LayerEntry { uses: None, name: Some(name), owner: Some(owner), set, lock } => {
                let mut layer = Layer::new(name, owner, set.unwrap_or_default()).with_locks(lock.unwrap_or_default());
                layer.source = Some(file.to_path_buf());
                built.push(layer);
            }
            _ => errors.push(
                SpecError::new(path, "a layer is either `use: <layer name>` alone, or inline with `name`, `owner` and optional `set` and `lock`")
                    .in_file(file),
            ),
        }
    }
    let mut result = Blueprint::new(blueprint.name, blueprint.variables, built);
    result.source = Some(file.to_path_buf());
    if errors.is_empty() { Ok(result) } else { Err(errors) }
}

/// Replaces every `addons.<name>.file` of a layer by `manifest`, the file's text as `read`
/// gives it (by its path from the root). Files are relative to the layer's file and must stay
/// inside the repository.
fn inline_addon_files(layer: &mut Layer, read: &dyn Fn(&Path) -> Result<String, SpecError>) -> Result<(), SpecError> {
    let Some(Value::Object(addons)) = layer.set.get_mut("addons") else {
        return Ok(());
    };
    let source = layer.source.clone().unwrap_or_default();
    let base = source.parent().map(Path::to_path_buf).unwrap_or_default();
    for (name, addon) in addons.iter_mut() {
        let Some(Value::String(relative)) = addon.get("file").cloned() else {
            continue;
        };
        let path = format!("set.addons.{name}.file");
        let joined = base.join(&relative);
        let escapes = Path::new(&relative).is_absolute()
            || joined
                .components()
                .try_fold(0i32, |depth, part| match part {
                    Component::ParentDir if depth == 0 => None,
                    Component::ParentDir => Some(depth - 1),
                    Component::Normal(_) => Some(depth + 1),
                    _ => Some(depth),
                })
                .is_none();
        if escapes {
            return Err(SpecError::new(path, format!("`{relative}` is outside the repository")).in_file(&source));
        }
        // `layers/../manifests/x.yaml` is `manifests/x.yaml` (the escape check above holds).
        let normal: PathBuf = joined.components().fold(PathBuf::new(), |mut normal, part| {
            match part {
                Component::ParentDir => {
                    normal.pop();
                }
                Component::Normal(name) => normal.push(name),
                _ => {}
            }
            normal
        });
        let text = read(&normal).map_err(|err| SpecError::new(path, err.message).in_file(&source))?;
        let mut inlined = Map::new();
        inlined.insert("manifest".into(), Value::String(text));
        *addon = Value::Object(inlined);
    }
    Ok(())
}
