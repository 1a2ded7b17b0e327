//! Lower stage, inference: what CircleCI 1.0 ran, exported and cached for a phase without
//! `override`, decided from the project's files (spec §9). The only module that reads the
//! project: [`detect`] looks at a fixed list of paths in the build directory, in a fixed order,
//! reads at most [`MAX_READ`] bytes of a regular file (never a FIFO or device, so it cannot hang),
//! and lists at most [`MAX_ENTRIES`] names of a directory. `build.rs` places the result.
//!
//! Choices where the spec is unsure (the README's table says them too):
//! - Dependencies are inferred for every stack found, in [`STACKS`] order; test commands for the
//!   first stack in that order that has one (a Rails app with a package.json runs its RSpec, not
//!   `npm test`). Node comes last: a package.json is most often a helper of another stack.
//! - npm's placeholder test script (`echo "Error: no test specified" && exit 1`) is no test script.
//! - A yarn lock file means `yarn install` / `yarn test` instead of npm's.
//! - Go: `go.mod` or a `*.go` file at the top of the build directory; the checkout is not moved
//!   into a GOPATH as 1.0 did (Go modules do not need it).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::ir::PhaseKind;

/// Bytes read of one project file; enough for any real manifest or lock file.
pub(crate) const MAX_READ: u64 = 1024 * 1024;
/// Names listed of one directory.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// One inferred command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inferred {
    pub code: String,
    /// The file (and what in it) that caused it, e.g. `package.json (scripts.test)`.
    pub from: String,
    /// Test files dealt round-robin across nodes, as `files:` does (spec §5.3); the command then
    /// runs on every node.
    pub files: Vec<String>,
}

fn cmd(code: &str, from: &str) -> Inferred {
    Inferred {
        code: code.to_string(),
        from: from.to_string(),
        files: vec![],
    }
}

fn split(code: &str, from: &str, files: &[&str]) -> Inferred {
    Inferred {
        code: code.to_string(),
        from: from.to_string(),
        files: files.iter().map(ToString::to_string).collect(),
    }
}

/// What inference found for a project.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inference {
    /// Names of the stacks found, in [`STACKS`] order (`ruby`, `rails`, `node`…).
    pub stacks: Vec<&'static str>,
    /// Run at the start of `dependencies`, before `pre`, whatever the phase says: the language
    /// set-up of 1.0's machine (the Python virtualenv).
    pub setup: Vec<Inferred>,
    pub dependencies: Vec<Inferred>,
    pub database: Vec<Inferred>,
    pub test: Vec<Inferred>,
    /// Variables inference exported: name, value (shell-evaluated, as `machine.environment`), file.
    pub environment: Vec<(String, String, String)>,
    /// Directories inference cached (spec §9.1).
    pub cache: Vec<String>,
    /// Phases where 1.0 inferred something yml2sh cannot: the phase and what.
    pub cannot: Vec<(PhaseKind, String)>,
}

impl Inference {
    pub(crate) fn commands(&self, kind: PhaseKind) -> &[Inferred] {
        match kind {
            PhaseKind::Dependencies => &self.dependencies,
            PhaseKind::Database => &self.database,
            PhaseKind::Test => &self.test,
            _ => &[],
        }
    }

    pub(crate) fn cannot(&self, kind: PhaseKind) -> Option<&str> {
        self.cannot
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, why)| why.as_str())
    }

    fn env(&mut self, name: &str, value: &str, from: &str) {
        if !self
            .environment
            .iter()
            .any(|(n, v, _)| n == name && v == value)
        {
            self.environment
                .push((name.to_string(), value.to_string(), from.to_string()));
        }
    }

    fn cache(&mut self, dirs: &[&str]) {
        for d in dirs {
            if !self.cache.iter().any(|c| c == d) {
                self.cache.push(d.to_string());
            }
        }
    }
}

/// The outcome of looking at a project directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Detected {
    /// Inference is on and the directory was looked at (maybe finding nothing).
    Project(Inference),
    /// No project around the circle.yml: nothing to infer from (standard input, or a directory
    /// with no file of any stack and no git checkout).
    NoProject,
}

