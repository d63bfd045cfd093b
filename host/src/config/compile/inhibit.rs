//! `[[inhibit_rules]]`: source and target matchers, `equal` label names.

use crate::config::check::Ctx;
use crate::config::raw::RawInhibitRule;
use crate::config::InhibitRuleConfig;
use crate::model::matcher::{is_valid_label_name, Matcher};

pub(super) fn compile_inhibit_rules(
    cx: &mut Ctx,
    raw: &[RawInhibitRule],
) -> Vec<InhibitRuleConfig> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let key = format!("inhibit_rules[{i}]");
        let mut matchers = |field: &str, list: &[String]| -> Vec<Matcher> {
            list.iter()
                .enumerate()
                .filter_map(|(j, m)| match Matcher::parse(m) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        cx.err(format!("{key}.{field}[{j}]"), e.to_string());
                        None
                    }
                })
                .collect()
        };
        let source_matchers = matchers("source_matchers", &r.source_matchers);
        let target_matchers = matchers("target_matchers", &r.target_matchers);
        if r.source_matchers.is_empty() {
            cx.err(
                format!("{key}.source_matchers"),
                "needs at least one matcher (an empty list would make every alert a source)",
            );
        }
        if r.target_matchers.is_empty() {
            cx.err(
                format!("{key}.target_matchers"),
                "needs at least one matcher (an empty list would make every alert a target)",
            );
        }
        for l in &r.equal {
            if !is_valid_label_name(l) {
                cx.err(
                    format!("{key}.equal"),
                    format!("{l:?} is not a valid label name"),
                );
            }
        }
        out.push(InhibitRuleConfig {
            source_matchers,
            target_matchers,
            equal: r.equal.clone(),
        });
    }
    out
}
