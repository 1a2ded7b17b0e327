//! Lower stage pass: `machine.services` names → [`Container`]s that stand in for CircleCI 1.0's
//! pre-installed daemons (spec §8), with the same ports, users and databases.
//!
//! Decisions the back-ends rely on:
//! - Images are the official tags closest to the trusty image's versions (spec §12); where trusty
//!   had none, precise's. Two names have only community images (`riak`, `beanstalkd`).
//! - Readiness runs the image's own probe through `docker exec`, never a host-side port check:
//!   with Docker's userland proxy a published port accepts connections as soon as the container
//!   starts, long before the daemon inside listens, so `/dev/tcp/127.0.0.1/PORT` would lie. It
//!   also works with a stand-in `docker` in tests, and the same probe is GitHub's `--health-cmd`.
//! - No container command or arguments: GitHub `services:` cannot set them, so everything goes
//!   through image variables and an `init` run inside the container once it is ready.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Container, Ir};
use memchr::memmem::Finder;
use std::sync::LazyLock;

/// A service name CircleCI 1.0 knew, and how a container mimics it.
#[derive(Debug)]
pub(crate) struct Known {
    pub name: &'static str,
    /// `None`: no image stands in; `advice` says what to do instead.
    pub image: Option<&'static str>,
    pub ports: &'static [u16],
    pub env: &'static [(&'static str, &'static str)],
    pub client_env: &'static [(&'static str, &'static str)],
    /// See [`Container::health`].
    pub health: &'static str,
    pub ready_timeout: u64,
    pub init: Option<&'static str>,
    pub advice: &'static str,
}

/// Trusty ran PostgreSQL 9.5 with roles `ubuntu` and `root`, databases `ubuntu` and
/// `circle_test`, hstore and trust auth (spec §8.1). The image makes `ubuntu`/`circle_test`; the
/// rest is made here. `CREATE DATABASE` refuses to run in a transaction, and psql before 9.6 runs
/// only the last `-c`, hence one psql per statement.
const POSTGRES_INIT: &str =
    "psql -v ON_ERROR_STOP=1 -U ubuntu -d circle_test -c 'CREATE ROLE root SUPERUSER LOGIN' \
&& psql -v ON_ERROR_STOP=1 -U ubuntu -d template1 -c 'CREATE EXTENSION IF NOT EXISTS hstore' \
&& psql -v ON_ERROR_STOP=1 -U ubuntu -d circle_test -c 'CREATE EXTENSION IF NOT EXISTS hstore' \
&& psql -v ON_ERROR_STOP=1 -U ubuntu -d circle_test -c 'CREATE DATABASE ubuntu'";

/// The official mysql image creates a user only when given a password too, so the passwordless
/// `ubuntu` (and `circle`) users of 1.0 are made here, for any host: clients reach the container
/// through Docker's proxy, not from `localhost`. 1.0's `circle_test` was utf8/utf8_unicode_ci.
const MYSQL_INIT: &str = "mysql -uroot -e \"CREATE USER IF NOT EXISTS 'ubuntu'@'%', 'circle'@'%'; \
GRANT ALL PRIVILEGES ON *.* TO 'ubuntu'@'%', 'circle'@'%' WITH GRANT OPTION; \
ALTER DATABASE circle_test CHARACTER SET utf8 COLLATE utf8_unicode_ci; FLUSH PRIVILEGES\"";

