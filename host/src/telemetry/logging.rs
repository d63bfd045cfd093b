//! Log set-up: one global tracing subscriber writing to stderr, as human-readable lines (colour
//! only on a terminal) or as one JSON object per line. Levels come from a `RUST_LOG`-style
//! filter, e.g. `RUST_LOG=info,campanile::notify=debug`; the default is `info`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the current span and its parents.
    Json,
}

/// The level filter used when `RUST_LOG` is unset or invalid.
const DEFAULT_FILTER: &str = "info";

/// Installs the global subscriber. An invalid `RUST_LOG` is reported (as a warning in the log
/// itself) and replaced by the default rather than silently ignored.
pub fn init_logging(format: LogFormat) {
    let (filter, problem) = filter_from(std::env::var("RUST_LOG").ok());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// The filter for `RUST_LOG`'s value, and what was wrong with it if it could not be used.
fn filter_from(value: Option<String>) -> (EnvFilter, Option<String>) {
    let default = || EnvFilter::new(DEFAULT_FILTER);
    match value.as_deref().map(str::trim) {
        None | Some("") => (default(), None),
        Some(directives) => match EnvFilter::builder().parse(directives) {
            Ok(filter) => (filter, None),
            Err(e) => (
                default(),
                Some(format!(
                    "ignoring RUST_LOG={directives:?} ({e}); logging at {DEFAULT_FILTER}"
                )),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_empty_means_info() {
        for value in [None, Some(String::new()), Some("  ".into())] {
            let (filter, problem) = filter_from(value);
            assert_eq!(filter.to_string(), "info");
            assert!(problem.is_none());
        }
    }

    #[test]
    fn valid_directives_are_used() {
        let (filter, problem) = filter_from(Some("warn,campanile::notify=debug".into()));
        assert!(problem.is_none());
        let shown = filter.to_string();
        assert!(shown.contains("campanile::notify=debug"), "{shown}");
    }

    #[test]
    fn invalid_directives_are_reported() {
        let (filter, problem) = filter_from(Some("campanile=loud".into()));
        assert_eq!(filter.to_string(), "info");
        let problem = problem.expect("an invalid filter is reported");
        assert!(problem.contains("RUST_LOG"), "{problem}");
    }
}
