//! `br log status` for a person at a terminal: BR's rows, order, date format and framing
//! (pingcap/tidb:br/pkg/stream/stream_status.go `printByTable`, br/pkg/glue/console_glue.go
//! `Table.Print`), then one extra `check` row per task with our verdict.
//!
//! Differences, on purpose: times are UTC (BR uses its local zone); error rows come in
//! store-key order (BR iterates a Go map, so its order varies); `speed(est.)` is our
//! sampled rate with `--throughput`, else 0.00 (never BR's "42 per store"); a task whose
//! info cannot be decoded is shown with what is known (BR aborts the whole command).

use super::{clean_text, Outcome, Render, RenderOptions};
use crate::evaluate::{TaskVerdict, Verdict};
use crate::model::Status;
use crate::pause::{Pause, Payload};
use crate::state::State;
use crate::tso;

pub struct Table;

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";
/// BR's width when stdin is not a terminal (glue's `defaultTerminalWidth`); fixed here so
/// the output does not depend on the terminal.
const WIDTH: usize = 80;

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

/// BR's `formatTS`: the date and `gap=` now − time rounded to the second (red over 10 min).
fn format_ts(ts_ms: u64, now_ms: u64, color: bool) -> String {
    let diff = now_ms as i64 - ts_ms as i64;
    let gap = (diff + if diff >= 0 { 500 } else { -500 }) / 1000;
    let colour = if gap > 600 { RED } else { GREEN };
    format!(
        "{}; gap={}",
        tso::br_date(ts_ms),
        paint(&go_duration(gap), colour, color)
    )
}

/// Go's `time.Time.String()` of an RFC 3339 pause time, as BR prints `pause-time`
/// (`2024-01-01 09:05:00 +0800 +0800`; UTC as `+0000 UTC`). Unparsable text is kept.
fn go_time_string(rfc3339: &str) -> String {
    let Some((date, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_string();
    };
    let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => return rfc3339.to_string(),
    };
    let clock = match clock.split_once('.') {
        Some((whole, fraction)) => {
            let trimmed = fraction.trim_end_matches('0');
            if trimmed.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{trimmed}")
            }
        }
        None => clock.to_string(),
    };
    let zone = match zone {
        "Z" | "z" | "+00:00" => "+0000 UTC".to_string(),
        offset => {
            let compact = offset.replace(':', "");
            format!("{compact} {compact}")
        }
    };
    format!("{date} {clock} {zone}")
}

fn rows(t: &TaskVerdict, now_ms: u64, color: bool, rate: f64) -> Vec<(String, String)> {
    let task = &t.task;
    let mut rows = vec![("name".to_string(), task.name.clone())];
    let status = match t.status {
        Status::Normal => paint("●", GREEN, color) + " NORMAL",
        Status::Pause => paint("●", YELLOW, color) + " PAUSE",
        Status::Error => paint("○", RED, color) + " ERROR",
    };
    rows.push(("status".into(), status));
    if let Some(info) = &task.info {
        rows.push((
            "start".into(),
            tso::br_date(tso::physical_ms(info.start_ts)),
        ));
        if info.end_ts > 0 {
            rows.push(("end".into(), tso::br_date(tso::physical_ms(info.end_ts))));
        }
        rows.push(("storage".into(), info.storage.clone()));
    }
    rows.push(("speed(est.)".into(), format!("{rate:.2} ops/s")));
    if let Some(ts) = task.storage_checkpoint() {
        rows.push((
            "checkpoint[global]".into(),
            format_ts(tso::physical_ms(ts), now_ms, color),
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
                format_ts(tso::physical_ms(s.ts), now_ms, color),
            ));
        }
    }
    if let Some(Some(Pause::V2(p))) = &task.pause {
        rows.push(("pause-time".into(), go_time_string(&p.operation_time)));
        rows.push(("pause-operator".into(), p.operation_hostname.clone()));
        rows.push((
            "pause-operator-pid".into(),
            p.operation_pid.unwrap_or(0).to_string(),
        ));
        match &p.payload {
            Payload::Text(text) => rows.push(("pause-payload".into(), text.clone())),
            Payload::Error(e) => {
                rows.push(("pause-payload[errcode]".into(), e.error_code.clone()));
                rows.push(("pause-payload[errmesg]".into(), e.error_message.clone()));
            }
            // Go's mime.ParseMediaType("") error, as BR prints it.
            Payload::None => rows.push((
                "pause-payload[errparse]".into(),
                "mime: no media type".into(),
            )),
            Payload::Invalid(reason) => {
                rows.push(("pause-payload[errparse]".into(), reason.clone()))
            }
        }
    }
    for e in &task.errors {
        rows.push((format!("error[store={}]", e.store_id), e.error_code.clone()));
        rows.push((
            format!("error-happen-at[store={}]", e.store_id),
            format_ts(e.happen_at, now_ms, color),
        ));
        rows.push((
            format!("error-message[store={}]", e.store_id),
            e.error_message.clone(),
        ));
    }
    let reasons: Vec<&str> = t.reasons.iter().map(|r| r.text.as_str()).collect();
    let check = format!("{} - {}", t.state, reasons.join("; "));
    rows.push(("check".into(), paint(&check, state_colour(t.state), color)));
    rows
}