/// Every `machine.services` name yml2sh knows, in spec §8.1 order. `docker` is not here: it is
/// the host's daemon (`Ir::docker`), not a container.
pub(crate) const SERVICES: &[Known] = &[
    Known {
        name: "postgresql",
        image: Some("postgres:9.5"),
        ports: &[5432],
        env: &[
            ("POSTGRES_USER", "ubuntu"),
            ("POSTGRES_DB", "circle_test"),
            ("POSTGRES_HOST_AUTH_METHOD", "trust"),
        ],
        // 1.0's clients used the Unix socket; a container is reached over TCP only.
        client_env: &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", "5432"),
            ("PGUSER", "ubuntu"),
            ("PGDATABASE", "circle_test"),
        ],
        // Over TCP: the image's first-run server listens on the socket only, so this does
        // not pass before initialisation is over.
        health: "pg_isready -h 127.0.0.1 -p 5432 -U ubuntu -d circle_test",
        ready_timeout: 60,
        init: Some(POSTGRES_INIT),
        advice: "",
    },
    Known {
        name: "mysql",
        image: Some("mysql:5.7"),
        ports: &[3306],
        env: &[
            ("MYSQL_ALLOW_EMPTY_PASSWORD", "yes"),
            ("MYSQL_DATABASE", "circle_test"),
        ],
        // MYSQL_HOST and MYSQL_TCP_PORT are read by the mysql client tools; `127.0.0.1`, not
        // `localhost`, which would mean the socket.
        client_env: &[("MYSQL_HOST", "127.0.0.1"), ("MYSQL_TCP_PORT", "3306")],
        // The first-run server is started with --skip-networking, so TCP means the real one.
        health: "mysqladmin ping -h 127.0.0.1 -P 3306 --silent",
        ready_timeout: 90,
        init: Some(MYSQL_INIT),
        advice: "",
    },
    Known {
        name: "mongodb",
        image: Some("mongo:3.0"),
        ports: &[27017],
        env: &[],
        client_env: &[],
        health: "mongo --quiet --host 127.0.0.1 --eval \"db.runCommand({ping: 1}).ok\"",
        ready_timeout: 60,
        init: None,
        advice: "",
    },
    Known {
        name: "redis",
        image: Some("redis:2.8"),
        ports: &[6379],
        env: &[],
        client_env: &[],
        health: "redis-cli -h 127.0.0.1 ping | grep -q PONG",
        ready_timeout: 30,
        init: None,
        advice: "",
    },
    Known {
        name: "memcached",
        image: Some("memcached:1.4"),
        ports: &[11211],
        env: &[],
        client_env: &[],
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/11211\" 2>/dev/null || nc -z 127.0.0.1 11211",
        ready_timeout: 30,
        init: None,
        advice: "",
    },
    Known {
        name: "rabbitmq-server",
        // Precise ran 3.4; 3.5 is the oldest official tag.
        image: Some("rabbitmq:3.5"),
        ports: &[5672],
        env: &[],
        client_env: &[],
        // The AMQP listener opens once the broker has booted.
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/5672\" 2>/dev/null || nc -z 127.0.0.1 5672",
        ready_timeout: 90,
        init: None,
        advice: "",
    },
    Known {
        name: "elasticsearch",
        image: Some("elasticsearch:1.7"),
        ports: &[9200, 9300],
        env: &[],
        client_env: &[],
        health: "curl -fsS http://127.0.0.1:9200/ >/dev/null",
        ready_timeout: 120,
        init: None,
        advice: "",
    },
    Known {
        name: "cassandra",
        image: Some("cassandra:3.4"),
        ports: &[9042, 9160],
        // 1.0 limited the heap; the image's default sizes it from the host's memory.
        env: &[("MAX_HEAP_SIZE", "512M"), ("HEAP_NEWSIZE", "128M")],
        client_env: &[],
        // The CQL port opens last, once the node can serve queries.
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/9042\" 2>/dev/null || nc -z 127.0.0.1 9042",
        ready_timeout: 180,
        init: None,
        advice: "",
    },
    Known {
        name: "riak",
        // No official image; Basho's own, the version nearest trusty's 2.1.3.
        image: Some("basho/riak-kv:ubuntu-2.2.3"),
        ports: &[8087, 8098],
        env: &[],
        client_env: &[],
        health: "riak-admin test >/dev/null",
        ready_timeout: 180,
        init: None,
        advice: "",
    },
    Known {
        name: "beanstalkd",
        // No official image; the most used community one.
        image: Some("schickling/beanstalkd:latest"),
        ports: &[11300],
        env: &[],
        client_env: &[],
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/11300\" 2>/dev/null || nc -z 127.0.0.1 11300",
        ready_timeout: 30,
        init: None,
        advice: "",
    },
    Known {
        name: "neo4j",
        image: Some("neo4j:2.3"),
        ports: &[7474],
        env: &[("NEO4J_AUTH", "none")],
        client_env: &[],
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/7474\" 2>/dev/null || nc -z 127.0.0.1 7474",
        ready_timeout: 120,
        init: None,
        advice: "",
    },
    Known {
        name: "couchbase-server",
        image: None,
        ports: &[8091, 11210],
        env: &[],
        client_env: &[],
        health: "",
        ready_timeout: 0,
        init: None,
        advice: "Couchbase needs a cluster set up before use (precise only on 1.0); start `couchbase` yourself in `machine.pre` and run `couchbase-cli cluster-init`",
    },
    Known {
        name: "sphinxsearch",
        image: None,
        ports: &[9312, 9306],
        env: &[],
        client_env: &[],
        health: "",
        ready_timeout: 0,
        init: None,
        advice: "Sphinx reads the project's own configuration; install and start `searchd` yourself in `machine.pre`",
    },
    Known {
        name: "couchdb",
        image: Some("couchdb:1.6"),
        ports: &[5984],
        env: &[],
        client_env: &[],
        health: "curl -fsS http://127.0.0.1:5984/ >/dev/null",
        ready_timeout: 60,
        init: None,
        advice: "",
    },
    Known {
        name: "zookeeper",
        // Precise ran 3.3.5; 3.4 is the oldest official tag that still gets a shell.
        image: Some("zookeeper:3.4"),
        ports: &[2181],
        env: &[],
        client_env: &[],
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/2181\" 2>/dev/null || nc -z 127.0.0.1 2181",
        ready_timeout: 60,
        init: None,
        advice: "",
    },
    Known {
        name: "solr",
        // 1.0 shipped Solr 4.3.1; the official image starts at 5.
        image: Some("solr:5.5"),
        ports: &[8983],
        env: &[],
        client_env: &[],
        health: "bash -c \"exec 3<>/dev/tcp/127.0.0.1/8983\" 2>/dev/null || nc -z 127.0.0.1 8983",
        ready_timeout: 120,
        init: None,
        advice: "",
    },
];