/// The build directory as inference sees it: its top-level names, read once.
struct Project {
    dir: PathBuf,
    names: BTreeSet<String>,
}

impl Project {
    fn open(dir: &Path) -> Option<Project> {
        let names = list(dir)?;
        Some(Project {
            dir: dir.to_path_buf(),
            names,
        })
    }

    /// A regular file (symlinks followed) at `rel`.
    fn file(&self, rel: &str) -> bool {
        self.may_exist(rel) && std::fs::metadata(self.dir.join(rel)).is_ok_and(|m| m.is_file())
    }

    fn dir(&self, rel: &str) -> bool {
        self.may_exist(rel) && std::fs::metadata(self.dir.join(rel)).is_ok_and(|m| m.is_dir())
    }

    /// False when the listing already says the first component of `rel` is not there: no
    /// system call for each of the many names detection asks about (`yml2sh audit` over
    /// thousands of checkouts).
    fn may_exist(&self, rel: &str) -> bool {
        may_hold(Some(&self.names), rel)
    }

    /// A directory holding at least one entry.
    fn non_empty_dir(&self, rel: &str) -> bool {
        list(&self.dir.join(rel)).is_some_and(|n| !n.is_empty())
    }

    /// The first [`MAX_READ`] bytes of a regular file, as text; `None` for anything else.
    fn read(&self, rel: &str) -> Option<String> {
        read_bounded(&self.dir.join(rel))
    }

    /// Top-level names ending in `suffix`, sorted.
    fn ending(&self, suffix: &str) -> Vec<&str> {
        self.names
            .iter()
            .filter(|n| n.ends_with(suffix) && n.len() > suffix.len())
            .map(String::as_str)
            .collect()
    }
}

/// False when `names`, a directory's [`list`], shows that the first component of `rel` is not
/// in it. No listing, or one cut at [`MAX_ENTRIES`], proves nothing absent.
pub(crate) fn may_hold(names: Option<&BTreeSet<String>>, rel: &str) -> bool {
    let first = rel.split('/').next().unwrap_or(rel);
    names.is_none_or(|n| n.len() >= MAX_ENTRIES || n.contains(first))
}

pub(crate) fn list(dir: &Path) -> Option<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for (i, entry) in std::fs::read_dir(dir).ok()?.enumerate() {
        if !keep_name(&mut names, i, &entry) {
            break;
        }
    }
    Some(names)
}

/// Adds the `i`th entry read of a directory (from 0) to its names as [`list`] keeps them: the
/// first [`MAX_ENTRIES`] read, unreadable ones left out. False once the names are full.
pub fn keep_name(
    names: &mut BTreeSet<String>,
    i: usize,
    entry: &std::io::Result<std::fs::DirEntry>,
) -> bool {
    if i >= MAX_ENTRIES {
        return false;
    }
    if let Ok(e) = entry {
        names.insert(e.file_name().to_string_lossy().into_owned());
    }
    true
}

