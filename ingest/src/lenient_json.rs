//! Accepts the bare `NaN`, `Infinity` and `-Infinity` tokens that Python's `json` and
//! some firmware emit, by reading them as `null` so that the one bad value is refused
//! and the good values beside it are kept.

/// Returns the text with bare non-finite tokens replaced by `null`, or `None` when there
/// were none.
pub fn nulls_for_non_finite(text: &str) -> Option<String> {
    const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if let Some(tok) = TOKENS.iter().find(|t| text[i..].starts_with(**t)) {
            out.push_str(&text[copied..i]);
            out.push_str("null");
            i += tok.len();
            copied = i;
            changed = true;
            continue;
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::nulls_for_non_finite;

    #[test]
    fn replaces_bare_tokens_only() {
        let cases = [
            (r#"{"a":NaN}"#, Some(r#"{"a":null}"#)),
            (
                r#"{"a":-Infinity,"b":Infinity}"#,
                Some(r#"{"a":null,"b":null}"#),
            ),
            (r#"{"a":"NaN"}"#, None),
            (r#"{"a\"NaN":1}"#, None),
            (r#"{"a":1.5}"#, None),
        ];
        for (input, want) in cases {
            assert_eq!(nulls_for_non_finite(input).as_deref(), want, "{input}");
        }
    }
}
