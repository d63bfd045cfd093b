//! `[store]`: the backend (the embedded file, or PostgreSQL with its connection), the
//! durability and the plugin compile cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::check::{Ctx, Section};
use crate::config::raw::RawStore;
use crate::config::{Durability, PostgresConfig, StoreBackend, StoreConfig};

/// Connections to PostgreSQL when `pool_size` is not given.
const DEFAULT_POOL_SIZE: usize = 8;

pub(super) fn compile_store(cx: &mut Ctx, raw: RawStore, base: &Path) -> StoreConfig {
    let flush_interval = cx.duration(
        "store.flush_interval",
        raw.flush_interval.as_deref(),
        Duration::from_secs(1),
    );
    let durability = match raw.durability.as_deref().unwrap_or("immediate") {
        "immediate" => Durability::Immediate,
        "deferred" => Durability::Deferred { flush_interval },
        "off" => Durability::Off,
        other => {
            cx.err(
                "store.durability",
                format!(
                    "unknown durability {other:?}: expected \"immediate\", \"deferred\" or \"off\""
                ),
            );
            Durability::Immediate
        }
    };
    // Like Alertmanager's --storage.path: relative to the working directory, not to the
    // config file (which often lives somewhere read-only such as /etc).
    let path = PathBuf::from(raw.path.as_deref().unwrap_or("data/campanile.redb"));
    let backend = match raw.backend.as_deref().unwrap_or("redb") {
        "redb" => {
            embedded_only(cx, &raw);
            StoreBackend::Redb
        }
        "postgres" => {
            if durability == Durability::Off {
                cx.err(
                    "store.durability",
                    "\"off\" keeps nothing, which a database cannot do: with backend = \"postgres\" \
                     use \"immediate\" or \"deferred\"",
                );
            }
            postgres(cx, raw, base).map_or(StoreBackend::Redb, StoreBackend::Postgres)
        }
        other => {
            cx.err(
                "store.backend",
                format!("unknown backend {other:?}: expected \"redb\" or \"postgres\""),
            );
            StoreBackend::Redb
        }
    };
    StoreConfig {
        backend,
        path,
        durability,
    }
}

/// The PostgreSQL keys are refused beside the embedded store, rather than ignored: an operator
/// who set a URL and forgot `backend` would otherwise run on a local file unknowingly.
fn embedded_only(cx: &mut Ctx, raw: &RawStore) {
    let given = [
        ("url", raw.url.is_some()),
        ("url_file", raw.url_file.is_some()),
        ("url_env", raw.url_env.is_some()),
        ("pool_size", raw.pool_size.is_some()),
        ("statement_timeout", raw.statement_timeout.is_some()),
        ("connect_timeout", raw.connect_timeout.is_some()),
        ("ca_file", raw.ca_file.is_some()),
    ];
    for (key, _) in given.iter().filter(|(_, set)| *set) {
        cx.err(
            format!("store.{key}"),
            "only for backend = \"postgres\" (the store is the embedded file at store.path)",
        );
    }
}

fn postgres(cx: &mut Ctx, raw: RawStore, base: &Path) -> Option<PostgresConfig> {
    let mut section = Section {
        cx,
        key: "store".to_string(),
        base,
    };
    let url = section.secret("url", raw.url, raw.url_file, raw.url_env);
    let statement_timeout = section.duration(
        "statement_timeout",
        raw.statement_timeout.as_deref(),
        Duration::from_secs(5),
    );
    let connect_timeout = section.duration(
        "connect_timeout",
        raw.connect_timeout.as_deref(),
        Duration::from_secs(5),
    );
    let pool_size = raw.pool_size.unwrap_or(DEFAULT_POOL_SIZE);
    if !(1..=1024).contains(&pool_size) {
        section.err("pool_size", "must be between 1 and 1024");
    }
    if let Err(e) = url.as_ref()?.expose().parse::<tokio_postgres::Config>() {
        // The message names the URL's part at fault, never its value (it may hold a password).
        section.err(
            "url",
            format!("not a PostgreSQL connection URL or keyword string: {e}"),
        );
    }
    Some(PostgresConfig {
        url: url?,
        pool_size,
        statement_timeout,
        connect_timeout,
        ca_file: raw.ca_file.map(|f| base.join(f)),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::{Config, Durability, StoreBackend};

    const ROUTE: &str = "[route]\nreceiver = \"r\"\n[[receivers]]\nname = \"r\"\ntype = \"log\"\n";

    fn parse(store: &str) -> Result<Config, Vec<String>> {
        Config::parse(
            &format!("[store]\n{store}\n{ROUTE}"),
            "test.toml",
            Path::new("."),
        )
        .map_err(|e| e.0.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn the_embedded_store_is_the_default() {
        let store = parse("").expect("valid").store;
        assert_eq!(store.backend, StoreBackend::Redb);
        assert_eq!(store.durability, Durability::Immediate);
    }

    #[test]
    fn postgres_takes_its_url_as_a_secret_with_production_defaults() {
        std::env::set_var("CAMPANILE_TEST_PG_URL", "postgresql://u:pw@db:5432/alerts");
        let store = parse("backend = \"postgres\"\nurl_env = \"CAMPANILE_TEST_PG_URL\"")
            .expect("valid")
            .store;
        let StoreBackend::Postgres(pg) = store.backend else {
            panic!("not postgres: {:?}", store.backend);
        };
        assert_eq!(pg.url.expose(), "postgresql://u:pw@db:5432/alerts");
        assert_eq!(pg.pool_size, 8);
        assert_eq!(pg.statement_timeout, Duration::from_secs(5));
        assert_eq!(pg.connect_timeout, Duration::from_secs(5));
        assert!(
            !format!("{pg:?}").contains("pw"),
            "the URL never prints: {pg:?}"
        );
    }

    #[test]
    fn mistakes_are_errors_naming_file_and_key_never_the_url() {
        let errs = parse(
            "backend = \"postgres\"\nurl = \"postgresql://u:hunter2@db/x?sslmode=sometimes\"\npool_size = 0\ndurability = \"off\"",
        )
        .unwrap_err();
        let all = errs.join("\n");
        assert!(all.contains("test.toml: store.url:"), "{all}");
        assert!(all.contains("test.toml: store.pool_size:"), "{all}");
        assert!(all.contains("test.toml: store.durability:"), "{all}");
        assert!(!all.contains("hunter2"), "{all}");

        let errs = parse("backend = \"postgres\"").unwrap_err().join("\n");
        assert!(errs.contains("store.url: missing"), "{errs}");

        let errs = parse("url = \"postgresql://db/x\"").unwrap_err().join("\n");
        assert!(
            errs.contains("store.url: only for backend = \"postgres\""),
            "a URL beside the embedded store is a mistake, not ignored: {errs}"
        );

        let errs = parse("backend = \"sqlite\"").unwrap_err().join("\n");
        assert!(errs.contains("store.backend: unknown backend"), "{errs}");
    }
}