/// Common misspellings and other images' names → the 1.0 name, for `did you mean`.
const ALIASES: &[(&str, &str)] = &[
    ("postgres", "postgresql"),
    ("postgis", "postgresql"),
    ("pg", "postgresql"),
    ("mariadb", "mysql"),
    ("mongo", "mongodb"),
    ("rabbitmq", "rabbitmq-server"),
    ("rabbit", "rabbitmq-server"),
    ("redis-server", "redis"),
    ("elastic", "elasticsearch"),
    ("elasticsearch-server", "elasticsearch"),
    ("couchbase", "couchbase-server"),
    ("sphinx", "sphinxsearch"),
    ("zk", "zookeeper"),
];

pub(crate) fn lookup(name: &str) -> Option<&'static Known> {
    SERVICES.iter().find(|k| k.name == name)
}

/// The container for a known name, or `None` when no image stands in.
pub(crate) fn container(k: &Known) -> Option<Container> {
    let image = k.image?;
    let name = format!("yml2sh-{}", k.name);
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    Some(Container {
        image: image.to_string(),
        ports: k.ports.to_vec(),
        env: pairs(k.env),
        ready: format!("docker exec {name} sh -c '{}'", k.health),
        client_env: pairs(k.client_env),
        name,
        health: k.health.to_string(),
        ready_timeout: k.ready_timeout,
        init: k.init.map(str::to_string),
    })
}

/// The databases 1.0's image ran without being listed (spec §8.1: on by default on trusty, and
/// redis on precise), with what in a config clearly uses each: client commands (whole words),
/// connection URLs, and `localhost:PORT` / `127.0.0.1:PORT`. A bare port number or `circle_test`
/// names no single database, so it starts nothing.
const DEFAULTS: &[(&str, &[&str], &[&str])] = &[
    (
        "postgresql",
        &[
            "psql",
            "createdb",
            "dropdb",
            "createuser",
            "pg_restore",
            "pg_dump",
        ],
        &[
            "postgres://",
            "postgresql://",
            "adapter: postgresql",
            "localhost:5432",
            "127.0.0.1:5432",
        ],
    ),
    (
        "mysql",
        &["mysql", "mysqladmin", "mysqldump", "mysqlimport"],
        &[
            "mysql://",
            "mysql2://",
            "adapter: mysql2",
            "localhost:3306",
            "127.0.0.1:3306",
        ],
    ),
    (
        "mongodb",
        &["mongo", "mongoimport", "mongorestore", "mongodump"],
        &["mongodb://", "localhost:27017", "127.0.0.1:27017"],
    ),
    (
        "redis",
        &["redis-cli"],
        &["redis://", "localhost:6379", "127.0.0.1:6379"],
    ),
];