pub(crate) fn read_bounded(path: &Path) -> Option<String> {
    // metadata first: opening a FIFO for reading would block until a writer comes.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_READ).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// True when `dir` or a parent holds `.git`: a checkout, so finding no stack file means the
/// project has none (rather than a circle.yml copied out of its project).
pub fn in_checkout(dir: &Path) -> bool {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return false;
    };
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// Looks at the build directory `dir` (the checkout with `general.build_dir` applied). Stacks
/// are tried in one fixed order (iOS, Android, Ruby, Python, PHP, Clojure, Scala, Maven, Gradle,
/// Ant, Haskell, Go, Node): the order their dependencies run and their tests are preferred.
/// `listed`, when given, is `dir` as a caller already listed it. `listing` gets the names `dir`
/// holds (when it could be listed), for later passes to reuse.
pub(crate) fn detect(
    dir: &Path,
    listed: Option<&super::Listed>,
    listing: &mut Option<BTreeSet<String>>,
) -> Detected {
    let p = match listed {
        Some(l) => Project {
            dir: dir.to_path_buf(),
            names: l.names.clone(),
        },
        None => match Project::open(dir) {
            Some(p) => p,
            None => return Detected::NoProject,
        },
    };
    let mut inf = Inference::default();
    // Tests come from the first stack that has some; later stacks add dependencies only.
    let mut tests: Option<Vec<Inferred>> = None;
    let mut offer = |t: Vec<Inferred>| {
        if tests.is_none() && !t.is_empty() {
            tests = Some(t);
        }
    };
    let xcode = xcode(&p);
    if let Some((deps, t)) = &xcode {
        inf.stacks.push("ios");
        inf.dependencies.extend(deps.iter().cloned());
        match t {
            Ok(t) => offer(vec![t.clone()]),
            Err(why) => inf.cannot.push((PhaseKind::Test, why.clone())),
        }
        inf.cache(&["vendor/bundle", "~/.bundle"]);
    }
    let android = p.file("gradlew")
        && (p.file("AndroidManifest.xml") || p.file("app/src/main/AndroidManifest.xml"));
    if android {
        inf.stacks.push("android");
        inf.dependencies
            .push(cmd("./gradlew dependencies", "gradlew (Android)"));
        offer(vec![cmd("./gradlew test", "gradlew (Android)")]);
        inf.cache(&["~/.gradle"]);
    }
    if p.file("Gemfile") {
        let t = ruby(&p, &mut inf, xcode.is_some());
        offer(t);
    }
    let t = python(&p, &mut inf);
    offer(t);
    if p.file("composer.json") || p.file("phpunit.xml") || p.file("phpunit.xml.dist") {
        inf.stacks.push("php");
        if p.file("composer.json") {
            inf.dependencies
                .push(cmd("composer install --no-interaction", "composer.json"));
            inf.cache(&["~/.composer/cache"]);
        }
        for f in ["phpunit.xml", "phpunit.xml.dist"] {
            if p.file(f) {
                offer(vec![cmd("phpunit", f)]);
                break;
            }
        }
    }
    if p.file("project.clj") {
        inf.stacks.push("clojure");
        inf.dependencies.push(cmd("lein deps", "project.clj"));
        let midje = p.read("project.clj").is_some_and(|t| t.contains("midje"));
        let test = if midje {
            cmd("lein trampoline midje", "project.clj (midje)")
        } else {
            cmd("lein test", "project.clj")
        };
        offer(vec![test]);
        inf.cache(&["~/.m2"]);
    }
    if p.file("build.sbt") {
        inf.stacks.push("scala");
        inf.dependencies.push(cmd("sbt test:compile", "build.sbt"));
        offer(vec![cmd("sbt test:test", "build.sbt")]);
        inf.cache(&["~/.ivy2", "~/.sbt"]);
    }
    if p.file("pom.xml") {
        inf.stacks.push("maven");
        inf.dependencies
            .push(cmd("mvn dependency:resolve", "pom.xml"));
        offer(vec![cmd("mvn integration-test", "pom.xml")]);
        inf.cache(&["~/.m2"]);
    }
    if !android && (p.file("build.gradle") || p.file("build.gradle.kts") || p.file("gradlew")) {
        inf.stacks.push("gradle");
        let (tool, from) = if p.file("gradlew") {
            ("./gradlew", "gradlew")
        } else if p.file("build.gradle") {
            ("gradle", "build.gradle")
        } else {
            ("gradle", "build.gradle.kts")
        };
        inf.dependencies
            .push(cmd(&format!("{tool} dependencies"), from));
        offer(vec![cmd(&format!("{tool} test"), from)]);
        inf.cache(&["~/.gradle"]);
    }
    if p.file("build.xml") {
        inf.stacks.push("ant");
        offer(vec![cmd("ant", "build.xml")]);
    }
    let cabal = p.ending(".cabal");
    if let Some(file) = cabal.first() {
        inf.stacks.push("haskell");
        let file = file.to_string();
        inf.dependencies.push(cmd(
            "cabal sandbox init && cabal install --only-dependencies --enable-tests",
            &file,
        ));
        inf.dependencies.push(cmd("cabal build", &file));
        offer(vec![cmd("cabal test", &file)]);
        inf.cache(&[".cabal-sandbox", "~/.cabal"]);
    } else if p.file("stack.yaml") {
        inf.stacks.push("haskell");
        for kind in [PhaseKind::Dependencies, PhaseKind::Test] {
            inf.cannot.push((
                kind,
                "stack.yaml: CircleCI 1.0 built Haskell with a cabal sandbox, and this project has no *.cabal file".into(),
            ));
        }
    }
    let go_from = if p.file("go.mod") {
        Some("go.mod".to_string())
    } else {
        p.ending(".go").first().map(|f| f.to_string())
    };
    if let Some(from) = go_from {
        inf.stacks.push("go");
        inf.dependencies.push(cmd("go get -t -d -v ./...", &from));
        inf.dependencies.push(cmd("go build -v ./...", &from));
        offer(vec![cmd("go test -v -race ./...", &from)]);
        inf.cache(&["~/.go_workspace"]);
    }
    if p.file("package.json") {
        let t = node(&p, &mut inf);
        offer(t);
    }
    if let Some(t) = tests {
        inf.test = t;
    }
    let checkout = || {
        listed
            .and_then(|l| l.in_checkout)
            .unwrap_or_else(|| in_checkout(dir))
    };
    let detected = if inf.stacks.is_empty() && !checkout() {
        Detected::NoProject
    } else {
        Detected::Project(inf)
    };
    *listing = Some(p.names);
    detected
}

fn ruby(p: &Project, inf: &mut Inference, xcode: bool) -> Vec<Inferred> {
    inf.stacks.push("ruby");
    let lock = p.read("Gemfile.lock").unwrap_or_default();
    let gemfile = p.read("Gemfile").unwrap_or_default();
    let has_gem = |name: &str| {
        lock.lines().any(|l| {
            let l = l.trim_start();
            l.strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" ("))
        }) || gemfile.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("gem '{name}'")) || l.starts_with(&format!("gem \"{name}\""))
        })
    };
    inf.env("RAILS_ENV", "test", "Gemfile");
    inf.env("RACK_ENV", "test", "Gemfile");
    if !xcode {
        inf.dependencies.push(cmd(
            "bundle check --path=vendor/bundle || bundle install --path=vendor/bundle --jobs=4 --retry=3",
            "Gemfile",
        ));
    }
    inf.cache(&["vendor/bundle", "~/.bundle"]);
    let rails = has_gem("rails") || has_gem("railties");
    if rails {
        inf.stacks.push("rails");
        let lock_name = if p.file("Gemfile.lock") {
            "Gemfile.lock (rails)"
        } else {
            "Gemfile (rails)"
        };
        if !p.file("config/database.yml") {
            let adapter = if has_gem("pg") {
                Some("postgresql")
            } else if has_gem("mysql2") {
                Some("mysql2")
            } else if has_gem("sqlite3") {
                Some("sqlite3")
            } else {
                None
            };
            if let Some(adapter) = adapter {
                inf.database.push(cmd(&database_yml(adapter), lock_name));
            }
        }
        let structure = p.file("db/structure.sql") && !p.file("db/schema.rb");
        let load = if structure {
            "db:structure:load"
        } else {
            "db:schema:load"
        };
        inf.database.push(cmd(
            &format!("bundle exec rake db:create {load} --trace"),
            lock_name,
        ));
    }
    let mut tests = vec![];
    if p.dir("spec") && (has_gem("rspec") || has_gem("rspec-core") || has_gem("rspec-rails")) {
        tests.push(split(
            "bundle exec rspec --color --require spec_helper --format progress",
            "Gemfile.lock (rspec), spec/",
            &["spec/**/*_spec.rb"],
        ));
    }
    if p.dir("features") && (has_gem("cucumber") || has_gem("cucumber-rails")) {
        tests.push(split(
            "bundle exec cucumber --format progress",
            "Gemfile.lock (cucumber), features/",
            &["features/**/*.feature"],
        ));
    }
    if p.dir("test") {
        // `rake test` takes no file list; minitest and Test::Unit files run by requiring them.
        tests.push(split(
            "bundle exec ruby -Itest -Ilib -e 'ARGV.each { |f| require File.expand_path(f) }'",
            "Gemfile, test/ (minitest)",
            &["test/**/*_test.rb"],
        ));
    }
    tests
}

