//! Audit stage (`yml2sh audit`): many circle.yml files → one migration report (Markdown, JSON,
//! CSV). Each config is parsed and lowered once, on every core; what it says comes from the IR
//! and the diagnostics of lowering, so the report and `yml2sh check` never disagree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::ir::{Ir, Pattern, Step};
use crate::lower::Listed;
use crate::source::Span;

/// What a migration of one config involves, the way GitHub Actions Importer's audit sorts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Converts with nothing for a person to do (notes at most).
    Success,
    /// Converts, with warnings a person must read and act on.
    Partial,
    /// Converts, but uses something a back-end cannot express.
    Unsupported,
    /// Does not convert: errors in the input.
    Failed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Success,
        Status::Partial,
        Status::Unsupported,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Partial => "partial",
            Status::Unsupported => "unsupported",
            Status::Failed => "failed",
        }
    }
}

/// A finding that means a back-end cannot say what the config asks.
struct CannotExpress {
    /// The diagnostic that says it.
    code: Code,
    /// Only where a deployment asks for `codedeploy:` (the IR's `Deployment::codedeploy`), not
    /// every diagnostic of the code.
    at_codedeploy: bool,
    what: &'static str,
    /// The back-ends that cannot express it.
    targets: &'static [&'static str],
    /// It makes the config unsupported (else it leaves work for a person: partial).
    blocking: bool,
}

impl CannotExpress {
    /// The name the report gives it: [`CODEDEPLOY`], or the diagnostic code's.
    fn name(&self) -> &'static str {
        if self.at_codedeploy {
            CODEDEPLOY
        } else {
            self.code.as_str()
        }
    }
}

/// `codedeploy:` is reported as a deployment that does nothing: yml2sh cannot run it anywhere.
const CODEDEPLOY: &str = "codedeploy";

/// Every finding no back-end (or not every back-end) can express: the one source of the
/// statuses they give and of the report's table of them.
const CANNOT_EXPRESS: &[CannotExpress] = &[
    CannotExpress {
        code: Code::UnknownService,
        at_codedeploy: false,
        what: "a `machine.services` entry no container stands in for",
        targets: &["bash", "make", "github"],
        blocking: true,
    },
    CannotExpress {
        code: Code::UnsupportedLanguage,
        at_codedeploy: false,
        what: "a language version GitHub's setup actions cannot provide",
        targets: &["github"],
        blocking: true,
    },
    CannotExpress {
        code: Code::NoEquivalent,
        at_codedeploy: false,
        what: "CircleCI variables GitHub Actions has no equivalent for",
        targets: &["github"],
        blocking: false,
    },
    CannotExpress {
        code: Code::DeploymentNoCommands,
        at_codedeploy: true,
        what: "`codedeploy:`, CircleCI's built-in AWS deploy",
        targets: &["bash", "make", "github"],
        blocking: true,
    },
];

/// Why a config has its status: one diagnostic, located by line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub severity: Severity,
    pub line: Option<usize>,
    pub message: String,
}

/// One config's part of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigReport {
    /// The path as found (relative to where the audit ran when it was given relative).
    pub file: String,
    /// The repository it belongs to: its directory, or the file's stem for a `owner__repo.yml`.
    pub repository: String,
    pub status: Status,
    /// The findings that decided the status (errors, what cannot be expressed, or warnings).
    pub reasons: Vec<Reason>,
    /// How many times each diagnostic code was raised.
    pub codes: BTreeMap<&'static str, usize>,
    pub commands: usize,
    /// `name version`, in file order.
    pub languages: Vec<String>,
    pub services: Vec<String>,
    /// `branch`, `regex`, `tag`, `owner`, `heroku`: how many subsections use each.
    pub deployments: BTreeMap<&'static str, usize>,
    /// Non-default command modifiers: how many commands use each.
    pub modifiers: BTreeMap<&'static str, usize>,
    /// Variables read and defined nowhere: GitHub secrets to create.
    pub secrets: Vec<String>,
    /// Phases without `override`, where CircleCI inferred commands.
    pub inferred_phases: Vec<String>,
    /// Findings no back-end (or not every back-end) can express.
    pub cannot_express: Vec<&'static str>,
}

/// The global flags that shape every config's lowering, as `yml2sh check` takes them.
#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    /// `--no-infer`: infer nothing for phases without `override`.
    pub no_infer: bool,
    /// `--project-dir`: the checkout to infer from. It is one checkout, so it is refused with
    /// more than one config ([`Error::Usage`]); without it each `circle.yml` is inferred from
    /// its own directory (a loose `owner__repo.yml` from none).
    pub project_dir: Option<PathBuf>,
}