/// A text of the config that may show a database in use, with where it is written. The place
/// is put in words only when a database is found there.
struct Text<'a> {
    text: &'a str,
    span: Option<crate::source::Span>,
    place: Place<'a>,
    /// The first word of each command in it, as [`firsts`] finds them.
    firsts: Vec<&'a str>,
}

enum Place<'a> {
    Environment(&'a str),
    Command(&'a crate::ir::Command),
    CommandEnvironment(&'a crate::ir::Command, &'a str),
}

impl Place<'_> {
    fn describe(&self) -> String {
        let command = |c: &crate::ir::Command| match &c.inferred_from {
            Some(from) => format!("the {} command inferred from {from}", c.phase),
            None => format!("{}.{}, line {}", c.phase, c.section.name(), c.line),
        };
        match self {
            Place::Environment(name) => format!("machine.environment {name}"),
            Place::Command(c) => command(c),
            Place::CommandEnvironment(c, name) => format!("{} ({name})", command(c)),
        }
    }
}

/// What in `text` shows it uses `service`: a client word or a connection string.
fn uses(text: &Text<'_>, words: &[&str], needles: &[Finder<'static>]) -> Option<String> {
    // Every connection string holds a `:`; most texts hold none.
    if memchr::memchr(b':', text.text.as_bytes()).is_some() {
        if let Some(n) = needles
            .iter()
            .find(|n| n.find(text.text.as_bytes()).is_some())
        {
            return Some(format!("`{}`", String::from_utf8_lossy(n.needle())));
        }
    }
    text.firsts
        .iter()
        .find(|first| words.contains(first))
        .map(|first| format!("`{first}`"))
}

/// The words that start the commands of `text`: after `;`, `&&`, `|`, `(`, `` ` ``, a newline,
/// and past `sudo`, `time`, `exec` and `NAME=value` words (`mysql:5.7` as an image is no use),
/// the last path component (`/usr/bin/psql` is `psql`).
fn firsts(text: &str) -> Vec<&str> {
    text.split([';', '&', '|', '(', ')', '`', '\n'])
        .filter_map(|part| {
            let mut ws = part.split_whitespace().peekable();
            let mut first = None;
            while let Some(w) = ws.next() {
                match w {
                    "sudo" => {
                        // sudo's own options, and the argument of those that take one.
                        while let Some(o) = ws.peek().copied().filter(|o| o.starts_with('-')) {
                            ws.next();
                            if matches!(o, "-u" | "-g" | "-C") {
                                ws.next();
                            }
                        }
                    }
                    "time" | "exec" | "then" | "do" | "else" | "!" => {}
                    w if w.contains('=') && !w.starts_with('=') && first.is_none() => {}
                    w => {
                        first = Some(w);
                        break;
                    }
                }
            }
            let first = first?;
            Some(first.rsplit('/').next().unwrap_or(first))
        })
        .collect()
}

/// Every program of [`DEFAULTS`]: a text holding none of them has no first word [`uses`] would
/// find, and is not split into commands.
static PROGRAMS: super::shell::Needles = super::shell::Needles::new(&PROGRAM_LIST);
const PROGRAM_LIST: [&str; program_count()] = programs();

/// How many programs [`DEFAULTS`] lists.
const fn program_count() -> usize {
    let mut n = 0;
    let mut d = 0;
    while d < DEFAULTS.len() {
        n += DEFAULTS[d].1.len();
        d += 1;
    }
    n
}

/// The programs of [`DEFAULTS`], in order.
const fn programs() -> [&'static str; program_count()] {
    let mut out = [""; program_count()];
    let (mut k, mut d) = (0, 0);
    while d < DEFAULTS.len() {
        let mut i = 0;
        while i < DEFAULTS[d].1.len() {
            out[k] = DEFAULTS[d].1[i];
            k += 1;
            i += 1;
        }
        d += 1;
    }
    out
}

