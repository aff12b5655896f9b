//! `br log status` for a person at a terminal: BR's rows, order, date format and framing
//! (pingcap/tidb:br/pkg/stream/stream_status.go `printByTable`, br/pkg/glue/console_glue.go
//! `Table.Print`), then one extra `check` row per task with our verdict.
//!
//! As BR: dates in the local time zone (`TZ`, else /etc/localtime); colour and bold only
//! on a terminal, never with `NO_COLOR` set or `TERM=dumb` (fatih/color's rules); the
//! width of the terminal, else 80.
//!
//! Differences, on purpose: values wrap by display width (BR cuts at a byte count, which
//! can split a UTF-8 character); error rows come in store-key order (BR iterates a Go
//! map, so its order varies); `speed(est.)` is our sampled rate with `--throughput`, else
//! 0.00 (never BR's "42 per store"); a task with a key that cannot be decoded is shown
//! with what is known (BR aborts the whole command), without a checkpoint when a
//! checkpoint key is the one that failed.

use super::{Outcome, Render, RenderOptions};
use crate::judge::{PausePayload, TaskVerdict, Verdict};
use crate::service_state::State;
use crate::text::clean_text;
use crate::tso;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub struct Table;

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";
/// BR's width when stdin is not a terminal (glue's `defaultTerminalWidth`).
pub const DEFAULT_WIDTH: usize = 80;

/// fatih/color's rule, which BR follows: colours only on a terminal, and never with a
/// non-empty `NO_COLOR` (no-color.org) or `TERM=dumb`.
pub fn colour_wanted(stdout_is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    stdout_is_terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

fn paint(text: &str, colour: &str, on: bool) -> String {
    if on {
        format!("{colour}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn state_colour(state: State) -> &'static str {
    match state {
        State::Ok => GREEN,
        State::Warning | State::Unknown => YELLOW,
        State::Critical => RED,
    }
}

/// Go's `time.Duration.String()` for whole seconds: `0s`, `45s`, `4m53s`, `26h0m5s`.
pub fn go_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}

/// What the rows need besides the task.
struct View<'a> {
    now_ms: u64,
    color: bool,
    zone: &'a jiff::tz::TimeZone,
}

impl View<'_> {
    fn date(&self, ms: u64) -> String {
        tso::br_date_in(ms, self.zone)
    }

    /// BR's `formatTS`: the date and `gap=` now − time rounded to the second (red over 10 min).
    fn format_ts(&self, ts_ms: u64) -> String {
        let diff = self.now_ms as i64 - ts_ms as i64;
        let gap = (diff + if diff >= 0 { 500 } else { -500 }) / 1000;
        let colour = if gap > 600 { RED } else { GREEN };
        format!(
            "{}; gap={}",
            self.date(ts_ms),
            paint(&go_duration(gap), colour, self.color)
        )
    }
}

/// BR's `pause-time`: the RFC 3339 `operation_time` parsed and printed again with Go's
/// `time.RFC3339` layout: whole seconds, the offset as written, a zero offset as `Z`
/// (`2024-01-01T08:59:45+08:00`, `2024-01-01T09:05:00Z`). Text that is not RFC 3339 is kept.
fn go_rfc3339(text: &str) -> String {
    if text.parse::<jiff::Timestamp>().is_err() {
        return text.to_string();
    }
    let Some((date, rest)) = text.split_once(['T', 't']) else {
        return text.to_string();
    };
    let Some(at) = rest.find(['Z', 'z', '+', '-']) else {
        return text.to_string();
    };
    let (clock, offset) = rest.split_at(at);
    let seconds = clock.split('.').next().unwrap_or(clock);
    let offset = match offset {
        "Z" | "z" | "+00:00" | "-00:00" => "Z",
        other => other,
    };
    format!("{date}T{seconds}{offset}")
}

