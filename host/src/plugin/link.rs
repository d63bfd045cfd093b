//! What to tell the author of a component that does not link: which import is wrong and how
//! to rebuild, for the language the plugin may be written in (Rust, Python, JavaScript).

use super::CONTRACT;

/// Advice for a link failure whose wasmtime message is `reason`, starting with a space (or
/// empty when the message names no import).
pub(super) fn advice(reason: &str) -> String {
    let Some(import) = missing_import(reason) else {
        return String::new();
    };
    if let Some(rest) = import.strip_prefix("campanile:router/") {
        let built_for = rest.split_once('@').map_or("another version", |(_, v)| v);
        format!(
            ". It was built for campanile:router {built_for}: rebuild it against this \
             campanile's wit/router.wit ({CONTRACT}), with campanile-sdk 0.3 for Rust, \
             `campanile plugin build` for Python, or the JavaScript SDK's `npm run build`"
        )
    } else if import.starts_with("wasi:") {
        let interface = import.split('@').next().unwrap_or(import);
        format!(
            ". It imports {import}, a capability campanile never grants a plugin (no network, \
             no files beyond what WASI's standard library needs, no environment): build it \
             without {interface}. With componentize-js, disable the features that import it \
             (`-d http -d fetch-event`, as the JavaScript SDK's `npm run build` does); in \
             Rust or Python, drop the library that uses it"
        )
    } else {
        format!(
            ". It imports {import}, which campanile does not provide: a routing plugin may \
             import only campanile:router/host ({CONTRACT}) and WASI"
        )
    }
}

/// The import wasmtime could not satisfy: the first name in backquotes after "import".
fn missing_import(reason: &str) -> Option<&str> {
    let at = reason.find("import")?;
    let rest = &reason[at..];
    let start = rest.find('`')? + 1;
    let len = rest[start..].find('`')?;
    Some(&rest[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(name: &str) -> String {
        format!(
            "component imports instance `{name}`, but a matching implementation was not found \
             in the linker"
        )
    }

    #[test]
    fn an_older_contract_is_told_to_rebuild_in_any_language() {
        let advice = advice(&missing("campanile:router/host@0.2.0"));
        assert!(
            advice.contains("built for campanile:router 0.2.0"),
            "{advice}"
        );
        assert!(advice.contains("campanile-sdk 0.3 for Rust"), "{advice}");
        assert!(
            advice.contains("`campanile plugin build` for Python"),
            "{advice}"
        );
        assert!(advice.contains("npm run build"), "{advice}");
    }

    #[test]
    fn a_capability_campanile_refuses_is_named_with_the_flags_that_drop_it() {
        let advice = advice(&missing("wasi:http/types@0.2.3"));
        assert!(advice.contains("imports wasi:http/types@0.2.3"), "{advice}");
        assert!(advice.contains("without wasi:http/types"), "{advice}");
        assert!(advice.contains("-d http -d fetch-event"), "{advice}");
        assert!(!advice.contains("campanile-sdk 0.3"), "{advice}");
    }

    #[test]
    fn anything_else_is_named() {
        let advice = advice(&missing("acme:ldap/lookup"));
        assert!(advice.contains("imports acme:ldap/lookup"), "{advice}");
        assert_eq!(super::advice("type mismatch somewhere"), "");
    }
}
