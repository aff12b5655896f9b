//! Differential test of `range::Range` against Perl's `Monitoring::Plugin::Range`
//! (Debian/Ubuntu package `libmonitoring-plugin-perl`), the reference
//! implementation of Monitoring Plugins threshold ranges.
//!
//! Thousands of range strings and values are generated deterministically and
//! run through ONE perl process; every verdict (INVALID / ALERT / OK) must
//! match. Every valid range must also round-trip through its canonical
//! `Display` form, and Perl must give the same verdicts for that form.
//!
//! Only inputs on which both sides are *meant* to agree are generated. Left out
//! on purpose (we are stricter than Perl, or Perl does not know the form):
//! - multi-dot numbers and dot-only numbers: Perl's `[-+]?[\d.]+` takes
//!   `1.2.3` as 1.2 and `..:5` as 0..5; we reject them;
//! - exponents that are not integers (`1e2.5`, Perl reads 100) and upper-case
//!   `E` (Perl rejects `1E2`, we accept it);
//! - exponents that overflow (`1e999`: Perl's Inf, our error);
//! - humantime durations (`10m`): Perl has no durations;
//! - whitespace inside a number (`1 0`) and non-ASCII whitespace: Perl's `\s`
//!   on byte strings only knows ASCII, we strip all Unicode whitespace.
//!   Spaces around tokens are generated (both sides strip them).

use check_tidb_log_backup::range::Range;
use std::fmt::Write as _;
use std::process::Command;

/// Reads `range<TAB>value` lines, prints one verdict per line.
const PERL_ORACLE: &str = r#"
use strict;
use warnings;
use Monitoring::Plugin::Range;
local $SIG{__WARN__} = sub {};  # parse_range_string carps on invalid input
open(my $fh, '<', $ARGV[0]) or die "cannot open $ARGV[0]: $!\n";
while (my $line = <$fh>) {
    chomp $line;
    my ($r, $v) = split /\t/, $line, 2;
    my $range = Monitoring::Plugin::Range->parse_range_string($r);
    print !defined($range) ? "INVALID\n" : $range->check_range($v) ? "ALERT\n" : "OK\n";
}
"#;

const INSTALL_HINT: &str = "install libmonitoring-plugin-perl (Perl Monitoring::Plugin::Range) \
                            to run this differential test";

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A plain number both Perl and Rust read as the same f64.
fn number(rng: &mut Rng) -> String {
    let sign = match rng.below(6) {
        0 => "-",
        1 => "+",
        2 => "-",
        _ => "",
    };
    let body = match rng.below(10) {
        0..=2 => rng.below(31).to_string(),
        3 => rng.below(100_000).to_string(),
        4 | 5 => format!("{}.{}", rng.below(100), rng.below(1000)),
        6 => format!(".{}", rng.below(100)),
        7 => format!("{}.", rng.below(50)),
        8 => {
            let mantissa = match rng.below(3) {
                0 => rng.below(20).to_string(),
                1 => format!("{}.{}", rng.below(10), rng.below(100)),
                _ => format!(".{}", 1 + rng.below(9)),
            };
            let exp_sign = rng.pick(&["", "+", "-"]);
            format!("{mantissa}e{exp_sign}{}", rng.below(5))
        }
        _ => rng
            .pick(&["0", "00", "007", "0.0", "10", "20", "1e1", "100", "9.99"])
            .to_string(),
    };
    format!("{sign}{body}")
}

/// Optional spaces around tokens; both sides strip all (ASCII) whitespace.
fn pad(rng: &mut Rng) -> &'static str {
    if rng.chance(8) {
        " "
    } else {
        ""
    }
}

/// A range string plus the bound texts it used (good test values).
fn range_string(rng: &mut Rng) -> (String, Vec<String>) {
    if rng.chance(4) {
        // Malformed shapes both implementations reject.
        let bad = rng.pick(&[
            "", " ", "~", "@", ":", "@:", "@~", "10:20:30", "10:~", "~:~", "~10", "~~:10", "@@10",
            "10@", "::10", "10::", "inf", "-inf", "~:inf", "NaN", "nan:", "0x10", "1_000", "abc",
            "10;20", "1,5", "e2", "1e", "1e+", "+", "-", "--5", "-~:5",
        ]);
        return (bad.to_string(), Vec::new());
    }
    let mut bounds = Vec::new();
    let mut text = String::new();
    text.push_str(pad(rng));
    if rng.chance(30) {
        text.push('@');
        text.push_str(pad(rng));
    }
    let end = number(rng);
    match rng.below(7) {
        0 | 1 => text.push_str(&end),
        2 => write!(text, ":{}{end}", pad(rng)).unwrap(),
        3 => {
            let start = number(rng);
            write!(text, "{start}{}:", pad(rng)).unwrap();
            bounds.push(start);
        }
        4 | 5 => {
            let start = number(rng);
            write!(text, "{start}{}:{}{end}", pad(rng), pad(rng)).unwrap();
            bounds.push(start);
        }
        _ => {
            if rng.chance(15) {
                text.push_str("~:");
            } else {
                write!(text, "~{}:{}{end}", pad(rng), pad(rng)).unwrap();
            }
        }
    }
    if text.ends_with(&end) {
        bounds.push(end);
    }
    text.push_str(pad(rng));
    (text, bounds)
}