fn rows(t: &TaskVerdict, view: &View, rate: f64) -> Vec<(String, String)> {
    let task = &t.task;
    let color = view.color;
    let mut rows = vec![("name".to_string(), task.name.clone())];
    // BR's statusOK/statusBlock/statusErr: a coloured mark, then the word in bold.
    let (mark, colour) = match t.status.as_str() {
        "NORMAL" => ("●", GREEN),
        "PAUSE" => ("●", YELLOW),
        _ => ("○", RED),
    };
    let status =
        paint(mark, colour, color) + &paint(&format!(" {}", t.status.as_str()), BOLD, color);
    rows.push(("status".into(), status));
    if let Some(info) = &task.info {
        rows.push(("start".into(), view.date(tso::physical_ms(info.start_ts))));
        if info.end_ts > 0 {
            rows.push(("end".into(), view.date(tso::physical_ms(info.end_ts))));
        }
        rows.push(("storage".into(), info.storage.clone()));
    }
    rows.push((
        "speed(est.)".into(),
        format!("{} ops/s", paint(&format!("{rate:.2}"), BOLD, color)),
    ));
    if let Some(ts) = task.storage_checkpoint() {
        rows.push((
            "checkpoint[global]".into(),
            view.format_ts(tso::physical_ms(ts)),
        ));
    }
    // BR lists store rows only when no central_global exists (GetMinStoreCheckpoint).
    if task.central_global.is_none() {
        for s in task
            .legacy_checkpoints
            .iter()
            .chain(&task.store_checkpoints)
        {
            rows.push((
                format!("checkpoint[store={}]", s.store_id),
                view.format_ts(tso::physical_ms(s.ts)),
            ));
        }
    }
    // BR shows these rows for a PauseV2 marker only.
    if let Some(p) = t.pause.as_ref().and_then(|p| p.details.as_ref()) {
        rows.push(("pause-time".into(), go_rfc3339(&p.operation_time)));
        rows.push(("pause-operator".into(), p.operation_hostname.clone()));
        rows.push((
            "pause-operator-pid".into(),
            p.operation_pid.unwrap_or(0).to_string(),
        ));
        match &p.payload {
            PausePayload::Text(text) => rows.push(("pause-payload".into(), text.clone())),
            PausePayload::Error(e) => {
                rows.push(("pause-payload[errcode]".into(), e.error_code.clone()));
                rows.push(("pause-payload[errmesg]".into(), e.error_message.clone()));
            }
            // Go's mime.ParseMediaType("") error, as BR prints it.
            PausePayload::None => rows.push((
                "pause-payload[errparse]".into(),
                "mime: no media type".into(),
            )),
            PausePayload::Invalid(reason) => {
                rows.push(("pause-payload[errparse]".into(), reason.clone()))
            }
        }
    }
    // BR keys its error map by the store id in the key.
    for (store, e) in task.last_errors() {
        rows.push((format!("error[store={store}]"), e.error_code.clone()));
        rows.push((
            format!("error-happen-at[store={store}]"),
            view.format_ts(e.happen_at),
        ));
        rows.push((
            format!("error-message[store={store}]"),
            e.error_message.clone(),
        ));
    }
    if let Some(st) = &t.storage {
        let shown = match (
            st.restorable_from_ts,
            st.restorable_to_ts,
            st.window_seconds,
        ) {
            (Some(from), Some(to), Some(window)) => format!(
                "{} .. {} (window {})",
                view.date(tso::physical_ms(from)),
                view.date(tso::physical_ms(to)),
                go_duration(window as i64)
            ),
            _ => st.state.to_string(),
        };
        rows.push(("restorable".into(), shown));
    }
    let reasons: Vec<&str> = t.reasons.iter().map(|r| r.text.as_str()).collect();
    let check = format!("{} - {}", t.state, reasons.join("; "));
    rows.push(("check".into(), paint(&check, state_colour(t.state), color)));
    rows
}

/// glue's `Table.Print`: keys right-aligned, values (in bold) wrapped to the frame right of
/// them (two-line layout when that frame would be narrower than 40 columns).
fn print_table(out: &mut String, rows: &[(String, String)], color: bool, width: usize) {
    let key_width = rows.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    let frame = width.saturating_sub(key_width + 2);
    let (pad, frame) = if frame < 40 {
        (0, width)
    } else {
        (key_width, frame)
    };
    for (key, value) in rows {
        out.push_str(&" ".repeat(pad.saturating_sub(key.width())));
        out.push_str(key);
        out.push_str(": ");
        if pad == 0 {
            out.push('\n');
        }
        let value = if color {
            format!("{BOLD}{value}{RESET}")
        } else {
            value.clone()
        };
        // Two-line layout: BR wraps in the root frame, continuation lines unindented.
        let indent = if pad == 0 { 0 } else { pad + 2 };
        out.push_str(&wrap(&value, frame, indent));
        out.push('\n');
    }
}

/// Splits at `width` display columns (escape sequences take none, a wide character two;
/// one that would cross the edge starts the next line), continuing on a new line indented
/// by `indent`. Width 0 (no terminal size) does not wrap.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut visible = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            out.push(c);
            for e in chars.by_ref() {
                out.push(e);
                if e == 'm' {
                    break;
                }
            }
            continue;
        }
        let columns = c.width().unwrap_or(0);
        if width > 0 && visible > 0 && visible + columns > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            visible = 0;
        }
        out.push(c);
        visible += columns;
    }
    out
}

fn render_verdict(verdict: &Verdict, options: &RenderOptions) -> String {
    let color = options.color;
    let mut out = String::new();
    if verdict.tasks.is_empty() {
        out.push_str(&format!(
            "{}{}\n",
            paint("○", RED, color),
            paint(" No Task Yet.", BOLD, color)
        ));
    } else {
        out.push_str(&format!(
            "{}{}\n",
            paint("●", GREEN, color),
            paint(
                &format!(" Total {} Tasks.", verdict.tasks.len()),
                BOLD,
                color
            )
        ));
    }
    let view = View {
        now_ms: verdict.now_ms,
        color,
        zone: &options.time_zone,
    };
    let rate = verdict.cluster.kv_rate().unwrap_or(0.0);
    for (i, t) in verdict.tasks.iter().enumerate() {
        out.push_str(&format!("> #{} <\n", i + 1));
        // Data is cleaned before painting so only our own escape sequences reach the terminal.
        let rows: Vec<(String, String)> = rows(t, &view, rate)
            .into_iter()
            .map(|(k, v)| {
                (
                    clean_text(&k),
                    if color {
                        strip_foreign_escapes(&v)
                    } else {
                        clean_text(&v)
                    },
                )
            })
            .collect();
        print_table(&mut out, &rows, color, options.width);
    }
    for f in &verdict.findings {
        out.push_str(&format!(
            "{}: {}\n",
            paint(f.state.as_str(), state_colour(f.state), color),
            clean_text(&f.text)
        ));
    }
    for o in &verdict.cluster.orphans {
        out.push_str(&clean_text(&format!(
            "orphan keys of task {} without task info: {} ({})",
            o.task,
            o.kinds.join(", "),
            crate::text::plural(o.keys, "key")
        )));
        out.push('\n');
    }
    out.push_str(&format!(
        "overall: {}\n",
        paint(verdict.state.as_str(), state_colour(verdict.state), color)
    ));
    out
}

