//! `range`: UTF-8 (lossy) threshold ranges (docs/output-contract.md#threshold-ranges).

use check_tidb_log_backup::range::Range;

/// Threshold ranges: no panic; accepted ranges are sane and round-trip through Display;
/// rejections name the text on one line.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let parsed = Range::parse(text);
    assert_eq!(text.parse::<Range>(), parsed, "FromStr differs from parse");
    match parsed {
        Ok(r) => {
            assert!(
                !r.start.is_nan() && !r.end.is_nan(),
                "NaN bound from {text:?}"
            );
            assert!(r.start <= r.end, "start > end from {text:?}");
            assert!(
                r.end != f64::NEG_INFINITY && r.start != f64::INFINITY,
                "{text:?}"
            );
            let shown = r.to_string();
            assert!(
                !shown.contains(['e', 'E', 'i', 'n', 'N', ' ']),
                "{shown:?} is not canonical (from {text:?})"
            );
            assert_eq!(Range::parse(&shown), Ok(r), "{text:?} shown as {shown:?}");
            assert_eq!(
                Range::parse(&shown).unwrap().to_string(),
                shown,
                "Display is not a fixed point"
            );
            for v in [f64::NEG_INFINITY, -1.0, 0.0, 1.0, r.start, r.end, f64::NAN] {
                let _ = r.alerts(v);
            }
            // The ends themselves never alert for an outside range, always for @.
            if r.start.is_finite() {
                assert_eq!(r.alerts(r.start), r.inside, "start of {text:?}");
            }
            if r.end.is_finite() {
                assert_eq!(r.alerts(r.end), r.inside, "end of {text:?}");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("{text:?}")),
                "{msg:?} does not name {text:?}"
            );
            assert!(!msg.contains('\n'), "multi-line error {msg:?}");
        }
    }
}
