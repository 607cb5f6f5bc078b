//! Reversible escaping of text into the characters a NATS subject token or
//! header value may carry: every character outside the kept set becomes
//! `%XX` per UTF-8 byte (uppercase hex), and `%` itself is always escaped.

/// `text` with every character that `keep` refuses (and every `%`)
/// written as `%XX` per UTF-8 byte.
pub(crate) fn escape(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '%' && keep(c) {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// The text [`escape`] wrote; `None` when `escaped` holds a `%` not
/// followed by two hex digits, or bytes that are not UTF-8.
pub(crate) fn unescape(escaped: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(escaped.len());
    let mut rest = escaped.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = tail.get(..2)?;
            let hex = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refused_characters_and_percent_are_escaped() {
        let keep = |c: char| c.is_ascii_alphanumeric();
        assert_eq!(escape("a.b*c>d", keep), "a%2Eb%2Ac%3Ed");
        assert_eq!(escape("100%", |_| true), "100%25");
        assert_eq!(escape("é", keep), "%C3%A9");
        assert_eq!(unescape("a%2Eb"), Some("a.b".into()));
        assert_eq!(unescape("a%2"), None);
        assert_eq!(unescape("%ZZ"), None);
        assert_eq!(unescape("%FF"), None, "not UTF-8");
    }

    proptest! {
        #[test]
        fn escaping_round_trips(text in ".*") {
            let keep = |c: char| c.is_ascii_alphanumeric() || c == '-';
            let escaped = escape(&text, keep);
            prop_assert!(escaped.chars().all(|c| keep(c) || c == '%'));
            prop_assert_eq!(unescape(&escaped), Some(text));
        }
    }
}
