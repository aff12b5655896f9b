//! Text every layer shows: cleaned for the engines, counted words, numbers without
//! exponents. Pure and dependency-free, so rules, readers and renderers share it.

/// Text safe for every engine: no `|` (the perfdata separator), no control characters
/// (a newline would start a new long-output line).
pub fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Text from an untrusted source (a bucket, etcd) as outputs show it: cleaned, and cut to
/// `max` characters with `…`, so a hostile value cannot fill an output line.
pub fn shown(text: &str, max: usize) -> String {
    let cleaned = clean_text(text);
    match cleaned.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &cleaned[..cut]),
        None => cleaned,
    }
}

/// A URL with any `user:password@` removed from its authority: credentials written into
/// an endpoint never reach an output.
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// [`without_userinfo`] for every URL inside a text (an error message naming one).
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The scheme is the run of letters before `://`.
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |p| p + 1);
        out.push_str(&rest[..start]);
        let end = rest[i + 3..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')')
            .map_or(rest.len(), |p| i + 3 + p);
        out.push_str(&without_userinfo(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `1 key`, `2 keys`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A rate as every output shows it: two decimals.
pub fn two_decimals(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A rate with at most two decimals, never an exponent: `240`, `12.5`, `0.33`.
pub fn rate_text(rate: f64) -> String {
    format_number(two_decimals(rate))
}

/// Formats a number the way perfdata and range strings need it: plain
/// decimal, never an exponent, integers without `.0`, the shortest digits that
/// read back to the same `f64`, and `-0` printed as `0`.
///
/// Meant for finite input. So that output stays parseable even on a caller
/// bug, NaN prints as `0` and ±infinity as ±`f64::MAX` (never `inf`/`NaN`).
pub fn format_number(v: f64) -> String {
    if v == 0.0 || v.is_nan() {
        return "0".to_string();
    }
    let v = if v.is_infinite() {
        f64::MAX.copysign(v)
    } else {
        v
    };
    // Rust's `Display` for f64 prints the shortest round-tripping digits and
    // expands them without an exponent, which is exactly what we want.
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_removes_pipes_and_newlines() {
        assert_eq!(clean_text("a|b\nc\td"), "a/b c d");
        assert_eq!(clean_text("ünï"), "ünï");
    }

    #[test]
    fn untrusted_text_is_cut_and_urls_lose_their_credentials() {
        assert_eq!(shown("abc|def", 4), "abc/…");
        assert_eq!(shown("short", 120), "short");
        assert_eq!(
            without_userinfo("http://KEY:SECRET@host:9000/p?x=1"),
            "http://host:9000/p?x=1"
        );
        assert_eq!(without_userinfo("http://host/a@b"), "http://host/a@b");
        assert_eq!(without_userinfo("no url"), "no url");
        assert_eq!(
            redact_urls("GET http://K:S@h:1/x failed (see https://u@h2/)"),
            "GET http://h:1/x failed (see https://h2/)"
        );
    }

    #[test]
    fn rates_have_two_decimals_and_no_exponent() {
        assert_eq!(rate_text(240.0), "240");
        assert_eq!(rate_text(1.0 / 3.0), "0.33");
        assert_eq!(plural(1, "key"), "1 key");
        assert_eq!(plural(2, "key"), "2 keys");
    }
}