/// Spec §9.2: CircleCI's own `config/database.yml`, written only when the project has none; the
/// runtime check keeps a file that appeared since yml2sh looked.
fn database_yml(adapter: &str) -> String {
    let body = match adapter {
        "sqlite3" => "test:\n  adapter: sqlite3\n  database: db/circle_ruby_test.sqlite3\n  pool: 5\n  timeout: 5000".to_string(),
        "mysql2" => "test:\n  adapter: mysql2\n  encoding: utf8\n  database: circle_ruby_test\n  pool: 5\n  username: ubuntu\n  host: 127.0.0.1".to_string(),
        _ => "test:\n  adapter: postgresql\n  encoding: unicode\n  database: circle_ruby_test\n  pool: 5\n  username: ubuntu\n  host: 127.0.0.1".to_string(),
    };
    format!(
        "if [ -e config/database.yml ]; then\n  echo 'config/database.yml exists: kept as it is'\nelse\n  mkdir -p config && cat >config/database.yml <<'EOF'\n{body}\nEOF\n  echo \"wrote CircleCI 1.0's config/database.yml ({adapter}) in $PWD/config\"\nfi"
    )
}

fn python(p: &Project, inf: &mut Inference) -> Vec<Inferred> {
    let markers = ["requirements.txt", "setup.py", "tox.ini", "manage.py"];
    let Some(first) = markers.iter().find(|m| p.file(m)) else {
        return vec![];
    };
    inf.stacks.push("python");
    let venv = "~/virtualenvs/venv-system";
    // 1.0's image had virtualenv; a machine with only Python 3's own venv module gets that.
    inf.setup.push(cmd(
        &format!("[ -d {venv} ] || virtualenv {venv} || python3 -m venv {venv}"),
        first,
    ));
    inf.env("VIRTUAL_ENV", "$HOME/virtualenvs/venv-system", first);
    inf.env("PATH", "$HOME/virtualenvs/venv-system/bin:$PATH", first);
    inf.cache(&["~/virtualenvs"]);
    if p.file("requirements.txt") {
        inf.dependencies
            .push(cmd("pip install -r requirements.txt", "requirements.txt"));
    } else if p.file("setup.py") {
        inf.dependencies
            .push(cmd("python setup.py install", "setup.py"));
    }
    if p.file("tox.ini") {
        vec![cmd("tox", "tox.ini")]
    } else if p.file("manage.py") {
        // Django takes test labels, not file names: each file becomes its dotted module.
        vec![split(
            "django_test() { local f labels=(); for f; do f=${f%.py}; labels+=(\"${f//\\//.}\"); done; python manage.py test \"${labels[@]}\"; }; django_test",
            "manage.py (Django)",
            &["**/tests.py", "**/test_*.py"],
        )]
    } else if p.file("setup.py") {
        let reqs = p.read("requirements.txt").unwrap_or_default()
            + &p.read("setup.py").unwrap_or_default();
        if reqs.contains("nose") {
            vec![split(
                "nosetests",
                "setup.py (nose)",
                &["**/test_*.py", "**/tests.py"],
            )]
        } else {
            vec![cmd("python setup.py test", "setup.py")]
        }
    } else {
        let reqs = p.read("requirements.txt").unwrap_or_default();
        if reqs.lines().any(|l| l.trim_start().starts_with("nose")) {
            vec![split(
                "nosetests",
                "requirements.txt (nose)",
                &["**/test_*.py", "**/tests.py"],
            )]
        } else {
            vec![]
        }
    }
}

