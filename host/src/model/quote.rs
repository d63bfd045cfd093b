//! Go's `%q` (`strconv.Quote`), which Alertmanager uses to print label values and matcher
//! values in group keys and route keys. Those strings are identities — webhook consumers,
//! pager dedup keys and acknowledgements are keyed by them — so campanile writes them byte for
//! byte as Alertmanager does.

use std::fmt::{self, Write};

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Writes `s` quoted as Go's `strconv.Quote` does: `"` and `\` escaped with a backslash,
/// printable characters as they are, `\a \b \f \n \r \t \v` by name, other control characters
/// below U+0080 as `\xNN`, any other unprintable character as `\uNNNN` or `\UNNNNNNNN`
/// (lowercase hex).
pub fn write_go_quoted(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            _ if is_go_print(c) => out.write_char(c)?,
            '\u{7}' => out.write_str("\\a")?,
            '\u{8}' => out.write_str("\\b")?,
            '\u{c}' => out.write_str("\\f")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{b}' => out.write_str("\\v")?,
            _ if c < ' ' || c == '\u{7f}' => write!(out, "\\x{:02x}", c as u32)?,
            _ if (c as u32) < 0x10000 => write!(out, "\\u{:04x}", c as u32)?,
            _ => write!(out, "\\U{:08x}", c as u32)?,
        }
    }
    out.write_char('"')
}

/// `s` quoted as Go's `strconv.Quote` does (see [`write_go_quoted`]).
pub fn go_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a String cannot fail.
    let _ = write_go_quoted(&mut out, s);
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation and symbols, and the ASCII
/// space — not other spaces (U+00A0), format characters (U+00AD), controls or unassigned code
/// points. Categories come from `unicode-properties`; a character assigned after the Unicode
/// version of Alertmanager's Go (13.0 for Go 1.19) is printed here where Go escapes it.
pub fn is_go_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Mark
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_go_quotes() {
        // Each expected text is what Go 1.19's strconv.Quote returns for the input.
        let cases = [
            ("plain", r#""plain""#),
            ("", r#""""#),
            (r#"say "hi" \o/"#, r#""say \"hi\" \\o/""#),
            ("bell\u{7}", r#""bell\a""#),
            ("\u{8}\u{c}\n\r\t\u{b}", r#""\b\f\n\r\t\v""#),
            ("\u{1}\u{1f}\u{7f}", r#""\x01\x1f\x7f""#),
            ("soft\u{ad}hyphen", r#""soft\u00adhyphen""#),
            ("nb\u{a0}sp", r#""nb\u00a0sp""#),
            ("next\u{85}line", r#""next\u0085line""#),
            ("line\u{2028}sep", r#""line\u2028sep""#),
            ("zero\u{200b}width", r#""zero\u200bwidth""#),
            ("private\u{e000}", r#""private\ue000""#),
            ("plane16\u{10fffd}", r#""plane16\U0010fffd""#),
            // Printable: accents, combining marks, CJK, emoji, the replacement character.
            (
                "café e\u{301} 日本 🔥 \u{fffd}",
                "\"café e\u{301} 日本 🔥 \u{fffd}\"",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(go_quoted(input), want, "quoting {input:?}");
        }
    }
}
