//! Docker and services, executed: every example of the seed document runs as build.sh against
//! recording stand-ins for `docker`, `curl`, `aws`, `kubecfg.sh` and friends (no Docker engine
//! runs here), and the calls, their arguments and environment are checked exactly.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yml2sh::Target;

const TOOLS: &[&str] = &[
    "docker",
    "curl",
    "aws",
    "kubecfg.sh",
    "gcloud",
    "sudo",
    "pip",
    "envsubst",
    "sleep",
];

struct Run {
    out: Output,
    /// The stand-ins' record, with the commit's SHA shown as `<sha>`.
    calls: Vec<String>,
    repo: PathBuf,
    home: PathBuf,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
            + &String::from_utf8_lossy(&self.out.stderr)
    }
}

/// Compiles `fixture` (relative to tests/fixtures) to bash and runs it in a scratch repository
/// holding the files of `seed_dir`, with stand-ins first on PATH.
fn run(
    name: &str,
    fixture: &str,
    seed_dir: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    run_with_home(name, fixture, seed_dir, args, env, &[])
}

/// `run`, with `home_files` created (empty) in the home directory first.
fn run_with_home(
    name: &str,
    fixture: &str,
    seed_dir: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
    home_files: &[&str],
) -> Run {
    let bash = run_target(Target::Bash, name, fixture, seed_dir, args, env, home_files);
    let make = run_target(Target::Make, name, fixture, seed_dir, args, env, home_files);
    // The Makefile drives the same runtime: the same calls, the same outcome.
    assert_eq!(
        (bash.out.status.success(), &bash.calls),
        (make.out.status.success(), &make.calls),
        "{name}: build.sh and the Makefile differ\n--- bash:\n{}\n--- make:\n{}",
        bash.text(),
        make.text()
    );
    bash
}

/// Runs the build through build.sh or the Makefile; build.sh's options map onto make's goal
/// (`--deploy`) and the runtime's environment (`YML2SH_SERVICES`, `YML2SH_CACHE_DIR`).
fn run_target(
    target: Target,
    name: &str,
    fixture: &str,
    seed_dir: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
    home_files: &[&str],
) -> Run {
    let label = match target {
        Target::Make => format!("docker-{name}-make"),
        _ => format!("docker-{name}"),
    };
    let (repo, home) = common::scratch_repo(&label, seed_dir);
    for f in home_files {
        let p = home.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    let base = repo.parent().unwrap().to_path_buf();
    let source = common::read_source(&common::fixture(fixture));
    let text = yml2sh::compile(&source, &common::options(target))
        .unwrap_or_else(|d| panic!("{fixture}: {:?}", d.sorted()))
        .text;
    let bin = common::stand_ins(&base, TOOLS);
    let record = base.join("record");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = if target == Target::Make {
        std::fs::write(base.join("Makefile"), text).unwrap();
        let mut cmd = Command::new("make");
        cmd.arg("-f").arg(base.join("Makefile"));
        for a in args {
            if *a == "--deploy" {
                cmd.arg("deploy");
            } else if let Some(v) = a.strip_prefix("--services=") {
                cmd.env("YML2SH_SERVICES", v);
            } else if let Some(v) = a.strip_prefix("--only=") {
                cmd.env("YML2SH_ONLY", v);
            } else if let Some(v) = a.strip_prefix("--cache-dir=") {
                // Its own cache: the bash run must not have filled it.
                cmd.env("YML2SH_CACHE_DIR", format!("{v}-make"));
            } else {
                panic!("no make equivalent for {a}");
            }
        }
        cmd
    } else {
        std::fs::write(base.join("build.sh"), text).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(base.join("build.sh")).args(args);
        cmd
    };
    cmd.current_dir(&repo)
        .env("PATH", path)
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1")
        .env("YML2SH_RECORD", &record)
        .env("YML2SH_RECORD_ENV", "CIRCLE_SHA1")
        .env_remove("CIRCLE_BRANCH")
        .env_remove("CIRCLE_SHA1")
        .env_remove("MAKEFLAGS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the build runs");
    let sha = common::git(&repo, &["rev-parse", "HEAD"]);
    let calls = std::fs::read_to_string(&record)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.replace(&sha, "<sha>")
                .replace(&home.to_string_lossy().into_owned(), "<home>")
        })
        .collect();
    Run {
        out,
        calls,
        repo,
        home,
    }
}