/// Adds the default services the config uses and does not list (spec §8), each with a note.
fn defaults(ir: &mut Ir, diags: &mut Diagnostics) {
    let mut found: Vec<(&'static str, String, Option<crate::source::Span>)> = vec![];
    // Each text once, in the order a hit is reported from: the environment, then every command
    // and its own environment. An inferred command is written nowhere in the file: no location.
    let text = |text, span, place| Text {
        text,
        span,
        place,
        firsts: if PROGRAMS.found_in(text) {
            firsts(text)
        } else {
            vec![]
        },
    };
    let mut texts: Vec<Text<'_>> = ir
        .environment
        .iter()
        .map(|e| {
            text(
                e.value.as_str(),
                e.inferred_from.is_none().then_some(e.span),
                Place::Environment(&e.name),
            )
        })
        .collect();
    for c in ir.commands() {
        let span = c.inferred_from.is_none().then_some(c.span);
        texts.push(text(c.code.as_str(), span, Place::Command(c)));
        for e in &c.modifiers.environment {
            texts.push(text(
                e.value.as_str(),
                Some(e.span),
                Place::CommandEnvironment(c, &e.name),
            ));
        }
    }
    // Only a command holding a `:` can publish a port (a fast scan rules out the others).
    let with_colon: Vec<&str> = ir
        .commands()
        .map(|c| c.code.as_str())
        .filter(|t| t.contains(':'))
        .collect();
    // The connection strings' searchers, built once per process (`str::contains` sets one up
    // per call, for every text and every needle).
    static NEEDLES: LazyLock<Vec<Vec<Finder<'static>>>> = LazyLock::new(|| {
        DEFAULTS
            .iter()
            .map(|(_, _, needles)| needles.iter().map(Finder::new).collect())
            .collect()
    });
    for ((name, words, _), needles) in DEFAULTS.iter().zip(NEEDLES.iter()) {
        if ir.services.iter().any(|s| s.name == *name) {
            continue;
        }
        // The config runs its own (`docker run -p 5432:5432 postgres`): one is enough.
        let port = lookup(name).and_then(|k| k.ports.first().copied());
        if let Some(port) = port.filter(|_| !with_colon.is_empty()) {
            let published = format!("{port}:{port}");
            if with_colon.iter().any(|t| t.contains(&published)) {
                continue;
            }
        }
        let hit = texts
            .iter()
            .find_map(|t| uses(t, words, needles).map(|w| (t, w)));
        if let Some((t, what)) = hit {
            found.push((name, format!("{what} in {}", t.place.describe()), t.span));
        }
    }
    if found.is_empty() {
        return;
    }
    for (name, why, span) in found {
        diags.push(
            Diagnostic::note(
                Code::DefaultService,
                span,
                format!("starting `{name}`, which CircleCI 1.0 ran without being listed: the config uses it ({why})"),
            )
            .with_label(format!("uses {name}"))
            .with_help(format!("list `{name}` under `machine.services` to say so, or write `override` commands that need no database")),
        );
        ir.services.push(crate::ir::Service {
            name: name.to_string(),
            span: span.unwrap_or(crate::source::Span::new(0, 0)),
            line: 0,
            container: None,
            started_because: Some(why),
        });
    }
    // The services start where 1.0 started them, after the machine's built-ins.
    if let Some(machine) = ir
        .phases
        .iter_mut()
        .find(|p| p.kind == crate::ir::PhaseKind::Machine)
    {
        if !machine.steps.contains(&crate::ir::Step::StartServices) {
            let at = machine
                .steps
                .iter()
                .rposition(|s| !matches!(s, crate::ir::Step::Run(_)))
                .map_or(0, |i| i + 1);
            machine.steps.insert(at, crate::ir::Step::StartServices);
        }
    }
}

