//! What every check of the file shares: [`Ctx`], which collects errors with their keys while
//! values are converted, and [`Section`], one table of the file (a `[[receivers]]` entry,
//! `[acks]`, `[store]`) with its errors filed under `KEY.FIELD` and the values several tables
//! share — durations, secrets (from the TOML, a file or the environment) and URLs. Errors name
//! the key, never a secret's value. A leaf of `config`: the checks of each section import it.

use std::path::Path;
use std::time::Duration;

use super::raw::RawSize;
use super::{ConfigError, Secret};

/// Collects errors while values are converted; each conversion returns a fallback so that
/// compilation carries on and reports everything at once.
pub(in crate::config) struct Ctx<'a> {
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Ctx<'a> {
    pub(in crate::config) fn new(file: &'a str) -> Self {
        Ctx {
            file,
            errors: Vec::new(),
        }
    }

    pub(in crate::config) fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    pub(in crate::config) fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    pub(in crate::config) fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            key: key.into(),
            message: message.into(),
        });
    }

    pub(in crate::config) fn duration(
        &mut self,
        key: &str,
        v: Option<&str>,
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(text) => {
                match humantime::parse_duration(text) {
                    Ok(d) => d,
                    Err(e) => {
                        self.err(key, format!("invalid duration {text:?}: {e} (examples: \"30s\", \"5m\", \"1h30m\")"));
                        default
                    }
                }
            }
        }
    }

    pub(in crate::config) fn size(
        &mut self,
        key: &str,
        v: Option<&RawSize>,
        default: usize,
    ) -> usize {
        match v {
            None => default,
            Some(RawSize::Bytes(n)) => *n as usize,
            Some(RawSize::Text(text)) => match text.parse::<bytesize::ByteSize>() {
                Ok(b) => b.as_u64() as usize,
                Err(e) => {
                    self.err(
                        key,
                        format!("invalid size {text:?}: {e} (examples: \"4MiB\", \"512KiB\")"),
                    );
                    default
                }
            },
        }
    }
}

/// A table being compiled: errors are filed under `KEY.FIELD`, e.g. `receivers[i].url`.
pub(in crate::config) struct Section<'c, 'f> {
    pub(in crate::config) cx: &'c mut Ctx<'f>,
    /// Where the table is, e.g. `receivers[2]` or `acks`.
    pub(in crate::config) key: String,
    /// What relative paths (`*_file`) are relative to: the config file's directory.
    pub(in crate::config) base: &'c Path,
}

impl Section<'_, '_> {
    pub(in crate::config) fn err(&mut self, field: &str, message: impl Into<String>) {
        self.cx.err(format!("{}.{field}", self.key), message);
    }

    pub(in crate::config) fn duration(
        &mut self,
        field: &str,
        v: Option<&str>,
        default: Duration,
    ) -> Duration {
        let key = format!("{}.{field}", self.key);
        self.cx.duration(&key, v, default)
    }

    /// A secret given as `FIELD = "value"`, `FIELD_file = "/path"` (relative to the config
    /// file; one trailing newline dropped) or `FIELD_env = "NAME"`: exactly one of them.
    pub(in crate::config) fn secret(
        &mut self,
        field: &str,
        value: Option<String>,
        file: Option<String>,
        env: Option<String>,
    ) -> Option<Secret<String>> {
        let given = [value.is_some(), file.is_some(), env.is_some()];
        let choices = format!("`{field}`, `{field}_file` or `{field}_env`");
        match given.iter().filter(|g| **g).count() {
            0 => {
                self.err(field, format!("missing: set one of {choices}"));
                return None;
            }
            1 => {}
            _ => {
                self.err(field, format!("set only one of {choices}"));
                return None;
            }
        }
        let (key, text) = if let Some(v) = value {
            (field.to_string(), v)
        } else if let Some(path) = file {
            let key = format!("{field}_file");
            (key.clone(), self.secret_file(&key, &path)?)
        } else {
            let key = format!("{field}_env");
            (
                key.clone(),
                self.secret_env(&key, &env.unwrap_or_default())?,
            )
        };
        if text.trim().is_empty() {
            self.err(&key, "is empty");
            return None;
        }
        Some(Secret::new(text))
    }

    /// `FIELD_file`: the file's text, one trailing newline (`\n` or `\r\n`) dropped.
    fn secret_file(&mut self, key: &str, path: &str) -> Option<String> {
        let path = self.base.join(path);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let text = text.strip_suffix('\n').unwrap_or(&text);
                Some(text.strip_suffix('\r').unwrap_or(text).to_string())
            }
            Err(e) => {
                self.err(key, format!("cannot read {}: {e}", path.display()));
                None
            }
        }
    }

    /// `FIELD_env`: the environment variable's value.
    fn secret_env(&mut self, key: &str, name: &str) -> Option<String> {
        match std::env::var(name) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotPresent) => {
                self.err(key, format!("environment variable {name:?} is not set"));
                None
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                self.err(
                    key,
                    format!("environment variable {name:?} is not valid UTF-8"),
                );
                None
            }
        }
    }

    /// A webhook URL (`url`, `url_file` or `url_env`), which holds a token: errors say what
    /// is wrong, never what it is.
    pub(in crate::config) fn secret_url(
        &mut self,
        value: Option<String>,
        file: Option<String>,
        env: Option<String>,
    ) -> Option<Secret<reqwest::Url>> {
        let text = self.secret("url", value, file, env)?;
        match reqwest::Url::parse(text.expose().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(Secret::new(u)),
            Ok(_) => {
                self.err("url", "must be an http:// or https:// URL");
                None
            }
            Err(e) => {
                self.err("url", format!("invalid URL: {e}"));
                None
            }
        }
    }

    /// An endpoint URL that is not secret (PagerDuty's, Opsgenie's).
    pub(in crate::config) fn url(&mut self, field: &str, text: &str) -> Option<reqwest::Url> {
        match reqwest::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            Ok(_) => {
                self.err(field, format!("{text:?} is not an http:// or https:// URL"));
                None
            }
            Err(e) => {
                self.err(field, format!("invalid URL {text:?}: {e}"));
                None
            }
        }
    }
}