fn node(p: &Project, inf: &mut Inference) -> Vec<Inferred> {
    inf.stacks.push("node");
    let text = p.read("package.json").unwrap_or_default();
    let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let scripts = json.as_ref().and_then(|j| j.get("scripts"));
    let test_script = scripts
        .and_then(|s| s.get("test"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.contains("Error: no test specified"));
    let has_dep = |name: &str| {
        json.as_ref().is_some_and(|j| {
            ["dependencies", "devDependencies"]
                .iter()
                .any(|k| j.get(k).and_then(|d| d.get(name)).is_some())
        })
    };
    let yarn = p.file("yarn.lock");
    let (install, test, from) = if yarn {
        ("yarn install", "yarn test", "yarn.lock")
    } else {
        ("npm install", "npm test", "package.json")
    };
    inf.dependencies.push(cmd(install, from));
    // build.sh and the Makefile export YML2SH_BUILD_DIR to every command; elsewhere (a
    // workflow step) the variables are read in the build directory itself.
    inf.env(
        "PATH",
        "${YML2SH_BUILD_DIR:-$PWD}/node_modules/.bin:$PATH",
        "package.json",
    );
    inf.cache(&["node_modules"]);
    if p.file("bower.json") {
        inf.cache(&["~/.cache/bower"]);
    }
    if test_script.is_some() {
        return vec![cmd(test, "package.json (scripts.test)")];
    }
    if has_dep("mocha") && p.dir("test") {
        return vec![cmd("mocha", "package.json (mocha), test/")];
    }
    for make in ["Makefile", "Cakefile"] {
        let has_target = p.read(make).is_some_and(|t| {
            t.lines().any(|l| {
                if make == "Makefile" {
                    l.starts_with("test:")
                } else {
                    l.starts_with("task 'test'") || l.starts_with("task \"test\"")
                }
            })
        });
        if has_target {
            let run = if make == "Makefile" {
                "make test"
            } else {
                "cake test"
            };
            return vec![cmd(run, &format!("{make} (test target)"))];
        }
    }
    vec![]
}

/// iOS/macOS: dependencies, and the test action or why it cannot be inferred.
fn xcode(p: &Project) -> Option<(Vec<Inferred>, Result<Inferred, String>)> {
    let workspaces = p.ending(".xcworkspace");
    let projects = p.ending(".xcodeproj");
    if workspaces.is_empty() && projects.is_empty() {
        return None;
    }
    let mut deps = vec![];
    let gemfile = p.file("Gemfile");
    if gemfile {
        deps.push(cmd(
            "bundle check --path=vendor/bundle || bundle install --path=vendor/bundle --jobs=4 --retry=3",
            "Gemfile",
        ));
    }
    if p.file("Podfile") && !p.non_empty_dir("Pods") {
        let pod = if gemfile {
            "bundle exec pod install"
        } else {
            "pod install"
        };
        deps.push(cmd(
            &format!("[ -n \"$(ls -A Pods 2>/dev/null)\" ] || {pod}"),
            "Podfile",
        ));
    }
    // The scheme: the first shared one (xcshareddata/xcschemes), of the workspace's project.
    let (flag, container) = match workspaces.first() {
        Some(w) => ("-workspace", *w),
        None => ("-project", projects[0]),
    };
    let scheme = projects.iter().find_map(|proj| {
        let names = list(&p.dir.join(proj).join("xcshareddata/xcschemes"))?;
        names
            .iter()
            .find_map(|n| n.strip_suffix(".xcscheme").map(str::to_string))
    });
    let test = match scheme {
        Some(s) => Ok(cmd(
            &format!(
                "set -o pipefail && xcodebuild {flag} {} -scheme {} clean build test CODE_SIGNING_REQUIRED=NO CODE_SIGN_IDENTITY= | xcpretty",
                crate::emit::escape::sh_quote(container),
                crate::emit::escape::sh_quote(&s)
            ),
            &format!("{container} (scheme {s})"),
        )),
        None => Err(format!(
            "{container}: CircleCI 1.0 ran the test action of a scheme, and no shared scheme (xcshareddata/xcschemes) is in the project"
        )),
    };
    Some((deps, test))
}
