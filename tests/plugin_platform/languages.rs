//! The languages the example plugins are written in, and where each one's build is: the Rust
//! examples from `scripts/build-plugins.sh`, the Python and TypeScript ones from
//! `scripts/build-sdk-plugins.sh` (`py_` and `ts_` beside them). A behaviour test runs its one
//! table of cases against every language that has the example.

use std::fmt;
use std::path::PathBuf;

use crate::harness::plugin_path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    TypeScript,
}

impl Language {
    /// The component of the example `name` (`severity_router`, ...) in this language.
    pub fn example(self, name: &str) -> PathBuf {
        let prefix = match self {
            Language::Rust => "",
            Language::Python => "py_",
            Language::TypeScript => "ts_",
        };
        plugin_path(&format!("{prefix}{name}"))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