/// Why an audit did not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A path given cannot be read.
    Read(String),
    /// The flags do not fit the paths (`--project-dir` with many configs).
    Usage(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Read(e) | Error::Usage(e) => f.write_str(e),
        }
    }
}

impl ConfigReport {
    /// A config with nothing found yet: a success.
    fn new(file: String, repository: String) -> ConfigReport {
        ConfigReport {
            file,
            repository,
            status: Status::Success,
            reasons: vec![],
            codes: BTreeMap::new(),
            commands: 0,
            languages: vec![],
            services: vec![],
            deployments: BTreeMap::new(),
            modifiers: BTreeMap::new(),
            secrets: vec![],
            inferred_phases: vec![],
            cannot_express: vec![],
        }
    }
}

/// A config found, with its directory as the walk listed it (`None` for a file given by name).
type Found = (PathBuf, Option<Arc<Listed>>);

/// Calls `found` with each config under the paths, each directory's configs before those of
/// the directories in it (duplicates included). Every path given is looked at before any is
/// walked, so a missing one is reported before any work.
fn each_config(
    paths: &[PathBuf],
    found: &mut dyn FnMut(Found),
    seen: &mut Seen,
) -> Result<(), String> {
    let mut given = Vec::with_capacity(paths.len());
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        given.push((path, meta.is_dir()));
    }
    for (path, is_dir) in given {
        if is_dir {
            // Asked once for the top; below it the walk sees each `.git` itself (it follows no
            // symbolic link to a directory, so a directory's real path is its parent's and
            // its name).
            let in_checkout = crate::lower::in_checkout(path);
            walk(path, in_checkout, found, seen, true)?;
        } else {
            found((path.clone(), None));
        }
    }
    Ok(())
}

/// `above`: whether `dir` is in a git checkout counting the directories above it. A directory
/// below the one given (`top`) that cannot be read is said in `seen.unread` and the walk goes
/// on: one locked repository does not stop the audit of an organisation.
fn walk(
    dir: &Path,
    above: bool,
    found: &mut dyn FnMut(Found),
    seen: &mut Seen,
    top: bool,
) -> Result<(), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let said = format!("cannot read `{}`: {e}", dir.display());
            if top {
                return Err(said);
            }
            seen.unread.push(said);
            return Ok(());
        }
    };
    let mut names = BTreeSet::new();
    let mut git = false;
    let mut configs = vec![];
    let mut dirs = vec![];
    for (i, entry) in entries.enumerate() {
        crate::lower::keep_name(&mut names, i, &entry);
        let Ok(entry) = entry else {
            continue;
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        if name == ".git" {
            // As `Path::exists` has it: a symbolic link counts when what it names exists.
            git = git || !kind.is_symlink() || entry.path().exists();
        }
        if kind.is_dir() {
            if name != ".git" && name != "node_modules" {
                dirs.push(entry.path());
            }
        } else if name == "circle.yml" || name == "circle.yaml" {
            let path = entry.path();
            if kind.is_file() || kind.is_symlink() && path.is_file() {
                configs.push(path);
            }
        } else if Path::new(&name)
            .extension()
            .is_some_and(|e| e == "yml" || e == "yaml")
        {
            seen.passed_yaml(dir.join(&name));
        }
    }
    let in_checkout = above || git;
    if !configs.is_empty() {
        let listed = Arc::new(Listed {
            dir: dir.to_path_buf(),
            names,
            in_checkout: Some(in_checkout),
        });
        for path in configs {
            found((path, Some(Arc::clone(&listed))));
        }
    }
    for d in dirs {
        walk(&d, in_checkout, found, seen, false)?;
    }
    Ok(())
}

/// What the walk passed over: the directories it could not read, in walk order, and the YAML
/// files that are not named as configs (which only an empty audit mentions: a folder of
/// `owner__repo.yml` files is audited by giving the files).
#[derive(Default)]
struct Seen {
    unread: Vec<String>,
    other_yaml: usize,
    /// The least of their paths, so that the one named does not depend on the walk's order.
    example: Option<PathBuf>,
}

impl Seen {
    fn passed_yaml(&mut self, path: PathBuf) {
        self.other_yaml += 1;
        if self.example.as_ref().is_none_or(|e| path < *e) {
            self.example = Some(path);
        }
    }
}