/// With colours on, values may hold our own SGR sequences: keep exactly those, clean the rest.
fn strip_foreign_escapes(text: &str) -> String {
    let ours = [RED, YELLOW, GREEN, BOLD, RESET];
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(code) = ours.iter().find(|c| rest.starts_with(**c)) {
            out.push_str(code);
            rest = &rest[code.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push_str(&clean_text(&c.to_string()));
        rest = &rest[c.len_utf8()..];
    }
    out
}

impl Render for Table {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        match outcome {
            Outcome::Checked(verdict) => render_verdict(verdict, options),
            Outcome::Failed { state, message, .. } => format!("{state}: {}\n", clean_text(message)),
            Outcome::Fleet(clusters) => {
                let mut out = String::new();
                for c in clusters {
                    let id = c
                        .cluster_id
                        .map(|id| format!(" (PD cluster id {id})"))
                        .unwrap_or_default();
                    out.push_str(&clean_text(&format!(
                        "=== cluster {}{id}: {} ===",
                        c.name,
                        c.outcome.state()
                    )));
                    out.push('\n');
                    out.push_str(&self.render(&c.outcome, options));
                }
                out.push_str(&format!(
                    "fleet: {}\n",
                    paint(
                        outcome.state().as_str(),
                        state_colour(outcome.state()),
                        options.color
                    )
                ));
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(293), "4m53s");
        assert_eq!(go_duration(93_605), "26h0m5s");
        assert_eq!(go_duration(-5), "-5s");
    }

    #[test]
    fn pause_times_in_go_rfc3339() {
        for (written, shown) in [
            ("2024-01-01T09:05:00+08:00", "2024-01-01T09:05:00+08:00"),
            // TiKV's chrono writes fractions and never Z; Go prints whole seconds and Z.
            ("2024-01-01T08:59:45.123+08:00", "2024-01-01T08:59:45+08:00"),
            (
                "2024-01-01T08:59:45.999999+08:00",
                "2024-01-01T08:59:45+08:00",
            ),
            ("2024-01-01T01:05:00Z", "2024-01-01T01:05:00Z"),
            ("2024-01-01T01:05:00+00:00", "2024-01-01T01:05:00Z"),
            ("2024-01-01T01:05:00.500-05:30", "2024-01-01T01:05:00-05:30"),
            ("garbage", "garbage"),
            ("2024-13-01T01:05:00Z", "2024-13-01T01:05:00Z"),
        ] {
            assert_eq!(go_rfc3339(written), shown, "{written}");
        }
    }

    #[test]
    fn colour_follows_fatih_color() {
        assert!(colour_wanted(true, None, Some("xterm-256color")));
        assert!(colour_wanted(true, Some(""), None));
        assert!(!colour_wanted(false, None, Some("xterm")));
        assert!(!colour_wanted(true, Some("1"), Some("xterm")));
        assert!(!colour_wanted(true, None, Some("dumb")));
    }

    #[test]
    fn gaps_round_like_go() {
        let zone = jiff::tz::TimeZone::UTC;
        let view = |now_ms| View {
            now_ms,
            color: false,
            zone: &zone,
        };
        assert_eq!(
            view(331_499).format_ts(1_000),
            "1970-01-01 00:00:01 +0000; gap=5m30s"
        );
        assert_eq!(
            view(331_500).format_ts(1_000),
            "1970-01-01 00:00:01 +0000; gap=5m31s"
        );
        assert_eq!(
            view(4_000).format_ts(10_000),
            "1970-01-01 00:00:10 +0000; gap=-6s"
        );
    }

    #[test]
    fn values_wrap_like_glue_table() {
        assert_eq!(wrap("abcdef", 4, 2), "abcd\n  ef");
        assert_eq!(
            wrap("\x1b[1mabcdef\x1b[0m", 4, 2),
            "\x1b[1mabcd\n  ef\x1b[0m"
        );
        // Display columns, not bytes or chars: é is one column, 日本 two each.
        assert_eq!(wrap("éééééé", 4, 0), "éééé\néé");
        assert_eq!(wrap("日本語のテキ", 5, 1), "日本\n 語の\n テキ");
        assert_eq!(wrap("abcdef", 0, 2), "abcdef");
    }
}
