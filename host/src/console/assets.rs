//! The console's files, embedded in the binary at build time: one table of name, content type
//! and bytes. The page (`index.html`) is served at `/`, every other file at `/console/<name>`;
//! the scripts are ES modules that import each other by those names.

use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

impl Asset {
    /// A strong validator: the file's FNV-1a hash, computed once per file.
    pub fn etag(&self) -> String {
        static TAGS: OnceLock<Vec<u64>> = OnceLock::new();
        let tags = TAGS.get_or_init(|| ASSETS.iter().map(|a| fnv1a(a.body)).collect());
        let i = ASSETS
            .iter()
            .position(|a| a.name == self.name)
            .expect("an asset of the table");
        format!("\"{:016x}\"", tags[i])
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    h.finish()
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! assets {
    ($(($name:literal, $type:expr)),* $(,)?) => {
        /// Every file of the console.
        pub static ASSETS: &[Asset] = &[
            $(Asset {
                name: $name,
                content_type: $type,
                body: include_bytes!(concat!("assets/", $name)),
            }),*
        ];
    };
}

assets![
    ("index.html", HTML),
    ("console.css", CSS),
    ("app.js", JS),
    ("api.js", JS),
    ("dom.js", JS),
    ("matchers.js", JS),
    ("metrics.js", JS),
    ("alerts.js", JS),
    ("group.js", JS),
    ("silences.js", JS),
    ("receivers.js", JS),
    ("status.js", JS),
    ("icon.svg", "image/svg+xml"),
];

/// The page served at `/`.
pub fn index() -> &'static Asset {
    find("index.html").expect("index.html is in the table")
}

/// The file named `name`.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_page_loads_only_files_of_the_table() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(ASSETS[..i].iter().all(|b| b.name != a.name), "{}", a.name);
        }
        let page = std::str::from_utf8(index().body).unwrap();
        for part in page.split("/console/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect();
            assert!(
                find(&name).is_some(),
                "index.html loads {name}, not in the table"
            );
        }
        // No inline script: the page's one script is a file.
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn every_import_between_scripts_names_a_file_of_the_table() {
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(a.body).unwrap();
            for part in text.split("from './").skip(1) {
                let name = part.split('\'').next().unwrap();
                assert!(find(name).is_some(), "{} imports {name}", a.name);
            }
        }
    }

    #[test]
    fn the_files_weigh_under_200_kb() {
        let total: usize = ASSETS.iter().map(|a| a.body.len()).sum();
        assert!(total < 200_000, "{total} bytes");
    }
}
