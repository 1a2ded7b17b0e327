//! The GitHub Actions back-end: every workflow passes actionlint (shellcheck on), the workflow
//! JSON schema and zizmor; each item of the design (README, "Migrating to GitHub Actions") is
//! checked on the generated YAML's structure; one workflow's steps are run with bash.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;
use yml2sh::{Code, EmitOptions, Options, Source, Target};

fn tmpdir(name: &str) -> PathBuf {
    let dir = crate::common::tmp().join(format!("yml2sh-github-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(nodes: u32) -> Options {
    Options {
        target: Target::Github,
        emit: EmitOptions {
            nodes,
            allow_untested_deploy: true,
            ..EmitOptions::default()
        },
        ..Options::default()
    }
}

fn compile_with(text: &str, options: &Options) -> (String, Vec<yml2sh::Diagnostic>) {
    let source = Source::new("circle.yml", text.to_string());
    match yml2sh::compile(&source, options) {
        Ok(out) => (out.text, out.diagnostics.sorted()),
        Err(d) => panic!("{text}\nfailed: {:?}", d.sorted()),
    }
}

fn compile(text: &str, nodes: u32) -> (String, Vec<yml2sh::Diagnostic>) {
    compile_with(text, &options(nodes))
}

fn workflow(text: &str, nodes: u32) -> Value {
    let (yaml, _) = compile(text, nodes);
    serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"))
}

fn steps<'a>(wf: &'a Value, job: &str) -> &'a Vec<Value> {
    wf["jobs"][job]["steps"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no job {job}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The step whose `run:` holds `text` as a whole line.
fn step_running<'a>(steps: &'a [Value], text: &str) -> (usize, &'a Value) {
    steps
        .iter()
        .enumerate()
        .find(|(_, s)| str_of(s, "run").lines().any(|l| l == text))
        .unwrap_or_else(|| panic!("no step runs {text:?} in {steps:#?}"))
}

fn env_keys(v: &Value) -> Vec<String> {
    v["env"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok()
}

/// Workflows of every input (ok fixtures, exec fixtures, seed examples, the corpus), written
/// to `dir`, with the lines of each file's commands (what shellcheck findings may point at).
fn write_all(dir: &Path) -> Vec<(PathBuf, BTreeSet<String>)> {
    let mut written = vec![];
    let mut inputs = common::all_inputs();
    inputs.push(common::root().join("examples/circle.yml"));
    for (i, path) in inputs.iter().enumerate() {
        let source = common::read_source(path);
        for nodes in [1, 3] {
            let Ok(out) = yml2sh::compile(&source, &options(nodes)) else {
                continue; // refused with located errors: tests/corpus.rs checks that
            };
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let file = dir.join(format!("{i:03}-{stem}-n{nodes}.yml"));
            std::fs::write(&file, &out.text).unwrap();
            let (ir, _) = yml2sh::lower(&source, &options(nodes)).unwrap();
            let mut user = BTreeSet::new();
            for c in ir.commands() {
                for l in c.code.as_str().lines() {
                    user.insert(l.trim().to_string());
                }
            }
            written.push((file, user));
        }
    }
    written
}

#[test]
fn every_workflow_passes_actionlint_the_schema_and_zizmor() {
    assert!(
        tool("actionlint") && tool("check-jsonschema") && tool("zizmor") && tool("shellcheck"),
        "actionlint, shellcheck, check-jsonschema and zizmor must be installed (.ci/run installs them)"
    );
    let dir = tmpdir("validate");
    let written = write_all(&dir);
    assert!(written.len() > 20, "too few workflows: {}", written.len());
    let files: Vec<&PathBuf> = written.iter().map(|(f, _)| f).collect();

    // actionlint with shellcheck on: a finding in the user's own command is theirs to keep (it
    // ran so on 1.0); any other finding is in what yml2sh wrote.
    let out = Command::new("actionlint")
        .args(["-shellcheck=shellcheck", "-format", "{{json .}}"])
        .args(&files)
        .output()
        .expect("actionlint runs");
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("actionlint: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    let mut ours = vec![];
    for f in findings.as_array().unwrap() {
        let name = Path::new(f["filepath"].as_str().unwrap())
            .file_name()
            .unwrap();
        let (file, user) = written
            .iter()
            .find(|(w, _)| w.file_name() == Some(name))
            .unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let line = text
            .lines()
            .nth(f["line"].as_u64().unwrap() as usize - 1)
            .unwrap_or("")
            .trim();
        let line = line
            .strip_prefix("- ")
            .unwrap_or(line)
            .strip_prefix("run: ")
            .unwrap_or(line.strip_prefix("- ").unwrap_or(line));
        let in_user_code = f["kind"] == "shellcheck"
            && (user.contains(line)
                || user
                    .iter()
                    .any(|u| !u.is_empty() && line.contains(u.as_str())));
        if !in_user_code {
            ours.push(format!(
                "{}:{}: {} [{}]\n    {line}",
                file.display(),
                f["line"],
                f["message"],
                f["kind"]
            ));
        }
    }
    assert!(ours.is_empty(), "actionlint:\n{}", ours.join("\n"));

    let out = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&files)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        out.status.success(),
        "check-jsonschema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // zizmor at its default persona: nothing but `unpinned-uses` (actions are pinned to majors).
    let out = Command::new("zizmor")
        .args(["--offline", "--format", "json", "--no-progress"])
        .args(&files)
        .output()
        .expect("zizmor runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor: {e}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // A finding about a user's own command (`apt-get install`, `npm publish`) is theirs: it
    // ran so on 1.0. Everything yml2sh writes must be clean.
    let user_code = |f: &serde_json::Value| {
        matches!(
            f["ident"].as_str(),
            Some("adhoc-packages" | "use-trusted-publishing")
        ) && f["locations"].as_array().unwrap().iter().any(|loc| {
            let path = loc["symbolic"]["key"]["Local"]["verbatim_path"]
                .as_str()
                .unwrap_or("");
            let feature = loc["concrete"]["feature"].as_str().unwrap_or("");
            let name = Path::new(path).file_name();
            written
                .iter()
                .find(|(w, _)| w.file_name() == name)
                .is_some_and(|(_, user)| {
                    feature.lines().any(|l| {
                        let l = l
                            .trim()
                            .trim_start_matches("- ")
                            .trim_start_matches("run: ");
                        !l.is_empty() && user.contains(l)
                    })
                })
        })
    };
    let others: Vec<String> = report
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ident"] != "unpinned-uses" && !user_code(f))
        .map(|f| {
            let loc = &f["locations"][0];
            format!(
                "{} {} at {}: {}",
                f["ident"],
                f["desc"],
                loc["symbolic"]["key"]["Local"]["verbatim_path"],
                loc["concrete"]["feature"]
            )
        })
        .collect();
    assert!(others.is_empty(), "zizmor:\n{}", others.join("\n"));
    eprintln!("{} workflows validated", written.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_is_deterministic() {
    let text = std::fs::read_to_string(common::root().join("examples/circle.yml")).unwrap();
    assert_eq!(compile(&text, 1).0, compile(&text, 1).0);
}

const EXAMPLE: &str = "machine:
  environment:
    FIRST: one
    SECOND: $FIRST-two
test:
  override:
    - make test
    - make lint
deployment:
  production:
    branch: master
    commands:
      - ./deploy.sh \"$API_TOKEN\"
";

#[test]
fn no_runtime_one_shell_and_bash_env() {
    let (yaml, _) = compile(EXAMPLE, 1);
    for runtime in ["runtime.sh", "yml2sh-run", "lib.sh", "<<'YML2SH", "y2s_"] {
        assert!(!yaml.contains(runtime), "{runtime} in\n{yaml}");
    }
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(
        str_of(&wf["defaults"]["run"], "shell"),
        "bash --noprofile --norc {0}"
    );
    assert!(!yaml.contains("shell:") || yaml.matches("shell:").count() == 1);
    assert_eq!(
        str_of(&wf["jobs"]["build"]["env"], "BASH_ENV"),
        "$HOME/.circlerc"
    );
    // ~/.circlerc is created empty before anything, then gets machine.environment in file order.
    let s = steps(&wf, "build");
    let (i, prepare) = step_running(s, ": > ~/.circlerc");
    assert_eq!(i, 1, "right after the checkout");
    let run = str_of(prepare, "run");
    let first = run.find("export FIRST=\"one\"").unwrap();
    let second = run.find("export SECOND=\"$FIRST-two\"").unwrap();
    assert!(first < second, "{run}");
    // No wall-clock limit that a build passing on 1.0 could exceed.
    assert!(!yaml.contains("timeout-minutes"), "{yaml}");
}

#[test]
fn deployment_runs_in_the_build_job_after_the_tests() {
    let wf = workflow(EXAMPLE, 1);
    let jobs = wf["jobs"].as_mapping().unwrap();
    assert_eq!(jobs.len(), 1, "one job: {jobs:#?}");
    let s = steps(&wf, "build");
    let (test, _) = step_running(s, "make lint");
    let (deploy, step) = step_running(s, "./deploy.sh \"$API_TOKEN\"");
    assert!(test < deploy);
    let cond = str_of(step, "if");
    assert!(cond.starts_with("success() && "), "{cond}");
    assert!(cond.contains("github.ref_name == 'master'"), "{cond}");
    assert!(cond.contains("github.event_name == 'push'"), "{cond}");
    // Tests run after one fails, but not after a setup step failed.
    let (_, t) = step_running(s, "make test");
    assert_eq!(
        str_of(t, "if"),
        "${{ !cancelled() && steps.setup.outcome == 'success' }}"
    );
    assert!(s.iter().any(|x| str_of(x, "id") == "setup"));
}

#[test]
fn secrets_are_in_the_env_of_the_steps_that_read_them_only() {
    let text = "test:
  override:
    - make test
    - echo $GITHUB_TOKEN $ANDROID_NDK $HOME
deployment:
  production:
    branch: master
    commands:
      - ./deploy.sh \"$API_TOKEN\"
";
    let (yaml, diags) = compile(text, 1);
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    let job = &wf["jobs"]["build"];
    assert!(
        !str_of(&serde_yaml::to_value(&job["env"]).unwrap(), "API_TOKEN").contains("secrets"),
        "job env holds no secret"
    );
    for s in steps(&wf, "build") {
        let run = str_of(s, "run");
        let keys = env_keys(s);
        assert_eq!(
            keys.contains(&"API_TOKEN".to_string()),
            run.contains("$API_TOKEN"),
            "{s:#?}"
        );
        // Runner variables are never clobbered by a guessed secret.
        assert!(!keys.contains(&"ANDROID_NDK".to_string()));
        assert!(!keys.contains(&"HOME".to_string()));
    }
    assert!(!yaml.contains("secrets.ANDROID_NDK"));
    // A name GitHub refuses for a secret is stored under another one, with a warning.
    assert!(
        yaml.contains("GITHUB_TOKEN: ${{ secrets.CIRCLE_GITHUB_TOKEN }}"),
        "{yaml}"
    );
    assert!(diags
        .iter()
        .any(|d| d.code == Code::Secrets && d.message.contains("CIRCLE_GITHUB_TOKEN")));
    // Only where the vars pass found them: the secret appears nowhere else.
    assert_eq!(yaml.matches("secrets.API_TOKEN").count(), 1, "{yaml}");
}

#[test]
fn circle_variables_are_set_only_where_read() {
    let text = "test:
  override:
    - echo \"$CIRCLE_BRANCH\"
    - make test
    - echo $CIRCLE_PREVIOUS_BUILD_NUM
";
    let wf = workflow(text, 1);
    let s = steps(&wf, "build");
    let (_, a) = step_running(s, "echo \"$CIRCLE_BRANCH\"");
    assert_eq!(env_keys(a), ["CIRCLE_BRANCH"]);
    let (_, b) = step_running(s, "make test");
    assert!(env_keys(b).is_empty());
    let (_, c) = step_running(s, "echo $CIRCLE_PREVIOUS_BUILD_NUM");
    assert!(str_of(c, "run").contains("$((GITHUB_RUN_NUMBER - 1))"));
    assert_eq!(
        str_of(&wf["jobs"]["build"]["env"], "CIRCLE_BRANCH"),
        "",
        "not job-wide"
    );
}

#[test]
fn literal_branches_are_expressions_and_regexes_a_selection_step() {
    let text = "test:
  override:
    - make test
deployment:
  production:
    branch: master
    commands:
      - ./deploy production
  release:
    branch: /release-.*/
    commands:
      - ./deploy release
  any:
    branch: /.*/
    commands:
      - ./deploy any
";
    let wf = workflow(text, 1);
    let s = steps(&wf, "build");
    assert!(
        !s.iter().any(|x| str_of(x, "id") == "select"),
        "no bash needed"
    );
    let (_, p) = step_running(s, "./deploy production");
    let (_, r) = step_running(s, "./deploy release");
    let (_, a) = step_running(s, "./deploy any");
    assert!(str_of(r, "if").contains("startsWith(github.ref_name, 'release-')"));
    // First match: `master` and `release-*` never meet; `any` excludes both earlier ones.
    assert!(
        !str_of(r, "if").contains("!(github.ref_type == 'branch' && github.ref_name == 'master')")
    );
    assert!(
        str_of(a, "if").contains("!(github.ref_type == 'branch' && github.ref_name == 'master')")
    );
    assert!(str_of(a, "if")
        .contains("!(github.ref_type == 'branch' && startsWith(github.ref_name, 'release-'))"));
    assert!(str_of(p, "if").ends_with("github.ref_name == 'master'"));

    // A regex GitHub expressions cannot say: one selection step, patterns through env:.
    let text = "test:
  override:
    - make test
deployment:
  release:
    tag: /v[0-9]+(\\.[0-9]+)*/
    owner: acme
    commands:
      - ./release
";
    let (yaml, _) = compile(text, 1);
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    let s = steps(&wf, "build");
    let sel = s.iter().find(|x| str_of(x, "id") == "select").unwrap();
    assert_eq!(
        str_of(&sel["env"], "D0_TAG_RE_0"),
        "^(v[0-9]+(\\.[0-9]+)*)$"
    );
    assert_eq!(str_of(&sel["env"], "D0_OWNER"), "acme");
    let (_, r) = step_running(s, "./release");
    assert_eq!(
        str_of(r, "if"),
        "success() && steps.select.outputs.deployment == '0'"
    );
    // Tag pushes trigger on the narrowest glob that holds the pattern, never "**".
    let tags: Vec<&str> = wf["on"]["push"]["tags"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v**"]);
    assert!(
        yaml.contains("branches:"),
        "tags alone would stop branch builds"
    );
    // No tag pattern, no tag trigger.
    let wf = workflow(EXAMPLE, 1);
    assert!(wf["on"]["push"]["tags"].is_null());
}

#[test]
fn many_subsections_are_selected_by_the_step_not_by_growing_conditions() {
    // Expressions would exclude every earlier subsection on the same branch: conditions of
    // n(n-1)/2 terms over the workflow. Past a few, the selection step decides instead.
    let mut text = String::from("test:\n  override: [make test]\ndeployment:\n");
    for i in 0..80 {
        text.push_str(&format!(
            "  d{i}:\n    branch: master\n    commands: [./d{i}]\n"
        ));
    }
    let wf = workflow(&text, 1);
    let s = steps(&wf, "build");
    assert!(s.iter().any(|x| str_of(x, "id") == "select"));
    let (_, last) = step_running(s, "./d79");
    assert_eq!(
        str_of(last, "if"),
        "success() && steps.select.outputs.deployment == '79'"
    );
    // A long pattern: one condition would repeat it in every step of every later subsection.
    let long = "b".repeat(2000);
    let text = format!(
        "test:\n  override: [make test]\ndeployment:\n  a:\n    branch: {long}\n    commands: [./a]\n"
    );
    let wf = workflow(&text, 1);
    let (_, a) = step_running(steps(&wf, "build"), "./a");
    assert_eq!(
        str_of(a, "if"),
        "success() && steps.select.outputs.deployment == '0'"
    );
}

#[test]
fn the_selection_step_matches_as_the_ir_says() {
    // Run the selection script in bash against the events it must tell apart.
    let text = "test:
  override:
    - make test
deployment:
  a:
    branch: /ma(in|ster)/
    owner: Acme
    commands: [./a]
  b:
    tag: /v\\d+/
    commands: [./b]
  c:
    branch: /.*/
    commands: [./c]
";
    let wf = workflow(text, 1);
    let sel = steps(&wf, "build")
        .iter()
        .find(|x| str_of(x, "id") == "select")
        .unwrap()
        .clone();
    let dir = tmpdir("select");
    let run = |ref_type: &str, name: &str, owner: &str| -> String {
        let out_file = dir.join("out");
        let _ = std::fs::remove_file(&out_file);
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-c", str_of(&sel, "run")]);
        for (k, v) in sel["env"].as_mapping().unwrap() {
            cmd.env(k.as_str().unwrap(), v.as_str().unwrap());
        }
        let status = cmd
            .env("GITHUB_REF_TYPE", ref_type)
            .env("GITHUB_REF_NAME", name)
            .env("GITHUB_REPOSITORY_OWNER", owner)
            .env("GITHUB_OUTPUT", &out_file)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read_to_string(&out_file).unwrap_or_default()
    };
    assert_eq!(
        run("branch", "master", "acme"),
        "deployment=0\n",
        "owner ignores case"
    );
    assert_eq!(run("branch", "master", "fork"), "deployment=2\n");
    assert_eq!(
        run("branch", "mastery", "acme"),
        "deployment=2\n",
        "anchored"
    );
    assert_eq!(run("tag", "v12", "x"), "deployment=1\n");
    assert_eq!(
        run("tag", "v12x", "x"),
        "",
        "a branch pattern never matches a tag"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_deployment_nothing_tests_is_refused_unless_allowed() {
    let text = "deployment:
  production:
    branch: master
    commands:
      - ./deploy
";
    let source = Source::new("circle.yml", text.to_string());
    let mut opts = options(1);
    opts.emit.allow_untested_deploy = false;
    let err = yml2sh::compile(&source, &opts).unwrap_err();
    assert!(err
        .iter()
        .any(|d| d.code == Code::UntestedDeploy && d.is_error()));
    opts.emit.allow_untested_deploy = true;
    assert!(yml2sh::compile(&source, &opts).is_ok());
    // build.sh is not refused: it deploys only when asked.
    opts.target = Target::Bash;
    opts.emit.allow_untested_deploy = false;
    assert!(yml2sh::compile(&source, &opts).is_ok());
}

#[test]
fn several_nodes_deploy_in_a_job_of_their_own_that_says_so() {
    let (yaml, diags) = compile(EXAMPLE, 3);
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(str_of(&wf["jobs"]["deploy"], "needs"), "build");
    assert!(yaml.contains("the setup phases run again here"));
    assert!(diags
        .iter()
        .any(|d| d.code == Code::WorkflowDifference && d.message.contains("re-runs the setup")));
    assert_eq!(
        wf["jobs"]["build"]["strategy"]["matrix"]["node"],
        serde_yaml::from_str::<Value>("[0, 1, 2]").unwrap()
    );
    let (_, t) = step_running(steps(&wf, "build"), "make test");
    assert!(str_of(t, "if").contains("matrix.node == 0"), "node 0 only");
    assert!(step_running(steps(&wf, "deploy"), "./deploy.sh \"$API_TOKEN\"").0 > 0);
    // `files`: this node's share, dealt round-robin; a node with none skips the command.
    let text = "test:\n  override:\n    - rspec:\n        parallel: true\n        files:\n          - spec/**/*_spec.rb\n";
    let wf = workflow(text, 2);
    let (_, s) = step_running(steps(&wf, "build"), "rspec \"${share[@]}\"");
    let run = str_of(s, "run");
    assert!(run.contains("files=(spec/**/*_spec.rb)"), "{run}");
    assert!(
        run.contains("if [ ${#share[@]} -eq 0 ]; then exit 0; fi"),
        "{run}"
    );
    assert!(
        !str_of(s, "if").contains("matrix.node == 0"),
        "parallel: true runs everywhere"
    );
}

#[test]
fn permissions_credentials_concurrency_and_runner() {
    let wf = workflow(EXAMPLE, 1);
    assert_eq!(str_of(&wf["permissions"], "contents"), "read");
    assert!(wf["jobs"]["build"]["permissions"].is_null());
    let checkout = &steps(&wf, "build")[0];
    assert_eq!(
        checkout["with"]["persist-credentials"].as_bool(),
        Some(false),
        "a YAML boolean, as checkout documents it"
    );
    assert_eq!(
        str_of(&wf["concurrency"], "cancel-in-progress"),
        "${{ github.event_name == 'pull_request' }}",
        "pushes (which deploy) are never cancelled"
    );
    assert_eq!(str_of(&wf["jobs"]["build"], "runs-on"), "ubuntu-latest");

    let text = "test:
  override:
    - make test
deployment:
  docs:
    branch: master
    commands:
      - git push origin HEAD:gh-pages
";
    let wf = workflow(text, 1);
    assert_eq!(
        str_of(&wf["jobs"]["build"]["permissions"], "contents"),
        "write"
    );
    let s = steps(&wf, "build");
    assert_eq!(
        s[0]["with"]["persist-credentials"].as_bool(),
        Some(false),
        "no token on disk"
    );
    let (_, push) = step_running(s, "git push origin HEAD:gh-pages");
    assert_eq!(str_of(&push["env"], "GITHUB_TOKEN"), "${{ github.token }}");
    assert!(str_of(push, "run").contains("GIT_CONFIG_KEY_0=http.https://github.com/.extraheader"));
    let (_, test) = step_running(s, "make test");
    assert!(
        env_keys(test).is_empty(),
        "only the pushing step gets the token"
    );

    let text = "machine:
  xcode:
    version: 16.2
test:
  override:
    - xcodebuild test
";
    let wf = workflow(text, 1);
    assert_eq!(str_of(&wf["jobs"]["build"], "runs-on"), "macos-latest");
    let (_, s) = step_running(
        steps(&wf, "build"),
        "sudo xcode-select -s \"/Applications/Xcode_$XCODE.app\"",
    );
    assert_eq!(str_of(&s["env"], "XCODE"), "16.2");
}

#[test]
fn caches_restore_fall_back_and_save_only_on_a_miss() {
    let text = "dependencies:
  cache_directories:
    - ~/.m2
    - \"!weird[dir]\"
  override:
    - mvn install
test:
  override:
    - mvn test
";
    let (yaml, _) = compile(text, 1);
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    let s = steps(&wf, "build");
    let restore = s
        .iter()
        .position(|x| str_of(x, "uses").starts_with("actions/cache/restore"))
        .unwrap();
    let save = s
        .iter()
        .position(|x| str_of(x, "uses").starts_with("actions/cache/save"))
        .unwrap();
    let (install, _) = step_running(s, "mvn install");
    assert!(restore < install && install < save);
    assert_eq!(
        str_of(&s[restore]["with"], "path"),
        "~/.m2\n\\!weird\\[dir\\]"
    );
    assert_eq!(
        str_of(&s[restore]["with"], "restore-keys"),
        "circle-deps-${{ runner.os }}-"
    );
    assert_eq!(
        str_of(&s[save], "if"),
        "steps.cache.outputs.cache-hit != 'true'"
    );
    assert!(
        yaml.contains("No lock file to key the cache on"),
        "a per-run key says why"
    );
}

#[test]
fn config_data_stays_data() {
    let text = "machine:
  timezone: America/New_York
  hosts:
    dev.local: 127.0.0.1
test:
  override:
    - make test
deployment:
  \"evil\\n::error::owned\":
    branch: master
    heroku:
      appname: acme-app
general:
  artifacts:
    - \"*.log\"
notify:
  webhooks:
    - url: https://example.com/hook
";
    let (yaml, _) = compile(text, 1);
    assert!(!yaml.contains("\n::error::"), "{yaml}");
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    let s = steps(&wf, "build");
    let (_, tz) = step_running(s, "sudo timedatectl set-timezone -- \"$ZONE\"");
    assert_eq!(str_of(&tz["env"], "ZONE"), "America/New_York");
    let (_, hosts) = step_running(s, "printf '%s\\n' \"$HOSTS\" | sudo tee -a /etc/hosts");
    assert_eq!(str_of(&hosts["env"], "HOSTS"), "127.0.0.1 dev.local");
    let (_, heroku) = step_running(
        s,
        "git push \"https://heroku:$HEROKU_API_KEY@git.heroku.com/$HEROKU_APP.git\" \"$CIRCLE_SHA1:refs/heads/master\"",
    );
    assert_eq!(str_of(&heroku["env"], "HEROKU_APP"), "acme-app");
    assert!(str_of(&heroku["env"], "HEROKU_API_KEY").contains("secrets.HEROKU_API_KEY"));
    let upload = s
        .iter()
        .find(|x| str_of(x, "name") == "Upload general.artifacts")
        .unwrap();
    assert_eq!(str_of(&upload["with"], "path"), "\\*.log");
    let notify = s
        .iter()
        .find(|x| str_of(x, "name") == "notify.webhooks")
        .unwrap();
    assert!(str_of(notify, "run").contains("-- \"$WEBHOOK_0\""));
    assert_eq!(
        str_of(&notify["env"], "WEBHOOK_0"),
        "https://example.com/hook"
    );
    // `${{` in a command is not evaluated by GitHub.
    let (yaml, _) = compile("test:\n  override:\n    - echo '${{ secrets.X }}'\n", 1);
    assert!(yaml.contains("${{ '${{' }} secrets.X }}"), "{yaml}");
}

#[test]
fn command_modifiers_say_it_with_github_means() {
    let text = "machine:
  pre:
    - ls
test:
  override:
    - npm test:
        pwd: web
        environment:
          MOCHA_FILE: $CIRCLE_TEST_REPORTS/x.xml
    - ./server:
        background: true
    - cd $PWD:
        pwd: ~/other
";
    let wf = workflow(text, 1);
    let s = steps(&wf, "build");
    let (_, npm) = step_running(s, "npm test");
    assert_eq!(str_of(npm, "working-directory"), "web");
    assert_eq!(
        str_of(npm, "run"),
        "export MOCHA_FILE=\"$CIRCLE_TEST_REPORTS/x.xml\"\nnpm test\n"
    );
    let (_, bg) = step_running(
        s,
        "nohup bash -c './server' > \"$CIRCLE_ARTIFACTS/stdout_server.txt\" 2>&1 &",
    );
    assert_eq!(
        str_of(&bg["env"], "CIRCLE_ARTIFACTS"),
        "/tmp/circle-artifacts"
    );
    let (_, other) = step_running(s, "cd ~/\"other\" || exit");
    assert!(str_of(other, "working-directory").is_empty());
    // machine commands start in the home folder.
    let (_, ls) = step_running(s, "ls");
    assert_eq!(str_of(ls, "run"), "cd ~ || exit\nls\n");
}

/// The build job's `run:` steps, run one after the other in bash as GitHub would (as far as
/// they go without GitHub: no `uses:` steps, no expressions), in a scratch home.
#[test]
fn steps_run_in_bash_keep_circlerc_and_no_errexit() {
    let text = "machine:
  environment:
    FIRST: one
    SECOND: ${FIRST}-two
  post:
    - echo 'export ADDED=later' >> ~/.circlerc
test:
  override:
    - false; echo \"$FIRST $SECOND\" >> \"$TRACE\"
    - echo \"added=$ADDED\" >> \"$TRACE\"; false
    - echo still >> \"$TRACE\"
";
    let wf = workflow(text, 1);
    let dir = tmpdir("run");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let trace = dir.join("trace");
    let shell: Vec<String> = str_of(&wf["defaults"]["run"], "shell")
        .split(' ')
        .map(String::from)
        .collect();
    let mut statuses = vec![];
    for s in steps(&wf, "build") {
        let run = str_of(s, "run");
        if run.is_empty() {
            continue;
        }
        let script = dir.join("step.sh");
        std::fs::write(&script, run).unwrap();
        let args: Vec<String> = shell[1..]
            .iter()
            .map(|a| a.replace("{0}", script.to_str().unwrap()))
            .collect();
        let status = Command::new(&shell[0])
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", &home)
            // As GitHub passes it: bash itself expands `$HOME` in BASH_ENV.
            .env("BASH_ENV", str_of(&wf["jobs"]["build"]["env"], "BASH_ENV"))
            .env("TRACE", &trace)
            .current_dir(&dir)
            .status()
            .unwrap();
        statuses.push(status.code());
    }
    assert_eq!(
        std::fs::read_to_string(&trace).unwrap(),
        "one one-two\nadded=later\nstill\n",
        "machine.environment in order, ~/.circlerc carried between steps"
    );
    // No -e: a command that fails before its last line still succeeds; one that ends in
    // failure fails its step (and GitHub runs the next test step).
    assert_eq!(&statuses[statuses.len() - 3..], [Some(0), Some(1), Some(0)]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 9's size targets, over the corpus: median workflow lines ÷ circle.yml lines ≤ 5, and
/// no workflow with more than 60 lines of shell that yml2sh wrote (every `run:` line that is
/// not a line of the user's commands).
#[test]
fn corpus_workflows_are_small_enough_to_review() {
    let Some(dir) = common::corpus_dir() else {
        eprintln!("SKIPPED: the corpus (set YML2SH_CORPUS to ../shared/corpus/real)");
        return;
    };
    let mut ratios = vec![];
    let mut max_shell = (0, String::new());
    for path in common::yml_files(&dir) {
        let source = common::read_source(&path);
        let Ok(out) = yml2sh::compile(&source, &options(1)) else {
            continue;
        };
        let (ir, _) = yml2sh::lower(&source, &options(1)).unwrap();
        let user: BTreeSet<&str> = ir
            .commands()
            .flat_map(|c| c.code.as_str().lines())
            .map(str::trim)
            .collect();
        ratios.push(out.text.lines().count() as f64 / source.text.lines().count().max(1) as f64);
        let wf: Value = serde_yaml::from_str(&out.text).unwrap();
        let mut shell = 0;
        for job in wf["jobs"].as_mapping().unwrap().values() {
            for s in job["steps"].as_sequence().unwrap() {
                shell += str_of(s, "run")
                    .lines()
                    .filter(|l| !user.contains(l.trim()) && !l.trim().is_empty())
                    .count();
            }
        }
        if shell > max_shell.0 {
            max_shell = (shell, path.display().to_string());
        }
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    eprintln!(
        "corpus: {} workflows, median workflow/circle.yml lines {median:.2}, max yml2sh shell lines {} ({})",
        ratios.len(),
        max_shell.0,
        max_shell.1
    );
    assert!(median <= 5.0, "median ratio {median:.2}");
    assert!(
        max_shell.0 <= 60,
        "{} shell lines in {}",
        max_shell.0,
        max_shell.1
    );
}

/// The README's before/after is the real output for `examples/circle.yml`.
#[test]
fn readme_shows_the_example_workflow() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let text = std::fs::read_to_string(common::root().join("examples/circle.yml")).unwrap();
    let source = Source::new("circle.yml", text);
    let mut opts = options(1);
    opts.emit.allow_untested_deploy = false;
    opts.lower.project_dir = Some(common::root().join("examples"));
    let out = yml2sh::compile(&source, &opts).unwrap().text;
    let section = &readme[readme.find("## Migrating to GitHub Actions").unwrap()..];
    let start = section.find("After (").unwrap();
    let block = &section[start..];
    let body = &block[block.find("```yaml\n").unwrap() + 8..];
    let body = &body[..body.find("```").unwrap()];
    assert_eq!(body, out, "README's example workflow is stale");
}

/// The variable analysis is lowering's: `yml2sh check` reports what the workflow needs.
#[test]
fn check_reports_secrets_missing_variables_and_languages() {
    let text = "machine:
  python:
    version: 2.7.12
test:
  override:
    - echo $CIRCLE_BUILD_IMAGE $API_KEY $GITHUB_TOKEN
";
    let source = Source::new("circle.yml", text.to_string());
    let diags = yml2sh::check(&source, &yml2sh::Options::default());
    let codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
    for code in [Code::Secrets, Code::NoEquivalent, Code::UnsupportedLanguage] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    // And lowering alone (`-f ir`) sees them too.
    let (_, d) = yml2sh::lower(&source, &yml2sh::Options::default()).unwrap();
    assert!(d.iter().any(|d| d.code == Code::Secrets));
}

/// The build directory is lowering's, normalised: the workflow says `app` however the config
/// spells it, and nothing for the checkout itself.
#[test]
fn build_dir_is_the_normalised_one_from_lowering() {
    let config = |dir: &str| {
        format!(
            "general:\n  build_dir: {dir}\n  artifacts:\n    - out/\ntest:\n  override:\n    - make test\n    - make lint:\n        pwd: lib\n"
        )
    };
    for dir in ["app", "app/", "./app/../app/"] {
        let wf = workflow(&config(dir), 1);
        let s = steps(&wf, "build");
        let (_, test) = step_running(s, "make test");
        assert_eq!(str_of(test, "working-directory"), "app", "{dir}");
        let (_, lint) = step_running(s, "make lint");
        assert_eq!(str_of(lint, "working-directory"), "app/lib", "{dir}");
        let upload = s
            .iter()
            .find(|s| str_of(s, "uses").starts_with("actions/upload-artifact"))
            .unwrap_or_else(|| panic!("{dir}: no upload in {s:#?}"));
        assert!(
            str_of(&upload["with"], "path")
                .lines()
                .any(|l| l == "app/out"),
            "{dir}: {upload:#?}"
        );
    }
    for dir in [".", "./", "app/.."] {
        let wf = workflow(&config(dir), 1);
        let s = steps(&wf, "build");
        let (_, test) = step_running(s, "make test");
        assert_eq!(str_of(test, "working-directory"), "", "{dir}");
        let (_, lint) = step_running(s, "make lint");
        assert_eq!(str_of(lint, "working-directory"), "lib", "{dir}");
    }
}

/// A command that leaves the build directory at once (a machine command's `cd ~`, an absolute
/// or `~` pwd) gets no `working-directory` naming the build directory.
#[test]
fn commands_that_leave_the_build_dir_at_once_name_no_working_directory() {
    let wf = workflow(
        "general:\n  build_dir: app\nmachine:\n  pre:\n    - gem install x\ntest:\n  override:\n    - make test\n    - ls:\n        pwd: /srv\n    - ls -a:\n        pwd: ~/cache\n    - ls -l:\n        pwd: $HOME/x\n",
        1,
    );
    let s = steps(&wf, "build");
    for (run, dir) in [
        ("gem install x", ""),
        ("make test", "app"),
        ("ls", ""),
        ("ls -a", ""),
        ("ls -l", "app"),
    ] {
        let (_, step) = step_running(s, run);
        assert_eq!(str_of(step, "working-directory"), dir, "{run}: {step:#?}");
    }
    let (_, gem) = step_running(s, "gem install x");
    assert_eq!(str_of(gem, "run"), "cd ~ || exit\ngem install x\n");
}

/// A literal relative `pwd` that climbs out of the checkout is refused by the workflow as by
/// build.sh (lowering decides it once, `-f ir` says it): the step fails with an annotation and
/// its command does not run; one that stays inside runs.
#[test]
fn a_pwd_outside_the_checkout_is_refused_as_build_sh_refuses_it() {
    let text = "general:\n  build_dir: app\ntest:\n  override:\n    - touch escaped:\n        pwd: ../../outside\n    - touch stayed:\n        pwd: ../app/./sub\n";
    let (ir, _) = compile_with(
        text,
        &Options {
            target: Target::Ir,
            ..options(1)
        },
    );
    assert!(
        ir.contains("pwd=\"../../outside\" (outside the checkout: refused)")
            && !ir.contains("sub\" (outside"),
        "{ir}"
    );
    let wf = workflow(text, 1);
    let s = steps(&wf, "build");
    let root = tmpdir("pwd-outside");
    let workspace = root.join("repo");
    std::fs::create_dir_all(workspace.join("app/sub")).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    let run_step = |command: &str| {
        let (_, step) = step_running(s, command);
        let dir = workspace.join(str_of(step, "working-directory"));
        Command::new("bash")
            .arg("-c")
            .arg(str_of(step, "run"))
            .current_dir(dir)
            .env("GITHUB_WORKSPACE", &workspace)
            .output()
            .unwrap()
    };
    let escaped = run_step("touch escaped");
    let said = String::from_utf8_lossy(&escaped.stdout);
    assert_eq!(escaped.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with("::error::pwd ../../outside climbs out of the checkout (to "),
        "{said}"
    );
    assert!(!root.join("outside/escaped").exists());
    let stayed = run_step("touch stayed");
    assert!(stayed.status.success(), "{stayed:?}");
    assert!(workspace.join("app/sub/stayed").exists());
    let _ = std::fs::remove_dir_all(&root);
}