pub(crate) fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    defaults(ir, diags);
    // A name listed twice would start two containers under one name; 1.0 started it once.
    let mut seen = foldhash::HashSet::default();
    ir.services.retain(|s| seen.insert(s.name.clone()));
    for s in &mut ir.services {
        match lookup(&s.name) {
            Some(k) => {
                s.container = container(k);
                if s.container.is_none() {
                    diags.push(
                        Diagnostic::warning(
                            Code::UnknownService,
                            s.span,
                            format!("no container stands in for the `{}` service", s.name),
                        )
                        .with_label("not started")
                        .with_help(k.advice),
                    );
                }
            }
            None => {
                let help = match ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(&s.name)) {
                    Some((_, to)) => format!("did you mean `{to}`?"),
                    None => format!(
                        "start it yourself in `machine.pre` (e.g. `docker run -d -p PORT:PORT IMAGE`), or use one of: {}",
                        SERVICES
                            .iter()
                            .filter(|k| k.image.is_some())
                            .map(|k| format!("`{}`", k.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                diags.push(
                    Diagnostic::warning(
                        Code::UnknownService,
                        s.span,
                        format!(
                            "`{}` is not a CircleCI 1.0 service; yml2sh does not start it",
                            s.name
                        ),
                    )
                    .with_label("not started")
                    .with_help(help),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_those_of_the_defaults() {
        let defaults: Vec<&str> = DEFAULTS.iter().flat_map(|d| d.1.iter().copied()).collect();
        assert_eq!(PROGRAMS.words(), defaults);
    }

    #[test]
    fn names_and_ports_are_unique() {
        let mut names = std::collections::HashSet::new();
        let mut ports = std::collections::HashSet::new();
        for k in SERVICES {
            assert!(names.insert(k.name), "{} twice", k.name);
            assert_ne!(
                k.name, "docker",
                "docker is the host daemon, not a container"
            );
            for p in k.ports {
                assert!(ports.insert(*p), "port {p} twice");
            }
        }
    }

    #[test]
    fn every_entry_has_an_image_or_advice() {
        for k in SERVICES {
            match k.image {
                Some(image) => {
                    assert!(image.contains(':'), "{}: pin a tag", k.name);
                    assert!(!k.health.is_empty(), "{}: no health probe", k.name);
                    assert!(k.ready_timeout > 0, "{}: no timeout", k.name);
                    assert!(
                        k.advice.is_empty(),
                        "{}: advice is for image-less names",
                        k.name
                    );
                }
                None => assert!(!k.advice.is_empty(), "{}: say what to do", k.name),
            }
        }
    }

    /// The contract of `Container::health`: back-ends may put it in single quotes (sh) or, with
    /// `"` escaped, in double quotes (GitHub `--health-cmd`), without further escaping.
    #[test]
    fn health_probes_are_safe_in_quotes() {
        for k in SERVICES {
            for bad in ['\'', '$', '`', '\\', '\n'] {
                assert!(!k.health.contains(bad), "{}: health holds {bad:?}", k.name);
            }
        }
    }

    #[test]
    fn env_names_are_posix() {
        for k in SERVICES {
            for (name, _) in k.env.iter().chain(k.client_env) {
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                    "{}: {name}",
                    k.name
                );
            }
        }
    }

    #[test]
    fn postgresql_mimics_circleci() {
        let c = container(lookup("postgresql").unwrap()).unwrap();
        assert_eq!(c.image, "postgres:9.5");
        assert_eq!(c.ports, [5432]);
        assert_eq!(c.name, "yml2sh-postgresql");
        assert!(c.env.contains(&("POSTGRES_USER".into(), "ubuntu".into())));
        assert!(c
            .env
            .contains(&("POSTGRES_DB".into(), "circle_test".into())));
        assert!(c
            .env
            .contains(&("POSTGRES_HOST_AUTH_METHOD".into(), "trust".into())));
        assert!(c
            .client_env
            .contains(&("PGHOST".into(), "127.0.0.1".into())));
        assert!(c.client_env.contains(&("PGUSER".into(), "ubuntu".into())));
        assert_eq!(
            c.ready,
            "docker exec yml2sh-postgresql sh -c 'pg_isready -h 127.0.0.1 -p 5432 -U ubuntu -d circle_test'"
        );
    }

    #[test]
    fn mysql_gets_a_passwordless_ubuntu_user() {
        let c = container(lookup("mysql").unwrap()).unwrap();
        assert!(c
            .env
            .contains(&("MYSQL_ALLOW_EMPTY_PASSWORD".into(), "yes".into())));
        let init = c.init.unwrap();
        assert!(init.contains("CREATE USER IF NOT EXISTS 'ubuntu'@'%'"));
        assert!(init.contains("GRANT ALL PRIVILEGES ON *.* TO 'ubuntu'@'%'"));
    }

    #[test]
    fn neo4j_has_auth_off() {
        let c = container(lookup("neo4j").unwrap()).unwrap();
        assert_eq!(c.env, [("NEO4J_AUTH".to_string(), "none".to_string())]);
    }

    #[test]
    fn image_less_and_unknown_names() {
        assert!(container(lookup("couchbase-server").unwrap()).is_none());
        assert!(lookup("docker").is_none());
        assert!(lookup("postgres").is_none());
        for (alias, to) in ALIASES {
            assert!(lookup(alias).is_none(), "{alias} is a real name");
            assert!(lookup(to).is_some(), "{alias} points at unknown {to}");
        }
    }
}