fn seed(name: &str) -> (String, Option<PathBuf>) {
    let dir = common::fixture(&format!("seed/{name}"));
    (format!("seed/{name}.yml"), dir.is_dir().then_some(dir))
}

/// The tool calls, without the `docker info` probe a docker build starts with.
fn tool_calls(run: &Run) -> Vec<String> {
    let skip = usize::from(
        run.calls
            .first()
            .is_some_and(|c| c.starts_with("docker info")),
    );
    run.calls[skip..].to_vec()
}

const DEPLOY_ENV: &[(&str, &str)] = &[
    ("DOCKER_EMAIL", "ci@example.com"),
    ("DOCKER_USER", "ci"),
    ("DOCKER_PASS", "s3cret"),
    ("EXTERNAL_REGISTRY_ENDPOINT", "registry.example.com"),
    ("ACCT_AUTH", "e30="),
];

fn check_seed(name: &str, expected: &[&str]) -> Run {
    let (fixture, dir) = seed(name);
    // The Kubernetes example calls `$KUBERNETES_ROOT/cluster/kubecfg.sh`: a stand-in too.
    let kube = crate::common::tmp().join(format!("yml2sh-kube-{name}-{}", std::process::id()));
    let kubecfg = common::stand_ins(&kube, &["kubecfg.sh"]);
    let _ = std::fs::remove_dir_all(kube.join("cluster"));
    std::fs::rename(&kubecfg, kube.join("cluster")).unwrap();
    let kube_root = kube.to_string_lossy().into_owned();
    let mut env = DEPLOY_ENV.to_vec();
    env.push(("KUBERNETES_ROOT", &kube_root));
    let run = run(name, &fixture, dir.as_deref(), &["--deploy"], &env);
    assert_eq!(run.out.status.code(), Some(0), "{name}: {}", run.text());
    assert!(
        run.calls
            .first()
            .is_some_and(|c| c.starts_with("docker info")),
        "{name}: docker is checked first: {:?}",
        run.calls
    );
    assert_eq!(tool_calls(&run), expected, "{name}: {}", run.text());
    run
}

#[test]
fn seed_registry_builds_tests_and_pushes() {
    check_seed(
        "registry",
        &[
            "docker info CIRCLE_SHA1=<sha>",
            "docker build -t circleci/elasticsearch . CIRCLE_SHA1=<sha>",
            "docker run -d -p 9200:9200 circleci/elasticsearch CIRCLE_SHA1=<sha>",
            "sleep 10 CIRCLE_SHA1=<sha>",
            "curl --retry 10 --retry-delay 5 -v http://localhost:9200 CIRCLE_SHA1=<sha>",
            "docker login -u ci --password-stdin CIRCLE_SHA1=<sha> stdin=$'s3cret\\n'",
            "docker push circleci/elasticsearch CIRCLE_SHA1=<sha>",
        ],
    );
}