/// glue's `Table.Print`: keys right-aligned, values wrapped to the frame right of them
/// (two-line layout when that frame would be narrower than 40 columns).
fn print_table(out: &mut String, rows: &[(String, String)], color: bool) {
    let key_width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let frame = WIDTH.saturating_sub(key_width + 2);
    let (pad, frame) = if frame < 40 {
        (0, WIDTH)
    } else {
        (key_width, frame)
    };
    for (key, value) in rows {
        out.push_str(&format!("{key:>pad$}: "));
        if pad == 0 {
            out.push('\n');
        }
        let value = if color {
            format!("{BOLD}{value}{RESET}")
        } else {
            value.clone()
        };
        out.push_str(&wrap(&value, frame, pad + 2));
        out.push('\n');
    }
}

/// Splits at `width` visible characters (escape sequences do not count), continuing on a
/// new line indented by `indent`.
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
        if visible == width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            visible = 0;
        }
        out.push(c);
        visible += 1;
    }
    out
}

fn render_verdict(verdict: &Verdict, options: &RenderOptions) -> String {
    let color = options.color;
    let mut out = String::new();
    if verdict.tasks.is_empty() {
        out.push_str(&format!("{} No Task Yet.\n", paint("○", RED, color)));
    } else {
        out.push_str(&format!(
            "{} Total {} Tasks.\n",
            paint("●", GREEN, color),
            verdict.tasks.len()
        ));
    }
    let rate = verdict
        .cluster
        .tikv
        .as_ref()
        .and_then(|t| t.total_rate)
        .unwrap_or(0.0);
    for (i, t) in verdict.tasks.iter().enumerate() {
        out.push_str(&format!("> #{} <\n", i + 1));
        // Data is cleaned before painting so only our own escape sequences reach the terminal.
        let rows: Vec<(String, String)> = rows(t, verdict.now_ms, color, rate)
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
        print_table(&mut out, &rows, color);
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
            super::plural(o.keys, "key")
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
    fn go_time_strings_of_pause_times() {
        assert_eq!(
            go_time_string("2024-01-01T09:05:00+08:00"),
            "2024-01-01 09:05:00 +0800 +0800"
        );
        assert_eq!(
            go_time_string("2024-01-01T08:59:45.123+08:00"),
            "2024-01-01 08:59:45.123 +0800 +0800"
        );
        assert_eq!(
            go_time_string("2024-01-01T01:05:00Z"),
            "2024-01-01 01:05:00 +0000 UTC"
        );
        assert_eq!(
            go_time_string("2024-01-01T01:05:00.500-05:30"),
            "2024-01-01 01:05:00.5 -0530 -0530"
        );
        assert_eq!(go_time_string("garbage"), "garbage");
    }

    #[test]
    fn gaps_round_like_go() {
        assert_eq!(
            format_ts(1_000, 331_499, false),
            "1970-01-01 00:00:01 +0000; gap=5m30s"
        );
        assert_eq!(
            format_ts(1_000, 331_500, false),
            "1970-01-01 00:00:01 +0000; gap=5m31s"
        );
        assert_eq!(
            format_ts(10_000, 4_000, false),
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
    }
}