/// Configs handed to a worker at once: cheap to hand out, and no thread idles at the end.
const BATCH: usize = 16;

fn threads(work: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(work.max(1))
}

/// Audits every `circle.yml` / `circle.yaml` under the paths (files are taken whatever their
/// name) on every core; the result is sorted by path, each config once. Directories named
/// `.git` and `node_modules` are not entered, nor are symbolic links to directories. The
/// workers audit what the walk has found while it goes on, so the walk (one system call after
/// another) is no serial step before the work.
pub fn audit_paths(paths: &[PathBuf], options: &AuditOptions) -> Result<Audited, Error> {
    let mut seen = Seen::default();
    if options.project_dir.is_some() {
        let mut found = vec![];
        each_config(paths, &mut |(path, _)| found.push(path), &mut seen).map_err(Error::Read)?;
        found.sort_unstable();
        found.dedup();
        if found.len() > 1 {
            return Err(Error::Usage(format!(
                "`--project-dir` is the checkout of one config, and the paths given hold {}; \
                 without it each circle.yml is inferred from its own directory",
                found.len()
            )));
        }
        let configs = found.iter().map(|p| audit_file(p, options)).collect();
        return Ok(Audited::new(configs, seen));
    }
    let (send, receive) = std::sync::mpsc::channel::<Vec<Found>>();
    let receive = std::sync::Mutex::new(receive);
    let mut parts: Vec<Vec<(PathBuf, ConfigReport)>> = vec![];
    let walked = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads(usize::MAX))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = vec![];
                    loop {
                        let batch = match receive.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = batch else {
                            break;
                        };
                        for (path, listed) in batch {
                            let report = audit_listed(&path, listed, options);
                            done.push((path, report));
                        }
                    }
                    done
                })
            })
            .collect();
        let mut batch = Vec::with_capacity(BATCH);
        let walked = each_config(
            paths,
            &mut |path| {
                batch.push(path);
                if batch.len() == BATCH {
                    let _ = send.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            },
            &mut seen,
        );
        if !batch.is_empty() {
            let _ = send.send(batch);
        }
        drop(send);
        for w in workers {
            parts.push(w.join().unwrap_or_default());
        }
        walked
    });
    walked.map_err(Error::Read)?;
    let mut all: Vec<(PathBuf, ConfigReport)> = parts.into_iter().flatten().collect();
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // A config under two of the paths given is reported once.
    all.dedup_by(|a, b| a.0 == b.0);
    let configs = all.into_iter().map(|(_, r)| r).collect();
    Ok(Audited::new(configs, seen))
}

/// What [`audit_paths`] found: a report per config, sorted by path, and each directory below
/// the paths given that could not be read (its configs are not among them), in walk order.
pub struct Audited {
    pub configs: Vec<ConfigReport>,
    pub unread: Vec<String>,
    /// When no config was found: how many other `.yml`/`.yaml` files the walk passed over, and
    /// the first of them by path.
    pub other_yaml: Option<(usize, PathBuf)>,
}

impl Audited {
    fn new(configs: Vec<ConfigReport>, seen: Seen) -> Audited {
        let other_yaml = match seen.example {
            Some(example) if configs.is_empty() => Some((seen.other_yaml, example)),
            _ => None,
        };
        Audited {
            configs,
            unread: seen.unread,
            other_yaml,
        }
    }
}

fn repository(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "circle.yml" || name == "circle.yaml" {
        match path.parent().map(crate::path_text) {
            Some(dir) if !dir.is_empty() => dir,
            _ => ".".to_string(),
        }
    } else {
        path.file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    }
}

/// One config: read, then what `yml2sh check` reports on it ([`crate::checked`]), sorted
/// into a status and its reasons.
pub fn audit_file(path: &Path, options: &AuditOptions) -> ConfigReport {
    audit_listed(path, None, options)
}

