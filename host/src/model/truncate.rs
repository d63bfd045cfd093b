//! Keeping texts within limits: those each receiver's API documents, and the host's own (a
//! plugin's error message). Truncation is visible (it ends in `…`),
//! always at a character boundary, and never fails: an over-long alert is shortened, not lost.

/// What a cut text ends with.
pub const MARK: char = '…';

/// `text` cut to at most `max` characters (Unicode scalar values, as Slack, PagerDuty and
/// Opsgenie count), ending in `…` when cut.
pub fn chars(text: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let keep: String = text.chars().take(max - 1).collect();
            let mut out = keep.trim_end().to_string();
            out.push(MARK);
            out
        }
    }
}

/// `text` cut to at most `max` bytes of UTF-8, ending in `…` when cut.
pub fn bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let room = max.saturating_sub(MARK.len_utf8());
    let mut end = room.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].trim_end().to_string();
    if out.len() + MARK.len_utf8() <= max {
        out.push(MARK);
    }
    out
}

/// One line: newlines and other control characters become spaces (for subjects, headers and
/// one-line titles), then cut to `max` characters.
pub fn line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    chars(flat.trim(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_untouched() {
        assert_eq!(chars("abc", 3), "abc");
        assert_eq!(bytes("abc", 3), "abc");
    }

    #[test]
    fn cuts_are_marked_and_within_the_limit() {
        let cut = chars("abcdef", 4);
        assert_eq!(cut, "abc…");
        assert_eq!(cut.chars().count(), 4);
        let long = "é".repeat(100);
        let cut = bytes(&long, 11);
        assert!(cut.len() <= 11, "{cut:?}");
        assert!(cut.ends_with(MARK));
        let cut = chars(&long, 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with(MARK));
    }

    #[test]
    fn lines_lose_newlines() {
        assert_eq!(line("a\nb\r\nc ", 10), "a b  c");
        assert_eq!(line("x".repeat(200).as_str(), 130).chars().count(), 130);
    }
}
