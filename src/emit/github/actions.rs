//! GitHub back-end, the actions table: which actions (at their current major versions, which
//! actionlint checks) and service images the workflow uses, and how their inputs are written.

use crate::ir::Language;

use super::Kv;

pub(super) const CHECKOUT: &str = "actions/checkout@v6";
pub(super) const CACHE_RESTORE: &str = "actions/cache/restore@v5";
pub(super) const CACHE_SAVE: &str = "actions/cache/save@v5";
pub(super) const UPLOAD: &str = "actions/upload-artifact@v6";

/// The setup action for a language the languages pass found an install for: `uses` and `with`.
pub(super) fn setup(l: &Language) -> Option<(String, &'static str, Vec<Kv>)> {
    let v = l.install.as_deref()?;
    let (label, uses, key) = match l.name.as_str() {
        "node" => ("Node.js", "actions/setup-node@v6", "node-version"),
        "python" => ("Python", "actions/setup-python@v6", "python-version"),
        "ruby" => ("Ruby", "ruby/setup-ruby@v1", "ruby-version"),
        "go" => ("Go", "actions/setup-go@v6", "go-version"),
        "php" => ("PHP", "shivammathur/setup-php@v2", "php-version"),
        "ghc" => ("GHC", "haskell-actions/setup@v2", "ghc-version"),
        "java" => {
            // Temurin and Zulu are OpenJDK builds; Oracle's own JDK 7/8 is not downloadable.
            let distribution = if v == "7" { "zulu" } else { "temurin" };
            return Some((
                format!(
                    "Set up Java {v} ({distribution}, for machine.java {})",
                    l.version
                ),
                "actions/setup-java@v5",
                vec![
                    Kv::data("distribution", distribution),
                    Kv::data("java-version", v),
                ],
            ));
        }
        _ => return None,
    };
    let mut with = vec![Kv::data(key, v)];
    // 1.0 cached only `cache_directories` (and what inference cached): no cache of the action's
    // own, which pull requests could write and a deployment would read (zizmor: cache-poisoning).
    match l.name.as_str() {
        "node" => with.push(Kv::flag("package-manager-cache", false)),
        "go" => with.push(Kv::flag("cache", false)),
        _ => {}
    }
    Some((
        format!("Set up {label} {v} (machine.{})", l.name),
        uses,
        with,
    ))
}

/// Images whose 1.0 version no longer gets fixes, the maintained tag the workflow runs instead
/// (GitHub pulls every service image on every run), why, and the readiness probe where the new
/// image lacks the old one's client. Only successors that keep the clients' protocol and 1.0's
/// set-up (users, databases) are listed; others keep the 1.0 tag.
const MAINTAINED: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "postgres:9.5",
        "postgres:17",
        "PostgreSQL 9.5 reached end of life in 2021",
        None,
    ),
    (
        "mysql:5.7",
        "mysql:8.4",
        "MySQL 5.7 reached end of life in 2023",
        None,
    ),
    (
        "mongo:3.0",
        "mongo:7.0",
        "MongoDB 3.0 reached end of life in 2018",
        Some("mongosh --quiet --host 127.0.0.1 --eval \"db.runCommand({ping: 1}).ok\""),
    ),
    (
        "redis:2.8",
        "redis:7.4",
        "Redis 2.8 reached end of life in 2016",
        None,
    ),
    (
        "memcached:1.4",
        "memcached:1.6",
        "memcached 1.4 gets no releases",
        None,
    ),
    (
        "rabbitmq:3.5",
        "rabbitmq:4.1",
        "RabbitMQ 3.5 reached end of life in 2017",
        None,
    ),
    (
        "zookeeper:3.4",
        "zookeeper:3.9",
        "ZooKeeper 3.4 reached end of life in 2020",
        None,
    ),
    (
        "cassandra:3.4",
        "cassandra:4.1",
        "Cassandra 3.4 gets no releases",
        None,
    ),
];

/// The maintained image standing in for `image`, and why, when the version changes.
pub(super) fn maintained_image(image: &str) -> Option<(&'static str, &'static str)> {
    MAINTAINED
        .iter()
        .find(|(old, ..)| *old == image)
        .map(|(_, new, why, _)| (*new, *why))
}

/// Images that float (`:latest`): GitHub would pull whatever they are today, so the workflow
/// starts no such service (a warning says so).
pub(super) fn floating(image: &str) -> bool {
    image.ends_with(":latest")
}

/// The image the workflow's `services:` runs for `image`, and its readiness probe.
pub(super) fn service_image(image: &str, health: &str) -> (String, String) {
    match MAINTAINED.iter().find(|(old, ..)| *old == image) {
        Some((_, new, _, probe)) => (new.to_string(), probe.unwrap_or(health).to_string()),
        None => (image.to_string(), health.to_string()),
    }
}

/// A path as a literal `actions/cache` / `upload-artifact` pattern (`@actions/glob`): glob
/// characters and a leading `!` or `#` escaped with `\`, a leading `~/` kept (it means home).
pub(super) fn literal_path(path: &str) -> String {
    let mut out = String::new();
    let (home, rest) = match path.strip_prefix("~/") {
        Some(rest) => ("~/", rest),
        None => ("", path),
    };
    out.push_str(home);
    for (i, c) in rest.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\')
            || (i == 0 && home.is_empty() && matches!(c, '!' | '#'))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_literal() {
        assert_eq!(literal_path("~/.m2"), "~/.m2");
        assert_eq!(literal_path("node_modules"), "node_modules");
        assert_eq!(literal_path("!important"), "\\!important");
        assert_eq!(literal_path("#x"), "\\#x");
        assert_eq!(literal_path("a/*/b?[c]"), "a/\\*/b\\?\\[c\\]");
    }

    #[test]
    fn every_maintained_image_names_a_tag() {
        for (old, new, _, probe) in MAINTAINED {
            assert!(probe.is_none_or(|p| !p.contains(['\'', '$', '`', '\\'])));
            assert!(old.contains(':') && new.contains(':'), "{old} → {new}");
        }
    }
}