/// [`audit_file`], given the config's directory as the walk listed it.
fn audit_listed(path: &Path, listed: Option<Arc<Listed>>, options: &AuditOptions) -> ConfigReport {
    let source = crate::read_file(path);
    let mut report = ConfigReport::new(crate::path_text(path), repository(path));
    let (source, diags, ir) = match source {
        Ok(source) => {
            let mut lower = crate::lower::LowerOptions {
                no_infer: options.no_infer,
                project_dir: options.project_dir.clone(),
                listed,
                ..Default::default()
            };
            // Inference looks at the checkout a circle.yml sits in; a loose `owner__repo.yml`
            // has none.
            let name = path.file_name().and_then(|n| n.to_str());
            if lower.project_dir.is_none() && matches!(name, Some("circle.yml" | "circle.yaml")) {
                lower.project_dir = Some(crate::checkout_of(path));
            }
            let options = crate::Options {
                lower,
                ..Default::default()
            };
            let (ir, diags) = crate::checked(&source, &options, false);
            (source, diags.into_sorted(), ir)
        }
        Err(e) => (e.0, vec![e.1], None),
    };
    if let Some(ir) = &ir {
        describe(ir, &mut report);
    }
    let reason = |d: &Diagnostic| Reason {
        code: d.code.as_str(),
        severity: d.severity,
        line: d.span.map(|s| source.line(s.start)),
        message: d.message.clone(),
    };
    // The warnings lowering gave where a deployment asks for `codedeploy:`.
    let codedeploy: Vec<Span> = ir
        .iter()
        .flat_map(|ir| ir.deployments.iter().filter_map(|d| d.codedeploy))
        .collect();
    let cannot_express = |d: &Diagnostic| cannot_express(d, &codedeploy);
    let blocks = |d: &Diagnostic| cannot_express(d).is_some_and(|c| c.blocking);
    for d in &diags {
        *report.codes.entry(d.code.as_str()).or_default() += 1;
        if let Some(c) = cannot_express(d) {
            if !report.cannot_express.contains(&c.name()) {
                report.cannot_express.push(c.name());
            }
        }
    }
    let (status, decisive): (Status, Vec<&Diagnostic>) = if diags.iter().any(Diagnostic::is_error) {
        (
            Status::Failed,
            diags.iter().filter(|d| d.is_error()).collect(),
        )
    } else if diags.iter().any(blocks) {
        let v = diags.iter().filter(|d| blocks(d)).collect();
        (Status::Unsupported, v)
    } else if diags.iter().any(|d| d.severity == Severity::Warning) {
        let v = diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect();
        (Status::Partial, v)
    } else {
        (Status::Success, vec![])
    };
    report.status = status;
    report.reasons = decisive.into_iter().map(reason).collect();
    report
}

/// What cannot be expressed, when the diagnostic says so (`codedeploy` holds the spans of the
/// deployments that ask for `codedeploy:`).
fn cannot_express(d: &Diagnostic, codedeploy: &[Span]) -> Option<&'static CannotExpress> {
    CANNOT_EXPRESS.iter().find(|c| {
        c.code == d.code && (!c.at_codedeploy || d.span.is_some_and(|s| codedeploy.contains(&s)))
    })
}

/// What the IR says about the config: commands, languages, services, deployments, modifiers,
/// the secrets to create.
fn describe(ir: &Ir, report: &mut ConfigReport) {
    // Sorted by name, as lowering keeps them; what to create on GitHub is `stored_as`.
    report.secrets = ir
        .vars
        .secrets
        .iter()
        .map(|s| s.stored_as.clone())
        .collect();
    report.secrets.sort();
    for phase in &ir.phases {
        let mut inferred = false;
        for step in &phase.steps {
            match step {
                Step::Language { name, version } => {
                    report.languages.push(format!("{name} {version}"));
                }
                Step::Inferred => inferred = true,
                Step::Run(c) if c.section == crate::ir::Section::Inferred => inferred = true,
                _ => {}
            }
        }
        if inferred {
            report.inferred_phases.push(phase.kind.name().to_string());
        }
    }
    report.services = ir.services.iter().map(|s| s.name.clone()).collect();
    for c in ir.commands() {
        report.commands += 1;
        let m = &c.modifiers;
        let used = [
            ("timeout", m.timeout != crate::ir::DEFAULT_TIMEOUT),
            ("pwd", m.pwd.is_some()),
            ("environment", !m.environment.is_empty()),
            ("parallel", m.parallel != c.phase.parallel_default()),
            ("files", !m.files.is_empty()),
            ("background", m.background),
        ];
        for (name, yes) in used {
            if yes {
                *report.modifiers.entry(name).or_default() += 1;
            }
        }
    }
    for d in &ir.deployments {
        let regex = |ps: &[Pattern]| ps.iter().any(|p| matches!(p, Pattern::Regex { .. }));
        let exact = |ps: &[Pattern]| ps.iter().any(|p| matches!(p, Pattern::Exact { .. }));
        let kinds = [
            ("branch", exact(&d.branch)),
            ("regex", regex(&d.branch) || regex(&d.tag)),
            ("tag", !d.tag.is_empty()),
            ("owner", d.owner.is_some()),
            ("heroku", d.heroku_app.is_some()),
        ];
        for (kind, yes) in kinds {
            if yes {
                *report.deployments.entry(kind).or_default() += 1;
            }
        }
    }
}

