//! Connecting: the URL (a secret) parsed as libpq's, the server-side statement timeout, TLS by
//! rustls (the web's roots, plus `ca_file` for a private CA) whenever `sslmode` asks for it, and
//! the pool. Errors read as an operator needs them: what failed and PostgreSQL's own words,
//! never the URL's credentials.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::PostgresConfig;
use crate::store::StoreError;

/// A pool of connections to `config`'s database, not yet connected, and where the database is
/// (for messages).
pub(crate) fn pool(config: &PostgresConfig) -> Result<(Pool, String), StoreError> {
    let open = |target: &str, reason: String| StoreError::Open {
        path: target.to_string(),
        reason,
    };
    let mut pg: tokio_postgres::Config = config.url.expose().parse().map_err(|e| {
        open(
            "store.url",
            format!("not a PostgreSQL connection URL or keyword string: {e}"),
        )
    })?;
    let target = describe_target(&pg);
    pg.application_name("campanile");
    pg.connect_timeout(config.connect_timeout);
    pg.options(format!(
        "-c statement_timeout={}",
        config.statement_timeout.as_millis()
    ));
    let tls = MakeRustlsConnect::new(tls_config(config).map_err(|e| open(&target, e))?);
    let manager = Manager::from_config(
        pg,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(config.pool_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .create_timeout(Some(config.connect_timeout))
        .wait_timeout(Some(
            config
                .connect_timeout
                .saturating_add(Duration::from_secs(5)),
        ))
        .build()
        .map_err(|e| open(&target, format!("cannot build the connection pool: {e}")))?;
    Ok((pool, target))
}

/// `postgresql://host:port/dbname`, without user or password.
fn describe_target(pg: &tokio_postgres::Config) -> String {
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let db = pg.get_dbname().or(pg.get_user()).unwrap_or("postgres");
    format!("postgresql://{host}:{port}/{db}")
}

fn tls_config(config: &PostgresConfig) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("store.ca_file {}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("store.ca_file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("store.ca_file {}: {e}", path.display()))?;
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// A client error in PostgreSQL's words: the server's message and SQLSTATE, or what failed on
/// the way to it.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

pub(crate) fn describe_pool(e: &PoolError) -> String {
    match e {
        PoolError::Backend(e) => describe(e),
        PoolError::Timeout(_) => "timed out waiting for a database connection".to_string(),
        other => other.to_string(),
    }
}
