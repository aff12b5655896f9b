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
    fn rates_have_two_decimals_and_no_exponent() {
        assert_eq!(rate_text(240.0), "240");
        assert_eq!(rate_text(1.0 / 3.0), "0.33");
        assert_eq!(plural(1, "key"), "1 key");
        assert_eq!(plural(2, "key"), "2 keys");
    }
}