/// Counts over all configs: how many configs use a thing, and how often it occurs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub configs: usize,
    pub occurrences: usize,
}

/// The whole audit, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Summary<'a> {
    /// The version of this document's shape.
    pub schema_version: u32,
    pub yml2sh_version: &'static str,
    pub total: usize,
    pub statuses: BTreeMap<&'static str, usize>,
    pub codes: BTreeMap<&'static str, Count>,
    pub languages: BTreeMap<String, Count>,
    pub services: BTreeMap<String, Count>,
    pub deployments: BTreeMap<&'static str, Count>,
    pub modifiers: BTreeMap<&'static str, Count>,
    pub inferred_phases: BTreeMap<String, Count>,
    pub cannot_express: BTreeMap<&'static str, Count>,
    pub configs: &'a [ConfigReport],
}

pub fn summary(configs: &[ConfigReport]) -> Summary<'_> {
    /// One more config with `n` occurrences of `key`; an owned key is made only for a key
    /// not yet counted (a name is made once, not once per config).
    fn add<K, Q>(map: &mut BTreeMap<K, Count>, key: &Q, n: usize)
    where
        K: Ord + std::borrow::Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        if !map.contains_key(key) {
            map.insert(key.to_owned(), Count::default());
        }
        if let Some(c) = map.get_mut(key) {
            c.configs += 1;
            c.occurrences += n;
        }
    }
    let mut s = Summary {
        schema_version: 1,
        yml2sh_version: env!("CARGO_PKG_VERSION"),
        total: configs.len(),
        statuses: Status::ALL.iter().map(|st| (st.as_str(), 0)).collect(),
        codes: BTreeMap::new(),
        languages: BTreeMap::new(),
        services: BTreeMap::new(),
        deployments: BTreeMap::new(),
        modifiers: BTreeMap::new(),
        inferred_phases: BTreeMap::new(),
        cannot_express: BTreeMap::new(),
        configs,
    };
    for c in configs {
        *s.statuses.entry(c.status.as_str()).or_default() += 1;
        for (code, n) in &c.codes {
            add(&mut s.codes, code, *n);
        }
        let per = |items: &[String], map: &mut BTreeMap<String, Count>, key: fn(&str) -> &str| {
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            for i in items {
                *seen.entry(key(i)).or_default() += 1;
            }
            for (k, n) in seen {
                add(map, k, n);
            }
        };
        per(&c.languages, &mut s.languages, |l| {
            l.split(' ').next().unwrap_or(l)
        });
        per(&c.services, &mut s.services, |x| x);
        per(&c.inferred_phases, &mut s.inferred_phases, |x| x);
        for (k, n) in &c.deployments {
            add(&mut s.deployments, k, *n);
        }
        for (k, n) in &c.modifiers {
            add(&mut s.modifiers, k, *n);
        }
        for k in &c.cannot_express {
            let n = c.codes.get(k).copied().unwrap_or(1);
            add(&mut s.cannot_express, k, n);
        }
    }
    s
}

/// The whole audit as pretty JSON: `serde_json::to_string_pretty` of [`summary`], byte for
/// byte ([`write_json`] into a string).
pub fn json(configs: &[ConfigReport]) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; serde_json writes UTF-8 only.
    let _ = write_json(configs, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Configs serialised at once, on every core, before they are written: enough to keep the
/// cores busy, few enough that the report is never whole in memory (20,000 configs make
/// 20 MB of JSON).
const JSON_BLOCK: usize = 1024;

/// [`json`], written to `out` as it is made: the configs (nearly all of it) a block at a time,
/// each block serialised on every core into buffers that are used again for the next.
pub fn write_json(configs: &[ConfigReport], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut s = summary(configs);
    s.configs = &[];
    let head = serde_json::to_string_pretty(&s).unwrap_or_default();
    // `configs` is the last field: its empty array closes the document.
    let (Some(head), false) = (head.strip_suffix("[]\n}"), configs.is_empty()) else {
        return out.write_all((head + "\n").as_bytes());
    };
    out.write_all(head.as_bytes())?;
    out.write_all(b"[\n")?;
    let cores = threads(configs.len());
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); cores];
    for (b, block) in configs.chunks(JSON_BLOCK).enumerate() {
        let part = block.len().div_ceil(cores);
        std::thread::scope(|scope| {
            for (i, (buffer, configs)) in buffers.iter_mut().zip(block.chunks(part)).enumerate() {
                buffer.clear();
                let first = b == 0 && i == 0;
                scope.spawn(move || configs_json(configs, first, buffer));
            }
        });
        for (buffer, _) in buffers.iter().zip(block.chunks(part)) {
            out.write_all(buffer)?;
        }
    }
    out.write_all(b"\n  ]\n}\n")
}

