//! `[[plugins]]`: files, limits and each plugin's `config` table.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::config::check::Ctx;
use crate::config::raw::RawPlugin;
use crate::config::PluginConfig;

pub(super) fn compile_plugins(cx: &mut Ctx, raw: Vec<RawPlugin>, base: &Path) -> Vec<PluginConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let key = format!("plugins[{i}]");
        if p.name.is_empty() {
            cx.err(format!("{key}.name"), "must not be empty");
        } else if !seen.insert(p.name.clone()) {
            cx.err(
                format!("{key}.name"),
                format!("plugin {:?} is defined twice", p.name),
            );
        }
        let path = base.join(&p.path);
        if !path.is_file() {
            cx.err(
                format!("{key}.path"),
                format!(
                    "plugin file {} does not exist (build plugins with scripts/build-plugins.sh)",
                    path.display()
                ),
            );
        }
        let timeout = cx.duration(
            &format!("{key}.timeout"),
            p.timeout.as_deref(),
            Duration::from_millis(100),
        );
        if timeout.is_zero() {
            cx.err(format!("{key}.timeout"), "must be more than zero");
        }
        let memory_limit = cx.size(
            &format!("{key}.memory_limit"),
            p.memory_limit.as_ref(),
            16 << 20,
        );
        if memory_limit < 1 << 20 {
            cx.err(format!("{key}.memory_limit"), "must be at least 1MiB");
        }
        let max_output = cx.size(&format!("{key}.max_output"), p.max_output.as_ref(), 1 << 20);
        if max_output < 1024 {
            cx.err(format!("{key}.max_output"), "must be at least 1KiB");
        }
        let config: BTreeMap<String, String> = p
            .config
            .into_iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        out.push(PluginConfig {
            name: p.name,
            path,
            timeout,
            memory_limit,
            max_output,
            config,
        });
    }
    out
}