/// Values: the exact bound texts, numbers just beside them, and random numbers.
fn values(rng: &mut Rng, bounds: &[String]) -> Vec<String> {
    let mut out: Vec<String> = bounds.to_vec();
    for b in bounds {
        let v: f64 = b.parse().expect("generated bound is a number");
        let delta = *[1.0, 0.5, 0.01].get(rng.below(3) as usize).unwrap();
        out.push(fmt(v - delta));
        out.push(fmt(v + delta));
    }
    for _ in 0..3 {
        out.push(number(rng).trim_start_matches('+').to_string());
    }
    out
}

fn fmt(v: f64) -> String {
    check_tidb_log_backup::text::format_number(v)
}

struct Case {
    range: String,
    value: String,
}

fn run_perl(cases: &[Case]) -> Vec<String> {
    let mut input = String::new();
    for c in cases {
        assert!(!c.range.contains(['\t', '\n']) && !c.value.contains(['\t', '\n']));
        writeln!(input, "{}\t{}", c.range, c.value).unwrap();
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("range_oracle_{}.tsv", std::process::id()));
    std::fs::write(&path, input).expect("write oracle input");
    let output = Command::new("perl")
        .arg("-e")
        .arg(PERL_ORACLE)
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.unwrap_or_else(|e| panic!("cannot run perl ({e}); {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "perl oracle failed ({}): {}; {INSTALL_HINT}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let verdicts: Vec<String> = String::from_utf8(output.stdout)
        .expect("perl output is ASCII")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(verdicts.len(), cases.len(), "one perl verdict per line");
    verdicts
}

fn rust_verdict(range: &str, value: &str) -> &'static str {
    let v: f64 = value.parse().expect("generated value is a number");
    match Range::parse(range) {
        Err(_) => "INVALID",
        Ok(r) if r.alerts(v) => "ALERT",
        Ok(_) => "OK",
    }
}

#[test]
// Prints how much was compared: the test's own report, shown with --nocapture.
#[allow(clippy::print_stdout)]
fn matches_perl_monitoring_plugin_range() {
    let mut cases = Vec::new();

    // Hand-picked: the guideline examples and the documented edge cases.
    let hand_values = [
        "-11", "-1", "0", "5", "9.99", "10", "10.01", "15", "20", "21", "100", "101",
    ];
    let hand_ranges = [
        "10",
        "10:",
        "~:10",
        "10:20",
        "@10:20",
        "@~:10",
        "-5:5",
        "@10",
        "0:",
        "1e2",
        ":10",
        "~:",
        "@~:",
        " 10",
        "10: 20",
        "@ 10 : 20 ",
        "",
        " ",
        "~",
        "@",
        "10:20:30",
        "10:~",
        "inf",
        "NaN",
        "0x10",
        "1_000",
        "20:10",
        "-10",
        "10:10",
        "-0",
        "-0:0",
        "+5:+10",
        ".5:5.",
        "1e-1:1e+1",
    ];
    for r in hand_ranges {
        for v in hand_values {
            cases.push(Case {
                range: r.to_string(),
                value: v.to_string(),
            });
        }
    }

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..6000 {
        let (range, bounds) = range_string(&mut rng);
        for value in values(&mut rng, &bounds) {
            cases.push(Case {
                range: range.clone(),
                value,
            });
        }
    }
    let originals = cases.len();

    // Canonical forms of every valid range, checked against Perl as well.
    let mut round_trips = 0;
    let mut canonical_of = Vec::with_capacity(originals);
    for i in 0..originals {
        let Ok(parsed) = Range::parse(&cases[i].range) else {
            canonical_of.push(None);
            continue;
        };
        let shown = parsed.to_string();
        assert_eq!(
            Range::parse(&shown),
            Ok(parsed),
            "{:?} -> {shown:?} does not round-trip",
            cases[i].range
        );
        round_trips += 1;
        canonical_of.push(Some(cases.len()));
        cases.push(Case {
            range: shown,
            value: cases[i].value.clone(),
        });
    }

    let perl = run_perl(&cases);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let ours = rust_verdict(&case.range, &case.value);
        if ours != perl[i] {
            failures.push(format!(
                "range {:?} value {}: rust {ours}, perl {}",
                case.range, case.value, perl[i]
            ));
        }
    }
    for (i, canon) in canonical_of.iter().enumerate() {
        if let Some(j) = *canon {
            if perl[i] != perl[j] {
                failures.push(format!(
                    "perl disagrees with itself: {:?} -> {}, canonical {:?} -> {} (value {})",
                    cases[i].range, perl[i], cases[j].range, perl[j], cases[i].value
                ));
            }
        }
    }

    let invalid = perl[..originals].iter().filter(|v| *v == "INVALID").count();
    let mut distinct: Vec<&str> = cases[..originals]
        .iter()
        .map(|c| c.range.as_str())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    println!(
        "compared {} cases with perl: {originals} range/value pairs over {} distinct ranges \
         ({invalid} pairs invalid on both sides), plus {} canonical-form re-checks; \
         {round_trips} Display round trips",
        cases.len(),
        distinct.len(),
        cases.len() - originals
    );
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(25)].join("\n")
    );
}