#[test]
fn seed_elastic_beanstalk_deploys_the_commit() {
    check_seed(
        "elastic-beanstalk",
        &[
            "pip install awscli CIRCLE_SHA1=<sha>",
            "docker build -t circleci/hello:<sha> . CIRCLE_SHA1=<sha>",
            "docker run -d -p 3000:3000 -e SECRET_KEY_BASE=abcd1234 circleci/hello:<sha> CIRCLE_SHA1=<sha>",
            "sleep 10 CIRCLE_SHA1=<sha>",
            "curl --retry 10 --retry-delay 5 -v http://localhost:3000 CIRCLE_SHA1=<sha>",
            "docker login -u ci --password-stdin CIRCLE_SHA1=<sha> stdin=$'s3cret\\n'",
            "docker push circleci/hello:<sha> CIRCLE_SHA1=<sha>",
            "aws s3 cp <sha>-Dockerrun.aws.json s3://hello-bucket/<sha>-Dockerrun.aws.json CIRCLE_SHA1=<sha>",
            "aws elasticbeanstalk create-application-version --application-name hello --version-label <sha> --source-bundle S3Bucket=hello-bucket\\,S3Key=<sha>-Dockerrun.aws.json CIRCLE_SHA1=<sha>",
            "aws elasticbeanstalk update-environment --environment-name hello-env --version-label <sha> CIRCLE_SHA1=<sha>",
        ],
    );
}

#[test]
fn seed_kubernetes_deploys_through_kubecfg() {
    let run = check_seed(
        "kubernetes",
        &[
            "docker build -t registry.example.com/hello:<sha> . CIRCLE_SHA1=<sha>",
            "docker run -d -p 3000:3000 -e SECRET_KEY_BASE=abcd1234 registry.example.com/hello:<sha> CIRCLE_SHA1=<sha>",
            "sleep 10 CIRCLE_SHA1=<sha>",
            "curl --retry 10 --retry-delay 5 -v http://localhost:3000 CIRCLE_SHA1=<sha>",
            "docker login -u ci --password-stdin registry.example.com CIRCLE_SHA1=<sha> stdin=$'s3cret\\n'",
            "envsubst CIRCLE_SHA1=<sha> stdin=$'{\"User\": \"$KUBERNETES_USER\", \"Password\": \"$KUBERNETES_PASSWORD\"}\\n'",
            "docker push registry.example.com/hello:<sha> CIRCLE_SHA1=<sha>",
            "envsubst CIRCLE_SHA1=<sha> stdin=sha256:2afae9ffb6e7e7b40b05d990cc157f79edf214880f846fd41add69ebc503ec48",
            "kubecfg.sh -c rails-controller.json update replicationControllers/railscontroller CIRCLE_SHA1=<sha>",
            "kubecfg.sh rollingupdate railscontroller CIRCLE_SHA1=<sha>",
        ],
    );
    let _ = run;
}

