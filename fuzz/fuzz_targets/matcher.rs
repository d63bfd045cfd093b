//! Matchers as written in config (`matchers`, inhibition rules) and API filters
//! (`?filter=…`), and as posted in silences (`name`, `value`, `isRegex`, `isEqual`): parsed or
//! compiled, then matched against labels.
//!
//! Input, one field per line: a matcher as text; a silence matcher's name, value and flags
//! (`r` for isRegex, `!` for not isEqual); then labels, `name=value` per line.
#![no_main]

use campanile::model::Labels;
use campanile::model::Matcher;
use campanile::silence::SilenceMatcher;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let matcher = lines.next().unwrap_or_default();
    let name = lines.next().unwrap_or_default();
    let value = lines.next().unwrap_or_default();
    let flags = lines.next().unwrap_or_default();
    let labels = Labels::from_pairs(lines.map(|l| l.split_once('=').unwrap_or((l, ""))));

    if let Ok(m) = Matcher::parse(matcher) {
        let _ = m.matches(&labels);
        let _ = m.matches(&Labels::default());
        assert!(
            m.to_string().starts_with(&m.name),
            "a matcher shows its name first"
        );
    }
    let (is_regex, is_equal) = (flags.contains('r'), !flags.contains('!'));
    if let Ok(m) = SilenceMatcher::new(name, value, is_regex, is_equal) {
        let _ = m.matches(&labels);
        assert_eq!((m.is_regex(), m.is_equal()), (is_regex, is_equal));
        assert_eq!((m.name(), m.value()), (name, value));
        let _ = m.to_string();
    }
});
