//! A human view in the shape of `br log status` (times in UTC), plus our verdict per task.

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
const RESET: &str = "\x1b[0m";

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

fn rows(t: &TaskVerdict, now_ms: u64, color: bool, rate: Option<f64>) -> Vec<(String, String)> {
    let task = &t.task;
    let mut rows = vec![("name".to_string(), task.name.clone())];
    let status_colour = match t.status {
        Status::Normal => GREEN,
        Status::Pause => YELLOW,
        Status::Error => RED,
    };
    rows.push(("status".into(), format!("● {}", t.status.as_str())));
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
    if let Some(rate) = rate {
        // BR's row, from our own sampling (never BR's "42 per store" placeholder).
        rows.push(("speed(est.)".into(), format!("{rate:.2} ops/s")));
    }
    let gap = |ts: u64| {
        let ms = tso::physical_ms(ts);
        format!(
            "{}; gap={}",
            tso::br_date(ms),
            tso::human_duration(tso::lag_seconds(now_ms, ms))
        )
    };
    if let Some((ts, _)) = t.checkpoint {
        rows.push(("checkpoint[global]".into(), gap(ts)));
    }
    if let Some(global) = task.central_global {
        rows.push(("central-global".into(), gap(global)));
    }
    for s in &task.storage_checkpoints {
        rows.push((
            format!("storage-checkpoint[store={}]", s.store_id),
            gap(s.ts),
        ));
    }
    // BR's own per-store rows: the v6.2–v7.0 store keys, or the v6.1 legacy keys.
    for s in task
        .store_checkpoints
        .iter()
        .chain(&task.legacy_checkpoints)
    {
        rows.push((format!("checkpoint[store={}]", s.store_id), gap(s.ts)));
    }
    if let Some(margin) = t.gc_margin_seconds {
        rows.push(("gc-safepoint-margin".into(), format!("{margin}s")));
    }
    if let Some(deadline) = t.resume_deadline_ms {
        rows.push(("resume-deadline".into(), tso::br_date(deadline)));
    }
    for e in &task.errors {
        rows.push((format!("error[store={}]", e.store_id), e.error_code.clone()));
        rows.push((
            format!("error-happen-at[store={}]", e.store_id),
            tso::br_date(e.happen_at),
        ));
        rows.push((
            format!("error-message[store={}]", e.store_id),
            e.error_message.clone(),
        ));
    }
    if let Some(Some(Pause::V2(p))) = &task.pause {
        rows.push(("pause-time".into(), p.operation_time.clone()));
        rows.push(("pause-operator".into(), p.operation_hostname.clone()));
        rows.push((
            "pause-operator-pid".into(),
            p.operation_pid.map(|p| p.to_string()).unwrap_or_default(),
        ));
        match &p.payload {
            Payload::Text(text) => rows.push(("pause-payload".into(), text.clone())),
            Payload::Error(e) => {
                rows.push(("pause-payload[errcode]".into(), e.error_code.clone()));
                rows.push(("pause-payload[errmesg]".into(), e.error_message.clone()));
            }
            // BR's row for a payload it cannot parse.
            Payload::Invalid(reason) => {
                rows.push(("pause-payload[errparse]".into(), reason.clone()))
            }
            Payload::None => {}
        }
    }
    let reasons: Vec<&str> = t.reasons.iter().map(|r| r.text.as_str()).collect();
    rows.push((
        "check".into(),
        format!("{} - {}", t.state, reasons.join("; ")),
    ));
    // Data is cleaned before painting so only our own escape sequences reach the terminal.
    rows.into_iter()
        .map(|(key, value)| {
            let value = clean_text(&value);
            let value = match key.as_str() {
                "status" => paint(&value, status_colour, color),
                "check" => paint(&value, state_colour(t.state), color),
                _ => value,
            };
            (clean_text(&key), value)
        })
        .collect()
}

fn render_verdict(verdict: &Verdict, options: &RenderOptions) -> String {
    let mut out = String::new();
    if verdict.tasks.is_empty() {
        out.push_str("○ No Task Yet.\n");
    } else {
        out.push_str(&format!("● Total {} Tasks.\n", verdict.tasks.len()));
    }
    for (i, t) in verdict.tasks.iter().enumerate() {
        out.push_str(&format!("> #{} <\n", i + 1));
        let rate = verdict.cluster.tikv.as_ref().and_then(|t| t.total_rate);
        let rows = rows(t, verdict.now_ms, options.color, rate);
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (key, value) in rows {
            out.push_str(&format!("{key:>width$}: {value}\n"));
        }
    }
    for f in &verdict.findings {
        out.push_str(&format!(
            "{}: {}\n",
            paint(f.state.as_str(), state_colour(f.state), options.color),
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
        paint(
            verdict.state.as_str(),
            state_colour(verdict.state),
            options.color
        )
    ));
    out
}

impl Render for Table {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        match outcome {
            Outcome::Checked(verdict) => render_verdict(verdict, options),
            Outcome::Failed { state, message, .. } => format!("{state}: {}\n", clean_text(message)),
        }
    }
}