/// Configs as elements of the pretty `configs` array, each but the array's `first` after a
/// comma, as `to_string_pretty` writes them two levels deep.
fn configs_json(configs: &[ConfigReport], first: bool, out: &mut Vec<u8>) {
    use serde_json::ser::{Formatter, PrettyFormatter};
    // The formatter indents a line by its depth: two opened arrays put it where the configs'
    // elements are (what it writes for them is not kept).
    let mut deep = PrettyFormatter::new();
    for _ in 0..2 {
        let _ = deep.begin_array(&mut std::io::sink());
    }
    for (i, c) in configs.iter().enumerate() {
        out.extend_from_slice(if i == 0 && first { b"    " } else { b",\n    " });
        let mut json = serde_json::Serializer::with_formatter(&mut *out, deep.clone());
        // Writing to a Vec cannot fail, nor can serialising a report (string keys only).
        let _ = serde::Serialize::serialize(c, &mut json);
    }
}

/// One row per config; lists inside a cell are separated by `;`.
pub fn csv(configs: &[ConfigReport]) -> String {
    let mut out = String::from(
        "repository,file,status,commands,codes,secrets,languages,services,deployments,modifiers,inferred_phases,cannot_express,reasons\n",
    );
    for c in configs {
        let counts = |m: &BTreeMap<&'static str, usize>| {
            m.iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(";")
        };
        let reasons = c
            .reasons
            .iter()
            .map(|r| match r.line {
                Some(l) => format!("{}@{l}: {}", r.code, r.message),
                None => format!("{}: {}", r.code, r.message),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let cells = [
            c.repository.clone(),
            c.file.clone(),
            c.status.as_str().to_string(),
            c.commands.to_string(),
            counts(&c.codes),
            c.secrets.join(";"),
            c.languages.join(";"),
            c.services.join(";"),
            counts(&c.deployments),
            counts(&c.modifiers),
            c.inferred_phases.join(";"),
            c.cannot_express.join(";"),
            reasons,
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. A leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet shows it as text, not a formula.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn percent(n: usize, total: usize) -> String {
    if total == 0 {
        return "0.0%".to_string();
    }
    format!("{:.1}%", n as f64 * 100.0 / total as f64)
}

/// Text for a Markdown table cell: `|` escaped, one line.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// The report for people: totals, histograms, then every config.
pub fn markdown(configs: &[ConfigReport]) -> String {
    let s = summary(configs);
    let total = s.total;
    let mut out = String::new();
    let _ = writeln!(out, "# yml2sh audit\n");
    let _ = writeln!(
        out,
        "{total} CircleCI 1.0 configuration{} audited by yml2sh {}.\n",
        if total == 1 { "" } else { "s" },
        s.yml2sh_version
    );
    out.push_str("| Status | Configs | Share | Meaning |\n|---|---:|---:|---|\n");
    let meaning = |st: Status| match st {
        Status::Success => "converts with nothing left to do",
        Status::Partial => "converts; warnings a person must act on",
        Status::Unsupported => "uses something a back-end cannot express",
        Status::Failed => "errors in the input; nothing is converted",
    };
    for st in Status::ALL {
        let n = s.statuses.get(st.as_str()).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "| {} | {n} | {} | {} |",
            st.as_str(),
            percent(n, total),
            meaning(st)
        );
    }
    let _ = writeln!(out, "| **total** | **{total}** | 100.0% | |");

    let by_configs = |m: &BTreeMap<String, Count>| {
        let mut v: Vec<(String, Count)> = m.iter().map(|(k, c)| (k.clone(), c.clone())).collect();
        v.sort_by(|a, b| b.1.configs.cmp(&a.1.configs).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let owned = |m: &BTreeMap<&'static str, Count>| -> BTreeMap<String, Count> {
        m.iter().map(|(k, c)| (k.to_string(), c.clone())).collect()
    };
    let table = |out: &mut String,
                 title: &str,
                 what: &str,
                 rows: Vec<(String, Count)>,
                 extra: &dyn Fn(&str) -> String,
                 extra_title: &str| {
        let _ = writeln!(out, "\n## {title}\n");
        if rows.is_empty() {
            let _ = writeln!(out, "None.");
            return;
        }
        let _ = writeln!(
            out,
            "| {what} | Configs | Share | Occurrences |{}\n|---|---:|---:|---:|{}",
            if extra_title.is_empty() {
                String::new()
            } else {
                format!(" {extra_title} |")
            },
            if extra_title.is_empty() { "" } else { "---|" }
        );
        for (k, c) in rows {
            let more = if extra_title.is_empty() {
                String::new()
            } else {
                format!(" {} |", cell(&extra(&k)))
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |{more}",
                cell(&k),
                c.configs,
                percent(c.configs, total),
                c.occurrences
            );
        }
    };
    let code_meaning =
        |k: &str| Code::from_name(k).map_or(String::new(), |c| c.meaning().to_string());
    table(
        &mut out,
        "Diagnostic codes",
        "Code",
        by_configs(&owned(&s.codes)),
        &code_meaning,
        "Meaning",
    );
    let versions = |lang: &str| {
        let set: BTreeSet<&str> = configs
            .iter()
            .flat_map(|c| &c.languages)
            .filter_map(|l| l.strip_prefix(lang).and_then(|v| v.strip_prefix(' ')))
            .collect();
        set.into_iter().collect::<Vec<_>>().join(", ")
    };
    table(
        &mut out,
        "Languages (`machine.<language>.version`)",
        "Language",
        by_configs(&s.languages),
        &versions,
        "Versions",
    );
    let none = |_: &str| String::new();
    table(
        &mut out,
        "Services (`machine.services`)",
        "Service",
        by_configs(&s.services),
        &none,
        "",
    );
    let kind_meaning = |k: &str| {
        match k {
            "branch" => "`branch:` with a plain name",
            "regex" => "`branch:` or `tag:` with a `/regex/`",
            "tag" => "`tag:` (tag builds)",
            "owner" => "`owner:` (forks do not deploy)",
            "heroku" => "`heroku: appname:` (a git push to Heroku)",
            _ => "",
        }
        .to_string()
    };
    table(
        &mut out,
        "Deployments",
        "Kind",
        by_configs(&owned(&s.deployments)),
        &kind_meaning,
        "Meaning",
    );
    table(
        &mut out,
        "Command modifiers",
        "Modifier",
        by_configs(&owned(&s.modifiers)),
        &none,
        "",
    );
    table(
        &mut out,
        "Inferred phases (no `override`: CircleCI inferred commands)",
        "Phase",
        by_configs(&s.inferred_phases),
        &none,
        "",
    );
    let express = |k: &str| {
        CANNOT_EXPRESS
            .iter()
            .find(|c| c.name() == k)
            .map_or(String::new(), |c| {
                format!("{} ({})", c.what, c.targets.join(", "))
            })
    };
    table(
        &mut out,
        "What the back-ends cannot express",
        "Finding",
        by_configs(&owned(&s.cannot_express)),
        &express,
        "What (back-ends)",
    );

    let _ = writeln!(out, "\n## Secrets to create on GitHub\n");
    let with_secrets: Vec<&ConfigReport> =
        configs.iter().filter(|c| !c.secrets.is_empty()).collect();
    if with_secrets.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        out.push_str("| Repository | Secrets |\n|---|---|\n");
        for c in with_secrets {
            let names: Vec<String> = c.secrets.iter().map(|n| format!("`{n}`")).collect();
            let _ = writeln!(out, "| {} | {} |", cell(&c.repository), names.join(", "));
        }
    }

    let _ = writeln!(out, "\n## Configurations\n");
    out.push_str("| Configuration | Status | Commands | Reasons |\n|---|---|---:|---|\n");
    for c in configs {
        let mut codes: Vec<String> = vec![];
        for r in &c.reasons {
            let at = r.line.map_or(String::new(), |l| format!(":{l}"));
            let item = format!("`{}`{at}", r.code);
            if !codes.contains(&item) {
                codes.push(item);
            }
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&c.file),
            c.status.as_str(),
            c.commands,
            codes.join(", ")
        );
    }
    let failing: Vec<&ConfigReport> = configs
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Unsupported))
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n## Why configurations failed or are unsupported\n");
        for c in failing {
            let _ = writeln!(out, "- `{}` ({}):", cell(&c.file), c.status.as_str());
            for r in &c.reasons {
                let at = r.line.map_or(String::new(), |l| format!(" line {l}"));
                let _ = writeln!(out, "  - `{}`{at}: {}", r.code, cell(&r.message));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_the_pretty_summary_byte_for_byte() {
        let report = |file: &str, status| ConfigReport {
            file: file.to_string(),
            repository: "o/r".to_string(),
            status,
            reasons: vec![Reason {
                code: "secrets",
                severity: Severity::Warning,
                line: Some(3),
                message: "a \"quoted\"\nline".to_string(),
            }],
            codes: BTreeMap::from([("secrets", 1)]),
            commands: 2,
            languages: vec!["ruby 2.3".to_string()],
            services: vec![],
            deployments: BTreeMap::new(),
            modifiers: BTreeMap::from([("pwd", 1)]),
            secrets: vec!["A".to_string()],
            inferred_phases: vec![],
            cannot_express: vec![],
        };
        // Blocks of JSON_BLOCK configs are written one after another: one, several and a
        // last one short.
        let blocks = [
            JSON_BLOCK - 1,
            JSON_BLOCK,
            JSON_BLOCK + 1,
            2 * JSON_BLOCK + 5,
        ];
        for n in [0, 1, 2, 3, 17].into_iter().chain(blocks) {
            let configs: Vec<ConfigReport> = (0..n)
                .map(|i| report(&format!("{i}/circle.yml"), Status::ALL[i % 4]))
                .collect();
            let whole = serde_json::to_string_pretty(&summary(&configs)).unwrap() + "\n";
            assert_eq!(json(&configs), whole, "{n} configs");
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("a"), "a");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
    }

    #[test]
    fn codedeploy_is_what_the_config_asked_for_not_a_word_in_a_message() {
        let dir = std::env::temp_dir().join(format!("yml2sh-audit-cd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let audit = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            audit_file(&path, &AuditOptions::default())
        };
        let tested = "test:\n  override:\n    - make test\ndeployment:\n";
        let real = audit(
            "real.yml",
            &format!("{tested}  prod:\n    branch: master\n    codedeploy:\n      app: {{}}\n"),
        );
        // A subsection named so, with no commands, is only a deployment that does nothing.
        let named = audit(
            "named.yml",
            &format!("{tested}  codedeploy-prod:\n    branch: master\n"),
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(real.status, Status::Unsupported, "{:?}", real.reasons);
        assert_eq!(real.cannot_express, [CODEDEPLOY]);
        assert_ne!(named.status, Status::Unsupported, "{:?}", named.reasons);
        assert!(
            named.cannot_express.is_empty(),
            "{:?}",
            named.cannot_express
        );
    }

    #[test]
    fn every_finding_that_cannot_be_expressed_is_one_row_of_one_table() {
        let names: BTreeSet<&str> = CANNOT_EXPRESS.iter().map(CannotExpress::name).collect();
        assert_eq!(names.len(), CANNOT_EXPRESS.len(), "one row each");
        let report = ConfigReport {
            status: Status::Unsupported,
            cannot_express: names.iter().copied().collect(),
            ..ConfigReport::new("a/circle.yml".to_string(), "a".to_string())
        };
        let text = markdown(&[report]);
        for c in CANNOT_EXPRESS {
            let row = format!(
                "| `{}` | 1 | 100.0% | 1 | {} ({}) |",
                c.name(),
                c.what,
                c.targets.join(", ")
            );
            assert!(text.contains(&row), "{row}\n{text}");
        }
    }

    #[test]
    fn secrets_are_the_names_to_create_as_lowering_decided_them() {
        let dir = std::env::temp_dir().join(format!("yml2sh-audit-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.yml");
        std::fs::write(
            &path,
            "test:\n  override:\n    - echo $API_KEY $GITHUB_TOKEN\n",
        )
        .unwrap();
        let report = audit_file(&path, &AuditOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        // `GITHUB_TOKEN` is stored as `CIRCLE_GITHUB_TOKEN`; no word of a message is a secret.
        assert_eq!(report.secrets, ["API_KEY", "CIRCLE_GITHUB_TOKEN"]);
    }

    #[test]
    fn repository_is_the_directory_or_the_stem() {
        assert_eq!(repository(Path::new("org/app/circle.yml")), "org/app");
        assert_eq!(repository(Path::new("circle.yml")), ".");
        assert_eq!(
            repository(Path::new("corpus/owner__repo.yml")),
            "owner__repo"
        );
    }
}
