//! The GitHub Actions back-end: every workflow passes actionlint and the workflow JSON schema,
//! and each item of the migration (triggers, failure semantics, environment, secrets, caches,
//! artifacts, parallelism, injection) is checked on the generated YAML's structure; the scripts
//! yml2sh writes into the workflow are run with bash where their behaviour matters.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;
use yml2sh::{Code, EmitOptions, Options, Source, Target};

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yml2sh-github-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(nodes: u32) -> Options {
    Options {
        target: Target::Github,
        emit: EmitOptions {
            nodes,
            ..EmitOptions::default()
        },
        ..Options::default()
    }
}

fn compile(text: &str, nodes: u32) -> (String, Vec<yml2sh::Diagnostic>) {
    let source = Source::new("circle.yml", text.to_string());
    match yml2sh::compile(&source, &options(nodes)) {
        Ok(out) => (out.text, out.diagnostics.sorted()),
        Err(d) => panic!("{text}\nfailed: {:?}", d.sorted()),
    }
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

fn step_index(steps: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    steps
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such step in {steps:#?}"))
}

fn by_run(text: &'static str) -> impl Fn(&Value) -> bool {
    move |s| str_of(s, "run") == text
}

/// Every input the back-end must handle.
fn inputs() -> Vec<PathBuf> {
    common::all_inputs()
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok()
}

#[test]
fn every_workflow_passes_actionlint_and_the_schema() {
    assert!(
        tool("actionlint") && tool("check-jsonschema"),
        "actionlint and check-jsonschema must be installed (.ci/run installs them)"
    );
    let dir = tmpdir("validate");
    let mut written = vec![];
    for (i, path) in inputs().iter().enumerate() {
        let source = common::read_source(path);
        for nodes in [1, 3] {
            let Ok(out) = yml2sh::compile(&source, &options(nodes)) else {
                continue; // refused with located errors: tests/corpus.rs checks that
            };
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let file = dir.join(format!("{i:03}-{stem}-n{nodes}.yml"));
            std::fs::write(&file, &out.text).unwrap();
            // No command lost: each one is the `run:` of a step (with `${{` made inert).
            let wf: Value = serde_yaml::from_str(&out.text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let runs: Vec<&str> = wf["jobs"]
                .as_mapping()
                .unwrap()
                .values()
                .flat_map(|j| j["steps"].as_sequence().unwrap().iter())
                .map(|s| str_of(s, "run"))
                .collect();
            let (ir, _) = yml2sh::lower(&source, &options(nodes)).unwrap();
            for c in ir.commands() {
                let code = c.code.as_str().replace("${{", "${{ '${{' }}");
                assert!(
                    runs.iter().any(|r| r.starts_with(code.trim_end())),
                    "{}: command #{} is missing from the workflow",
                    path.display(),
                    c.id
                );
            }
            written.push(file);
        }
    }
    assert!(written.len() > 20, "too few workflows: {}", written.len());
    let shellcheck = if tool("shellcheck") {
        "-shellcheck=shellcheck"
    } else {
        "-shellcheck="
    };
    let out = Command::new("actionlint")
        .arg(shellcheck)
        .args(&written)
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&written)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        out.status.success(),
        "check-jsonschema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{} workflows validated", written.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_is_deterministic() {
    let text = std::fs::read_to_string(common::fixture("ok/deployment.yml")).unwrap();
    assert_eq!(compile(&text, 2).0, compile(&text, 2).0);
}

/// Runs the `select` job's script with bash for one event and returns its `GITHUB_OUTPUT`.
fn select(wf: &Value, event: &str, ref_type: &str, name: &str, owner: &str) -> String {
    let step = &steps(wf, "select")[0];
    let dir = tmpdir(&format!("select-{}", name.replace('/', "_")));
    let output = dir.join("output");
    let mut cmd = Command::new("bash");
    cmd.arg("-e").arg("-c").arg(str_of(step, "run"));
    cmd.env("GITHUB_OUTPUT", &output)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_REF_TYPE", ref_type)
        .env("GITHUB_REPOSITORY_OWNER", owner);
    if event == "pull_request" {
        cmd.env("GITHUB_HEAD_REF", name)
            .env("GITHUB_REF_NAME", "1/merge");
    } else {
        cmd.env("GITHUB_REF_NAME", name);
    }
    for (k, v) in step["env"].as_mapping().unwrap() {
        cmd.env(k.as_str().unwrap(), v.as_str().unwrap());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(output).unwrap()
}

#[test]
fn deployment_runs_the_first_matching_subsection_in_its_own_job() {
    let text = std::fs::read_to_string(common::fixture("ok/deployment.yml")).unwrap();
    let wf = workflow(&text, 1);
    let deploy = &wf["jobs"]["deploy"];
    assert_eq!(deploy["needs"][1].as_str(), Some("build"));
    // Each subsection's commands run only when the select job chose that subsection.
    for (run, index) in [("./deploy.sh production", 0), ("./deploy.sh stable", 2)] {
        let s = &steps(&wf, "deploy")[step_index(steps(&wf, "deploy"), by_run(run))];
        assert_eq!(
            str_of(s, "if"),
            format!("${{{{ needs.select.outputs.deployment == '{index}' }}}}")
        );
    }
    // production (branch master, owner acme) shadows stable's /master/ for acme only.
    assert_eq!(
        select(&wf, "push", "branch", "master", "acme"),
        "build=true\ndeployment=0\n"
    );
    assert_eq!(
        select(&wf, "push", "branch", "master", "fork"),
        "build=true\ndeployment=2\n"
    );
    assert_eq!(
        select(&wf, "push", "branch", "release-1", "acme"),
        "build=true\ndeployment=1\n"
    );
    assert_eq!(
        select(&wf, "push", "branch", "feature-x", "acme"),
        "build=true\ndeployment=4\n"
    );
    assert_eq!(
        select(&wf, "push", "tag", "v1.2.3", "acme"),
        "build=true\ndeployment=3\n"
    );
    // Tags build only when a deployment's tag matches; pull requests never deploy.
    assert_eq!(
        select(&wf, "push", "tag", "nightly", "acme"),
        "build=false\ndeployment=\n"
    );
    assert_eq!(
        select(&wf, "pull_request", "branch", "master", "acme"),
        "build=true\ndeployment=\n"
    );
    // The tag subsection turns tag pushes on.
    assert!(wf["on"]["push"]["tags"].as_sequence().is_some());
}

#[test]
fn branch_filters_are_globs_only_when_exact() {
    let wf = workflow(
        "general:\n  branches:\n    only:\n      - master\n      - /release\\/.*/\ntest:\n  override:\n    - echo t\n",
        1,
    );
    assert_eq!(
        wf["on"]["push"]["branches"],
        serde_yaml::from_str::<Value>("[master, release/**]").unwrap()
    );
    // The same decision in bash (pull requests filter on their head branch, not the base).
    assert_eq!(
        select(&wf, "pull_request", "branch", "topic", "o"),
        "build=false\ndeployment=\n"
    );
    let wf = workflow(
        "general:\n  branches:\n    ignore:\n      - gh-pages\n      - /wip-.*/\ntest:\n  override:\n    - echo t\n",
        1,
    );
    assert_eq!(
        wf["on"]["push"]["branches-ignore"],
        serde_yaml::from_str::<Value>("[gh-pages, wip-**]").unwrap()
    );
    // No glob says /feature-\d+/: every branch pushes, and the select job's regex decides.
    let wf = workflow(
        "general:\n  branches:\n    only:\n      - /feature-\\d+/\ntest:\n  override:\n    - echo t\n",
        1,
    );
    assert_eq!(
        wf["on"]["push"]["branches"],
        serde_yaml::from_str::<Value>("['**']").unwrap()
    );
    assert_eq!(
        select(&wf, "push", "branch", "feature-12", "o"),
        "build=true\ndeployment=\n"
    );
    assert_eq!(
        select(&wf, "push", "branch", "feature-x", "o"),
        "build=false\ndeployment=\n"
    );
    assert_eq!(
        wf["jobs"]["build"]["if"].as_str(),
        Some("${{ needs.select.outputs.build == 'true' }}")
    );
}

#[test]
fn setup_stops_and_tests_all_run() {
    let text = std::fs::read_to_string(common::fixture("ok/phases.yml")).unwrap();
    let wf = workflow(&text, 1);
    let s = steps(&wf, "build");
    let deps = &s[step_index(s, by_run("echo deps-override"))];
    assert!(
        deps.get("if").is_none(),
        "setup steps stop at the first failure"
    );
    let setup = step_index(s, |s| str_of(s, "id") == "setup");
    for run in ["echo test-pre", "echo test-override", "echo test-post"] {
        let i = step_index(s, by_run(run));
        assert!(i > setup);
        assert_eq!(
            str_of(&s[i], "if"),
            "${{ !cancelled() && steps.setup.outcome == 'success' }}"
        );
    }
    // 1.0's shell: no -e, no pipefail, through the watchdog wrapper.
    assert!(str_of(deps, "shell").starts_with("yml2sh-run 600 "));
}

#[test]
fn environment_goes_through_a_sourced_file_in_order() {
    let text = std::fs::read_to_string(common::fixture("ok/environment.yml")).unwrap();
    let wf = workflow(&text, 1);
    let s = steps(&wf, "build");
    let export = &s[step_index(s, |s| str_of(s, "name") == "Export machine.environment")];
    assert_eq!(
        export["env"]["YML2SH_EXPORTS"].as_str(),
        Some("GOPATH PROJECT BUILD_TAG DISPLAY RETRIES VERBOSE EMPTY QUOTED TERMINUS_ORG")
    );
    assert_eq!(
        export["env"]["YML2SH_VALUE_BUILD_TAG"].as_str(),
        Some("$(echo $CIRCLE_SHA1 | cut -c1-7)")
    );
    // The data is in env:, never in run:.
    assert!(!str_of(export, "run").contains("GOPATH"));
    // And the job has no literal env: for it (GitHub's env: does not expand).
    assert!(wf["jobs"]["build"].get("env").is_none());
}

#[test]
fn the_runtime_keeps_environment_pwd_files_and_the_no_output_timeout() {
    let wf = workflow(
        "machine:\n  environment:\n    A: one\n    B: $A-two\n\
         test:\n  override:\n    - echo \"$B $C\" > out-env:\n        environment:\n          C: $B-three\n\
         \x20   - pwd > \"$HOME/out-pwd\":\n        pwd: sub\n\
         \x20   - printf '%s\\n' x > out-files:\n        parallel: true\n        files:\n          - spec/*.rb\n\
         \x20   - |\n      false\n      echo no-errexit > out-errexit\n\
         \x20   - echo before; sleep 30:\n        timeout: 2\n",
        2,
    );
    let dir = tmpdir("runtime");
    let (ws, temp, home) = (dir.join("ws"), dir.join("temp"), dir.join("home"));
    for d in [&ws, &temp, &home, &ws.join("sub"), &ws.join("spec")] {
        std::fs::create_dir_all(d).unwrap();
    }
    for f in ["a.rb", "b.rb", "c.rb"] {
        std::fs::write(ws.join("spec").join(f), "").unwrap();
    }
    let (github_env, github_path) = (dir.join("github_env"), dir.join("github_path"));
    std::fs::write(&github_env, "").unwrap();
    std::fs::write(&github_path, "").unwrap();
    let mut statuses = vec![];
    for s in steps(&wf, "build") {
        if s.get("uses").is_some() || s.get("run").is_none() {
            continue;
        }
        let script = dir.join("step.sh");
        std::fs::write(&script, str_of(s, "run")).unwrap();
        let shell = str_of(s, "shell");
        let mut cmd = if shell == "bash" {
            let mut c = Command::new("bash");
            c.arg("-e").arg(&script);
            c
        } else {
            let words: Vec<String> = shell
                .replace("{0}", script.to_str().unwrap())
                .split(' ')
                .map(String::from)
                .collect();
            let mut c = Command::new(&words[0]);
            c.args(&words[1..]);
            c
        };
        let path = std::fs::read_to_string(&github_path).unwrap();
        let path = format!("{}:{}", path.trim(), std::env::var("PATH").unwrap());
        cmd.env("PATH", path)
            .env("RUNNER_TEMP", &temp)
            .env("HOME", &home)
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_WORKSPACE", &ws)
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_REF_TYPE", "branch")
            .env("GITHUB_REF_NAME", "master")
            .env("GITHUB_REPOSITORY", "acme/app")
            .current_dir(ws.join(str_of(s, "working-directory")));
        // What the workflow gives as `${{ … }}` is the node index 1 (of 2) here.
        for (k, v) in github_env_vars(&github_env) {
            cmd.env(k, v);
        }
        for (k, v) in s["env"].as_mapping().into_iter().flatten() {
            let v = match v {
                Value::String(v) if v.contains("${{") => "1".to_string(),
                Value::String(v) => v.clone(),
                other => serde_yaml::to_string(other).unwrap().trim().to_string(),
            };
            cmd.env(k.as_str().unwrap(), v);
        }
        let started = std::time::Instant::now();
        let status = cmd.status().unwrap().code();
        statuses.push((str_of(s, "name").to_string(), status, started.elapsed()));
    }
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    assert_eq!(read(&ws.join("out-env")), "one-two one-two-three\n");
    assert_eq!(
        read(&home.join("out-pwd")).trim(),
        ws.join("sub").to_str().unwrap()
    );
    // Node 1 of 2 gets every second file of the sorted list.
    assert_eq!(read(&ws.join("out-files")), "x\nspec/b.rb\n");
    assert_eq!(read(&ws.join("out-errexit")), "no-errexit\n");
    let (_, status, took) = statuses
        .iter()
        .find(|(name, ..)| name == "echo before; sleep 30")
        .unwrap();
    assert_eq!(*status, Some(124), "{statuses:?}");
    assert!(took.as_secs() < 15, "the watchdog killed it: {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `NAME<<DELIM` blocks of a GITHUB_ENV file.
fn github_env_vars(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = vec![];
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            out.push((name.to_string(), value.join("\n")));
        }
    }
    out
}

#[test]
fn secrets_come_from_the_secrets_context_and_are_listed() {
    let text = std::fs::read_to_string(common::fixture("seed/registry.yml"))
        .unwrap_or_else(|_| "deployment:\n  hub:\n    branch: master\n    commands:\n      - docker login -u $DOCKER_USER -p $DOCKER_PASS\n".into());
    let (yaml, diags) = compile(&text, 1);
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    let env = &wf["jobs"]["deploy"]["env"];
    assert_eq!(
        env["DOCKER_PASS"].as_str(),
        Some("${{ secrets.DOCKER_PASS }}")
    );
    assert_eq!(
        env["DOCKER_USER"].as_str(),
        Some("${{ secrets.DOCKER_USER }}")
    );
    // CircleCI's own variables and the config's are not secrets.
    assert!(env.get("CIRCLE_SHA1").is_none());
    let d = diags
        .iter()
        .find(|d| d.code == Code::Secrets)
        .expect("a secrets diagnostic");
    assert!(d.message.contains("`DOCKER_PASS`") && d.message.contains("`DOCKER_USER`"));
    assert!(d.span.is_some());
}

#[test]
fn cache_is_restored_before_dependencies_and_saved_after_post() {
    let wf = workflow(
        "dependencies:\n  cache_directories:\n    - vendor/x\n    - ~/.cache/y\n  pre:\n    - echo pre\n  override:\n    - echo override\n  post:\n    - echo post\n\
         database:\n  override:\n    - echo db\ntest:\n  override:\n    - echo t\n",
        1,
    );
    let s = steps(&wf, "build");
    let restore = step_index(s, |s| {
        str_of(s, "uses").starts_with("actions/cache/restore@")
    });
    let save = step_index(s, |s| str_of(s, "uses").starts_with("actions/cache/save@"));
    assert!(restore < step_index(s, by_run("echo pre")));
    assert!(step_index(s, by_run("echo post")) < save);
    assert!(save < step_index(s, by_run("echo db")));
    assert_eq!(str_of(&s[save]["with"], "path"), "vendor/x\n~/.cache/y");
    assert_eq!(s[save]["with"]["key"], s[restore]["with"]["key"]);
}

#[test]
fn artifacts_and_reports_are_uploaded_whatever_the_outcome() {
    let text = std::fs::read_to_string(common::fixture("ok/general.yml")).unwrap();
    let wf = workflow(&text, 1);
    let uploads: Vec<&Value> = steps(&wf, "build")
        .iter()
        .filter(|s| str_of(s, "uses").starts_with("actions/upload-artifact@"))
        .collect();
    assert_eq!(uploads.len(), 3);
    for u in &uploads {
        assert_eq!(str_of(u, "if"), "${{ always() }}");
    }
    // general.artifacts are relative to build_dir.
    assert_eq!(
        str_of(&uploads[2]["with"], "path"),
        "app/coverage\n~/logs/test.log"
    );
}

#[test]
fn webhooks_are_a_final_step_that_always_runs() {
    let text = std::fs::read_to_string(common::fixture("ok/notify.yml")).unwrap();
    let wf = workflow(&text, 1);
    let notify = &wf["jobs"]["notify"];
    assert_eq!(
        str_of(notify, "if"),
        "${{ always() && needs.build.result != 'skipped' }}"
    );
    let step = &notify["steps"][0];
    assert_eq!(str_of(step, "if"), "${{ always() }}");
    assert_eq!(
        step["env"]["YML2SH_WEBHOOK_0"].as_str(),
        Some("https://example.com/hooks/circle")
    );
}

#[test]
fn nodes_make_a_matrix_and_node_zero_commands_are_guarded() {
    let text = std::fs::read_to_string(common::fixture("ok/modifiers.yml")).unwrap();
    let wf = workflow(&text, 3);
    assert_eq!(
        wf["jobs"]["build"]["strategy"]["matrix"]["node"],
        serde_yaml::from_str::<Value>("[0, 1, 2]").unwrap()
    );
    let s = steps(&wf, "build");
    let node0 = &s[step_index(s, by_run("./slow-suite.sh"))];
    assert!(str_of(node0, "if").contains("matrix.node == 0"));
    let all = &s[step_index(s, by_run("echo on-every-node"))];
    assert!(!str_of(all, "if").contains("matrix.node"));
    let files = &s[step_index(s, |s| str_of(s, "run").starts_with("bin/rspec"))];
    // The command as written: the runtime appends this node's share of the files.
    assert_eq!(str_of(files, "run"), "bin/rspec");
    assert_eq!(
        files["env"]["YML2SH_FILES"].as_str(),
        Some("spec/**/*_spec.rb\ntest/*.rb")
    );
    let prepare = &s[0];
    assert_eq!(
        prepare["env"]["YML2SH_NODE_INDEX"].as_str(),
        Some("${{ matrix.node }}")
    );
    // Without --nodes there is no matrix.
    let wf = workflow(&text, 1);
    assert!(wf["jobs"]["build"].get("strategy").is_none());
}

#[test]
fn config_data_cannot_inject_into_scripts_or_expressions() {
    let wf = workflow(
        "machine:\n  environment:\n    EVIL: \"${{ github.token }}\"\n\
         test:\n  override:\n    - echo \"${{ github.token }}\"\n\
         deployment:\n  \"x'; rm -rf /\":\n    branch: \"${{ github.ref }}\"\n    commands:\n      - echo deploy\n",
        1,
    );
    let yaml = serde_yaml::to_string(&wf).unwrap();
    let mut runs = vec![];
    for job in wf["jobs"].as_mapping().unwrap().values() {
        for s in job["steps"].as_sequence().unwrap() {
            runs.push(str_of(s, "run"));
            // Every `${{` of config data is GitHub's literal `${{ '${{' }}`.
            for (_, v) in s["env"].as_mapping().into_iter().flatten() {
                let v = v.as_str().unwrap_or("");
                if v.contains("github.token") || v.contains("github.ref }}") {
                    assert!(v.starts_with("${{ '${{' }}"), "{v}");
                }
            }
        }
    }
    // The deployment's name (our own runtime has `rm -rf -- "$Y2S_STATE"` of its own).
    assert!(runs.iter().all(|r| !r.contains("rm -rf /")), "{yaml}");
    let s = steps(&wf, "build");
    let cmd = &s[step_index(s, |s| str_of(s, "id") == "command-0")];
    assert_eq!(str_of(cmd, "run"), "echo \"${{ '${{' }} github.token }}\"");
    let select = &steps(&wf, "select")[0];
    assert_eq!(str_of(&select["env"], "YML2SH_D0_NAME"), "x'; rm -rf /");
}

#[test]
fn inference_languages_and_missing_variables_are_visible() {
    let text = std::fs::read_to_string(common::fixture("ok/inference.yml")).unwrap();
    let wf = workflow(&text, 1);
    assert!(steps(&wf, "build")
        .iter()
        .any(|s| str_of(s, "name") == "dependencies: CircleCI would have inferred commands here"));

    let (yaml, diags) = compile(
        "machine:\n  node:\n    version: 6.1.0\n  python:\n    version: 2.7.12\n\
         test:\n  override:\n    - echo $CIRCLE_BUILD_IMAGE $CIRCLE_BRANCH\n",
        1,
    );
    let wf: Value = serde_yaml::from_str(&yaml).unwrap();
    let s = steps(&wf, "build");
    let node = &s[step_index(s, |s| str_of(s, "uses").starts_with("actions/setup-node@"))];
    assert_eq!(node["with"]["node-version"].as_str(), Some("6.1.0"));
    let lang = diags
        .iter()
        .find(|d| d.code == Code::UnsupportedLanguage)
        .unwrap();
    assert!(lang.message.contains("2.7.12") && lang.span.is_some());
    let missing = diags.iter().find(|d| d.code == Code::NoEquivalent).unwrap();
    assert!(missing.message.contains("`CIRCLE_BUILD_IMAGE`"));
    assert!(!missing.message.contains("CIRCLE_BRANCH"));
    assert!(!diags.iter().any(|d| d.code == Code::Secrets));
}

#[test]
fn a_plain_pwd_is_the_working_directory() {
    let wf = workflow(
        "general:\n  build_dir: app\ntest:\n  override:\n    - make check:\n        pwd: sub/dir\n    - ./x:\n        pwd: $HOME/y\n",
        1,
    );
    let steps = steps(&wf, "build");
    let plain = &steps[step_index(steps, by_run("make check"))];
    assert_eq!(str_of(plain, "working-directory"), "app/sub/dir");
    assert_eq!(str_of(&plain["env"], "YML2SH_PWD"), "sub/dir");
    // A pwd the shell must expand stays with the runtime; the step runs in the build directory.
    let expanded = &steps[step_index(steps, by_run("./x"))];
    assert_eq!(str_of(expanded, "working-directory"), "app");
    assert_eq!(str_of(&expanded["env"], "YML2SH_PWD"), "$HOME/y");
}

/// Runs the build job's first step (the CircleCI environment) as GitHub would for an event,
/// and returns what it wrote to GITHUB_ENV.
fn prepared_env(wf: &Value, event: &str, ref_name: &str, head_ref: &str) -> Vec<(String, String)> {
    let dir = tmpdir(&format!("prepare-{event}"));
    let step = &steps(wf, "build")[0];
    assert_eq!(
        str_of(step, "name"),
        "Prepare the CircleCI 1.0 environment (yml2sh)"
    );
    let script = dir.join("step.sh");
    std::fs::write(&script, str_of(step, "run")).unwrap();
    let (env_file, path_file) = (dir.join("env"), dir.join("path"));
    std::fs::write(&env_file, "").unwrap();
    std::fs::write(&path_file, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("-e")
        .arg(&script)
        .current_dir(&dir)
        .env("RUNNER_TEMP", &dir)
        .env("GITHUB_ENV", &env_file)
        .env("GITHUB_PATH", &path_file)
        .env("GITHUB_WORKSPACE", &dir)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_REF_TYPE", "branch")
        .env("GITHUB_REF_NAME", ref_name)
        .env("GITHUB_HEAD_REF", head_ref)
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_REPOSITORY_OWNER", "acme")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_NUMBER", "7");
    for (k, v) in step["env"].as_mapping().into_iter().flatten() {
        let v = match v {
            Value::String(v) if v.contains("${{") => String::new(),
            Value::String(v) => v.clone(),
            other => serde_yaml::to_string(other).unwrap().trim().to_string(),
        };
        cmd.env(k.as_str().unwrap(), v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    github_env_vars(&env_file)
}

#[test]
fn circle_variables_map_to_github_and_machine_settings_are_steps() {
    let wf = workflow(
        "machine:\n  timezone: America/Los_Angeles\n  hosts:\n    db.local: 127.0.0.1\ntest:\n  override:\n    - echo $CIRCLE_BRANCH\n",
        1,
    );
    let get = |vars: &[(String, String)], name: &str| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    // A push: the branch name, not refs/heads/…; a pull request: its head branch.
    let push = prepared_env(&wf, "push", "master", "");
    assert_eq!(get(&push, "CIRCLE_BRANCH").as_deref(), Some("master"));
    assert_eq!(get(&push, "CIRCLE_BUILD_NUM").as_deref(), Some("7"));
    assert_eq!(
        get(&push, "CIRCLE_PROJECT_USERNAME").as_deref(),
        Some("acme")
    );
    assert_eq!(
        get(&push, "CIRCLE_PROJECT_REPONAME").as_deref(),
        Some("app")
    );
    assert_eq!(
        get(&push, "CIRCLE_REPOSITORY_URL").as_deref(),
        Some("https://github.com/acme/app")
    );
    let pr = prepared_env(&wf, "pull_request", "3/merge", "topic");
    assert_eq!(get(&pr, "CIRCLE_BRANCH").as_deref(), Some("topic"));
    // timezone and hosts: steps with the values passed as data.
    let steps = steps(&wf, "build");
    let tz = steps
        .iter()
        .find(|s| str_of(s, "name").contains("machine.timezone"))
        .expect("a time zone step");
    assert_eq!(str_of(&tz["env"], "YML2SH_TIMEZONE"), "America/Los_Angeles");
    let hosts = steps
        .iter()
        .find(|s| str_of(s, "name").contains("machine.hosts"))
        .expect("a hosts step");
    assert_eq!(str_of(&hosts["env"], "YML2SH_HOST_0"), "127.0.0.1 db.local");
    assert!(str_of(hosts, "run").contains("sudo tee -a /etc/hosts"));
}