#[test]
fn seed_layer_cache_survives_between_builds() {
    let (fixture, dir) = seed("layer-caching");
    let cache = crate::common::tmp().join(format!("yml2sh-layer-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let cache_arg = format!("--cache-dir={}", cache.display());
    let first = run("cache-1", &fixture, dir.as_deref(), &[&cache_arg], &[]);
    assert_eq!(first.out.status.code(), Some(0), "{}", first.text());
    // `docker save … > ~/docker/image.tar` wrote the (empty, stand-in) tar; it is now cached.
    assert!(
        cache.join("home/docker/image.tar").exists(),
        "{}",
        first.text()
    );
    assert!(!tool_calls(&first)
        .iter()
        .any(|c| c.starts_with("docker load")));
    let second = run("cache-2", &fixture, dir.as_deref(), &[&cache_arg], &[]);
    assert_eq!(second.out.status.code(), Some(0), "{}", second.text());
    assert_eq!(
        tool_calls(&second)[0],
        format!(
            "docker load -i {}/docker/image.tar CIRCLE_SHA1=<sha>",
            "<home>"
        ),
        "the second build restores ~/docker before dependencies: {}",
        second.text()
    );
    // A directory that already exists locally wins over the cached copy.
    let third = run_with_home(
        "cache-3",
        &fixture,
        dir.as_deref(),
        &[&cache_arg],
        &[],
        &["docker/own.txt"],
    );
    assert!(
        !tool_calls(&third)
            .iter()
            .any(|c| c.starts_with("docker load")),
        "{}",
        third.text()
    );
    assert!(third.home.join("docker/own.txt").exists());
}

#[test]
fn seed_docker_exec_workaround_becomes_docker_exec() {
    check_seed(
        "docker-exec",
        &[
            "docker run -d --name app myimage sleep 600 CIRCLE_SHA1=<sha>",
            "docker exec app bash -c ls CIRCLE_SHA1=<sha>",
        ],
    );
}

#[test]
fn seed_tests_in_a_container() {
    check_seed(
        "test-in-container",
        &["docker run myimage bundle exec rake test CIRCLE_SHA1=<sha>"],
    );
}

#[test]
fn services_start_wait_export_and_are_removed() {
    let run = run("services", "exec/services.yml", None, &[], &[]);
    let text = run.text();
    assert_eq!(
        run.out.status.code(),
        Some(1),
        "the failing test fails the build: {text}"
    );
    let calls = tool_calls(&run);
    let pos = |prefix: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no call starting with {prefix:?} in {calls:#?}"))
    };
    let run_pg = pos("docker run -d --name yml2sh-acme-widget-1-postgresql -p 127.0.0.1:5432:5432 -e POSTGRES_USER=ubuntu -e POSTGRES_DB=circle_test -e POSTGRES_HOST_AUTH_METHOD=trust postgres:9.5");
    let ready_pg = pos("docker exec yml2sh-acme-widget-1-postgresql sh -c pg_isready");
    let init_pg = pos("docker exec yml2sh-acme-widget-1-postgresql sh -c psql");
    let run_redis =
        pos("docker run -d --name yml2sh-acme-widget-1-redis -p 127.0.0.1:6379:6379 redis:2.8");
    let removed = pos("docker rm -f yml2sh-acme-widget-1-postgresql");
    assert!(
        run_pg < ready_pg && ready_pg < init_pg && init_pg < run_redis,
        "{calls:#?}"
    );
    // The removal before the start (a leftover from a killed build) and the one at the end.
    let last_rm = calls
        .iter()
        .rposition(|c| c.starts_with("docker rm -f yml2sh-acme-widget-1-postgresql"))
        .unwrap();
    assert!(removed < run_pg && last_rm > run_redis, "{calls:#?}");
    assert!(
        calls
            .iter()
            .rev()
            .take(2)
            .any(|c| c.starts_with("docker rm -f yml2sh-acme-widget-1-redis")),
        "{calls:#?}"
    );
    let trace = std::fs::read_to_string(run.repo.join("trace")).unwrap();
    assert_eq!(
        trace,
        "PGHOST=127.0.0.1 PGUSER=ubuntu PGDATABASE=circle_test\n"
    );
}

#[test]
fn services_are_removed_on_interrupt() {
    let (script, repo, home) =
        common::script_in_scratch("docker-interrupt", "exec/services-slow.yml");
    let base = repo.parent().unwrap().to_path_buf();
    let bin = common::stand_ins(&base, &["docker"]);
    let record = base.join("record");
    let mut child = Command::new("bash")
        .arg(&script)
        .current_dir(&repo)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("YML2SH_RECORD", &record)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the long test command runs, then interrupt the build as Ctrl-C would.
    for _ in 0..100 {
        if repo.join("started").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        repo.join("started").exists(),
        "the slow command never started"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let calls = std::fs::read_to_string(&record).unwrap();
    assert!(
        calls
            .trim_end()
            .ends_with("docker rm -f yml2sh-acme-widget-1-redis"),
        "{calls}"
    );
    assert!(!repo.join("finished").exists());
    let _ = home;
}

#[test]
fn services_host_mode_starts_nothing_but_exports() {
    let run = run(
        "services-host",
        "exec/services.yml",
        None,
        &["--services=host"],
        &[],
    );
    assert!(
        !run.calls.iter().any(|c| c.starts_with("docker run")),
        "{:#?}",
        run.calls
    );
    let trace = std::fs::read_to_string(run.repo.join("trace")).unwrap();
    assert_eq!(
        trace,
        "PGHOST=127.0.0.1 PGUSER=ubuntu PGDATABASE=circle_test\n"
    );
}

#[test]
fn only_test_still_starts_the_services_it_needs() {
    let run = run(
        "only-test",
        "exec/services.yml",
        None,
        &["--only=test"],
        &[],
    );
    let text = run.text();
    assert_eq!(run.out.status.code(), Some(1), "{text}");
    assert!(
        run.calls
            .iter()
            .any(|c| c.starts_with("docker run -d --name"))
            && run.calls.iter().any(|c| c.contains("redis:2.8")),
        "{:#?}",
        run.calls
    );
    // The test phase's commands see the services' variables, as in a whole build.
    let trace = std::fs::read_to_string(run.repo.join("trace")).unwrap();
    assert_eq!(
        trace,
        "PGHOST=127.0.0.1 PGUSER=ubuntu PGDATABASE=circle_test\n"
    );
    assert!(
        text.contains("==> machine (setup only: --only test)")
            && text.contains("(--only test: the commands of machine, checkout, dependencies, database, compile, deployment, teardown do not run;"),
        "{text}"
    );
}

#[test]
fn no_docker_daemon_is_a_clear_error() {
    let run = run(
        "no-daemon",
        "seed/registry.yml",
        None,
        &[],
        &[("YML2SH_FAIL_DOCKER", "1")],
    );
    assert_eq!(run.out.status.code(), Some(2));
    let text = run.text();
    assert!(
        text.contains("needs a Docker daemon") && text.contains("docker info"),
        "{text}"
    );
    assert_eq!(
        run.calls.len(),
        1,
        "nothing runs after the failed check: {:#?}",
        run.calls
    );
    let _ = run.home;
}

#[test]
fn seed_project_docker_hello_google() {
    check_seed(
        "project-docker-hello-google",
        &[
            "sudo /opt/google-cloud-sdk/bin/gcloud --quiet components update CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/gcloud --quiet components update kubectl CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/gcloud auth activate-service-account --key-file <home>/account-auth.json CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/gcloud config set project circle-ctl-test CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/gcloud --quiet config set container/cluster docker-hello-google-cluster CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/gcloud config set compute/zone us-central1-f CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/gcloud --quiet container clusters get-credentials docker-hello-google-cluster CIRCLE_SHA1=<sha>",
            "docker build -t us.gcr.io/circle-ctl-test/hello:<sha> . CIRCLE_SHA1=<sha>",
            "docker tag us.gcr.io/circle-ctl-test/hello:<sha> us.gcr.io/circle-ctl-test/hello:latest CIRCLE_SHA1=<sha>",
            "docker run -d -p 3000:3000 -e SECRET_KEY_BASE=abcd1234 us.gcr.io/circle-ctl-test/hello:<sha> CIRCLE_SHA1=<sha>",
            "sleep 10 CIRCLE_SHA1=<sha>",
            "curl --retry 10 --retry-delay 5 -v http://localhost:3000 CIRCLE_SHA1=<sha>",
            "docker push us.gcr.io/circle-ctl-test/hello:<sha> CIRCLE_SHA1=<sha>",
            "sudo /opt/google-cloud-sdk/bin/kubectl set image deployment/hello hello=us.gcr.io/circle-ctl-test/hello:<sha> CIRCLE_SHA1=<sha>",
        ],
    );
}

#[test]
fn seed_project_docker_elasticsearch() {
    check_seed(
        "project-docker-elasticsearch",
        &[
            "docker info CIRCLE_SHA1=<sha>",
            "docker build -t circleci/elasticsearch . CIRCLE_SHA1=<sha>",
            "docker save circleci/elasticsearch CIRCLE_SHA1=<sha>",
            "docker run -d -p 9200:9200 circleci/elasticsearch CIRCLE_SHA1=<sha>",
            "sleep 10 CIRCLE_SHA1=<sha>",
            "curl --retry 10 --retry-delay 5 -v http://localhost:9200 CIRCLE_SHA1=<sha>",
            "docker login -u ci --password-stdin CIRCLE_SHA1=<sha> stdin=$'s3cret\\n'",
            "docker push circleci/elasticsearch CIRCLE_SHA1=<sha>",
        ],
    );
}

#[test]
fn seed_basic_usage_and_docker0() {
    check_seed("basic-usage", &["docker info CIRCLE_SHA1=<sha>"]);
    // The docker0 example: postgresql starts as a container (also published on the bridge
    // gateway when docker can name it), the test reaches it through host-gateway.
    let (fixture, dir) = seed("docker0");
    let run = run("docker0", &fixture, dir.as_deref(), &[], &[]);
    assert_eq!(run.out.status.code(), Some(0), "{}", run.text());
    let calls = tool_calls(&run);
    let expected_prefixes = [
        "docker network inspect bridge --format",
        "docker rm -f yml2sh-acme-widget-1-postgresql",
        "docker run -d --name yml2sh-acme-widget-1-postgresql -p 127.0.0.1:5432:5432",
        "docker exec yml2sh-acme-widget-1-postgresql sh -c pg_isready",
        "docker exec yml2sh-acme-widget-1-postgresql sh -c psql",
        "sudo bash -c echo",
        "sudo bash -c echo",
        "sudo /etc/init.d/postgresql restart",
        "docker run --add-host db:host-gateway web bundle exec rspec",
        "docker rm -f yml2sh-acme-widget-1-postgresql",
    ];
    assert_eq!(calls.len(), expected_prefixes.len(), "{calls:#?}");
    for (call, prefix) in calls.iter().zip(expected_prefixes) {
        assert!(
            call.starts_with(prefix),
            "{call:?} should start with {prefix:?}"
        );
    }
}

#[test]
fn services_are_waited_for_until_ready() {
    let (script, repo, home) = common::script_in_scratch("docker-wait", "exec/services-slow.yml");
    let base = repo.parent().unwrap().to_path_buf();
    std::fs::write(repo.join("started"), "").unwrap();
    // A docker whose readiness probe fails twice before the service answers.
    let bin = base.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let docker = bin.join("docker");
    std::fs::write(
        &docker,
        "#!/bin/bash\necho \"$*\" >> \"$RECORD\"\nif [ \"$1\" = exec ] && [[ $* == *redis-cli* ]]; then\n  n=$(grep -c redis-cli \"$RECORD\")\n  [ \"$n\" -ge 3 ]\nfi\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The slow test command would take 30 s: this build only needs to get past the service.
    let out = Command::new("bash")
        .arg(&script)
        .args(["--only", "machine"])
        .current_dir(&repo)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("RECORD", base.join("record"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("redis ready after 2s"), "{text}");
    let record = std::fs::read_to_string(base.join("record")).unwrap();
    assert_eq!(record.matches("redis-cli").count(), 3, "{record}");
    assert!(
        record
            .trim_end()
            .ends_with("rm -f yml2sh-acme-widget-1-redis"),
        "{record}"
    );
}

#[test]
fn make_removes_services_on_ctrl_c() {
    use std::os::unix::process::CommandExt;
    let (repo, home) = common::scratch_repo("docker-make-interrupt", None);
    let base = repo.parent().unwrap().to_path_buf();
    let source = common::read_source(&common::fixture("exec/services-slow.yml"));
    let text = yml2sh::compile(&source, &common::options(Target::Make))
        .unwrap()
        .text;
    std::fs::write(base.join("Makefile"), text).unwrap();
    let bin = common::stand_ins(&base, &["docker"]);
    let record = base.join("record");
    // Ctrl-C signals the terminal's foreground process group: make and everything it runs.
    let mut child = Command::new("make")
        .arg("-f")
        .arg(base.join("Makefile"))
        .current_dir(&repo)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("YML2SH_RECORD", &record)
        .env_remove("MAKEFLAGS")
        .stdout(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if repo.join("started").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        repo.join("started").exists(),
        "the slow command never started"
    );
    Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    // The clean-up may finish just after make itself.
    let mut calls = String::new();
    for _ in 0..50 {
        calls = std::fs::read_to_string(&record).unwrap_or_default();
        if calls
            .trim_end()
            .ends_with("docker rm -f yml2sh-acme-widget-1-redis")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        calls
            .trim_end()
            .ends_with("docker rm -f yml2sh-acme-widget-1-redis"),
        "{calls}"
    );
    assert!(!repo.join("finished").exists());
}

#[test]
fn a_taken_port_names_services_host() {
    let run = run(
        "taken-port",
        "exec/services.yml",
        None,
        &[],
        &[("YML2SH_DOCKER_TAKEN_PORTS", "6379")],
    );
    let text = run.text();
    assert_eq!(run.out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("port 6379 on 127.0.0.1 is already in use (another build's redis, or one running here): stop it, or pass --services=host")
            && text.contains("service redis (port 6379 is already in use; --services=host uses what runs there)"),
        "{text}"
    );
    // A failed setup stops the build: the test commands do not run.
    assert!(!run.repo.join("trace").exists());
}

/// Three builds of one project at once, two through build.sh and one through the Makefile,
/// sharing one home: distinct build numbers (under the lock), one container each, and a cache
/// that holds one build's whole copy, never a mix, with nothing left beside it.
#[test]
fn builds_at_once_do_not_collide() {
    let base = crate::common::tmp().join(format!("yml2sh-concurrent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let home = base.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let bin = common::stand_ins(&base, &["docker"]);
    let record = base.join("record");
    let source = common::read_source(&common::fixture("exec/concurrent.yml"));
    let mut children = vec![];
    for (i, target) in [Target::Bash, Target::Make, Target::Bash]
        .into_iter()
        .enumerate()
    {
        let (repo, _) = common::scratch_repo(&format!("concurrent-{i}"), None);
        let text = yml2sh::compile(&source, &common::options(target))
            .unwrap()
            .text;
        let file = base.join(format!("build-{i}"));
        std::fs::write(&file, text).unwrap();
        let mut cmd = if target == Target::Make {
            let mut c = Command::new("make");
            c.arg("-f").arg(&file);
            c
        } else {
            let mut c = Command::new("bash");
            c.arg(&file);
            c
        };
        cmd.current_dir(&repo)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("NO_COLOR", "1")
            .env("TRACE", base.join("trace"))
            .env("YML2SH_RECORD", &record);
        common::scrub_env(&mut cmd);
        children.push(cmd.output_async());
    }
    for child in children {
        let out = child.join().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut builds: Vec<String> = std::fs::read_to_string(base.join("trace"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    builds.sort();
    assert_eq!(builds, ["build 1", "build 2", "build 3"]);
    let calls = std::fs::read_to_string(&record).unwrap();
    let mut names: Vec<&str> = calls
        .lines()
        .filter_map(|l| l.strip_prefix("docker run -d --name "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "yml2sh-acme-widget-1-redis",
            "yml2sh-acme-widget-2-redis",
            "yml2sh-acme-widget-3-redis"
        ]
    );
    let cache = home.join(".cache/yml2sh/acme/widget/dependencies/build");
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["vendor"], "nothing left beside the cache");
    let files: std::collections::BTreeSet<String> = (1..=8)
        .map(|i| std::fs::read_to_string(cache.join(format!("vendor/file-{i}"))).unwrap())
        .collect();
    assert_eq!(files.len(), 1, "one build's copy, not a mix: {files:?}");
}

/// `Command::output` on a thread, so several builds run at once.
trait OutputAsync {
    fn output_async(&mut self) -> std::thread::JoinHandle<Output>;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> std::thread::JoinHandle<Output> {
        let child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::spawn(move || child.wait_with_output().unwrap())
    }
}
