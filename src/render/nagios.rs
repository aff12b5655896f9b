//! Nagios plugin output: `TIDB_LOG_BACKUP <STATE> - <summary> | <perfdata>`, then one
//! long-output line per task, worst first (docs/output-contract.md).

use super::perfdata::{perf_items, perf_labels};
use super::{state_counts, worst_first, ClusterResult, Outcome, Render, RenderOptions};
use crate::judge::{TaskVerdict, Verdict};
use crate::service_state::State;
use crate::text::clean_text;
use crate::tso;

pub struct Nagios;

const PREFIX: &str = "TIDB_LOG_BACKUP";
/// The first line's text stays short: notifications and NDO keep only ~255 bytes.
const SUMMARY_MAX: usize = 200;
/// Room kept for the state and a few words of the summary under a tiny byte budget.
const SUMMARY_FLOOR: usize = 60;

impl Render for Nagios {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        match outcome {
            Outcome::Failed { state, message, .. } => {
                let mut line = format!("{PREFIX} {state} - {}", clean_text(message));
                truncate(&mut line, options.max_bytes.saturating_sub(1));
                line.push('\n');
                line
            }
            Outcome::Checked(verdict) => render_verdict(verdict, options),
            Outcome::Fleet(clusters) => render_fleet(outcome, clusters, options),
        }
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max.saturating_sub(3);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
}

fn summary(verdict: &Verdict) -> String {
    let mut problems: Vec<(State, String)> = verdict
        .findings
        .iter()
        .filter(|f| f.state != State::Ok)
        .map(|f| (f.state, f.text.clone()))
        .collect();
    for t in worst_first(verdict) {
        if t.state != State::Ok {
            problems.push((t.state, format!("{}: {}", t.task.name, t.reasons[0].text)));
        }
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    let n = verdict.tasks.len();
    let text = if problems.is_empty() {
        match n {
            0 => verdict
                .findings
                .first()
                .map(|f| f.text.clone())
                .unwrap_or_default(),
            1 => {
                let t = &verdict.tasks[0];
                format!(
                    "{} {}, {}",
                    t.task.name,
                    t.status.as_str(),
                    t.reasons[0].text
                )
            }
            _ => {
                let worst = verdict
                    .tasks
                    .iter()
                    .filter_map(|t| t.lag_seconds.map(|l| (l, t)))
                    // The first (etcd key order) of the tasks with the largest lag.
                    .fold(
                        None,
                        |best: Option<(u64, &TaskVerdict)>, (l, t)| match best {
                            Some((b, _)) if b >= l => best,
                            _ => Some((l, t)),
                        },
                    );
                match worst {
                    Some((lag, t)) => format!(
                        "{n} tasks ok, max checkpoint lag {} ({})",
                        tso::human_duration(lag),
                        t.task.name
                    ),
                    None => format!("{n} tasks ok"),
                }
            }
        }
    } else {
        let shown: Vec<&str> = problems.iter().take(2).map(|(_, p)| p.as_str()).collect();
        let mut text = shown.join("; ");
        if problems.len() > 2 {
            text.push_str(&format!("; +{} more", problems.len() - 2));
        }
        text
    };
    // The counts always survive; the problem text is what gets shortened.
    let mut counts_text = String::new();
    if n > 1 && !problems.is_empty() {
        let counts: Vec<String> = state_counts(verdict)
            .iter()
            .filter(|(_, c)| *c > 0)
            .map(|(s, c)| format!("{c} {}", s.as_str().to_ascii_lowercase()))
            .collect();
        counts_text = format!(" ({n} tasks: {})", counts.join(", "));
    }
    let mut text = clean_text(&text);
    truncate(&mut text, SUMMARY_MAX.saturating_sub(counts_text.len()));
    text.push_str(&counts_text);
    text
}

fn task_lines(t: &TaskVerdict, verbosity: u8, now_ms: u64) -> Vec<String> {
    let reasons: Vec<&str> = t.reasons.iter().map(|r| r.text.as_str()).collect();
    let mut lines = vec![clean_text(&format!(
        "[{}] {}: {}, {}",
        t.state,
        t.task.name,
        t.status.as_str(),
        reasons.join("; ")
    ))];
    if verbosity == 0 {
        return lines;
    }
    let mut detail = Vec::new();
    if let Some((ts, source)) = t.checkpoint {
        detail.push(format!(
            "checkpoint {} ({})",
            tso::br_date(tso::physical_ms(ts)),
            source.describe()
        ));
    }
    if let Some(global) = t.task.central_global {
        detail.push(format!(
            "central_global {}",
            tso::br_date(tso::physical_ms(global))
        ));
    }
    if let Some(margin) = t.gc_margin_seconds {
        let sign = if margin < 0 { "-" } else { "" };
        detail.push(format!(
            "GC safepoint margin {sign}{}",
            tso::human_duration(margin.unsigned_abs())
        ));
    }
    if let Some(info) = &t.task.info {
        detail.push(format!(
            "start {}",
            tso::br_date(tso::physical_ms(info.start_ts))
        ));
        // BR renders no URL for CloudDynamic and HDFS storage.
        let storage = if info.storage.is_empty() {
            "-"
        } else {
            info.storage.as_str()
        };
        detail.push(format!("storage {storage}"));
    }
    if let Some(text) = t.pause.as_ref().and_then(|p| p.text.as_ref()) {
        detail.push(text.clone());
    }
    for store in t.task.store_rows() {
        let ms = tso::physical_ms(store.ts);
        let lag = tso::human_duration(tso::lag_seconds(now_ms, ms));
        detail.push(format!(
            "store {} checkpoint {} lag {lag}",
            store.store_id,
            tso::br_date(ms)
        ));
    }
    for (store_id, e) in t.task.last_errors() {
        detail.push(format!(
            "store {store_id} error {} at {}: {}",
            e.error_code,
            tso::br_date(e.happen_at),
            e.error_message
        ));
    }
    if let Some(st) = &t.storage {
        if let (Some(from), Some(to), Some(window)) = (
            st.restorable_from_ts,
            st.restorable_to_ts,
            st.window_seconds,
        ) {
            detail.push(format!(
                "restorable {} .. {} (window {}, {} storage requests)",
                tso::br_date(tso::physical_ms(from)),
                tso::br_date(tso::physical_ms(to)),
                tso::human_duration(window),
                st.requests.unwrap_or(0)
            ));
        }
    }
    if t.task.region_keys > 0 {
        detail.push(format!(
            "{} legacy region checkpoint keys (counted, not read)",
            t.task.region_keys
        ));
    }
    lines.extend(detail.into_iter().map(|d| clean_text(&format!("  {d}"))));
    lines
}

/// Long-output lines with the state that ranks them for the byte budget.
fn long_lines(verdict: &Verdict, verbosity: u8) -> Vec<(State, String)> {
    let mut long = Vec::new();
    for f in verdict.findings.iter().filter(|f| f.state != State::Ok) {
        long.push((f.state, clean_text(&format!("[{}] {}", f.state, f.text))));
    }
    for t in worst_first(verdict) {
        let mut lines = task_lines(t, verbosity, verdict.now_ms).into_iter();
        if let Some(first) = lines.next() {
            long.push((t.state, first));
        }
        // Details never outrank another task's verdict line.
        long.extend(lines.map(|l| (State::Ok, l)));
    }
    // Informational findings; with no task at all the first one is already the summary.
    let skip = usize::from(verdict.tasks.is_empty());
    for f in verdict
        .findings
        .iter()
        .skip(skip)
        .filter(|f| f.state == State::Ok)
    {
        long.push((State::Ok, clean_text(&f.text)));
    }
    if verbosity >= 1 {
        if let Some(tikv) = &verdict.cluster.tikv {
            for store in &tikv.stores {
                if let Some(rate) = store.rate {
                    long.push((
                        State::Ok,
                        format!(
                            "store {} kv events {}/s",
                            store.store_id,
                            crate::text::rate_text(rate)
                        ),
                    ));
                }
            }
        }
    }
    for o in &verdict.cluster.orphans {
        long.push((
            State::Ok,
            clean_text(&format!(
                "orphan keys of task {} without task info: {} ({}), not judged",
                o.task,
                o.kinds.join(", "),
                crate::text::plural(o.keys, "key")
            )),
        ));
    }
    if verbosity >= 2 {
        let c = &verdict.cluster;
        let mut line = format!(
            "read {} at revision {} in {} etcd round trips",
            c.read.endpoint, c.read.revision, c.read.round_trips
        );
        if let Some(id) = c.read.cluster_id {
            line.push_str(&format!(", PD cluster id {id}"));
        }
        line.push_str(&format!(
            ", {} advancer owner keys, now {}",
            c.owner_keys,
            tso::rfc3339_ms(verdict.now_ms)
        ));
        long.push((State::Ok, clean_text(&line)));
    }
    long
}

/// Room kept for the closing `... and N more lines`.
const MORE_NOTE: usize = 32;

/// Fits the output into the byte budget. Priority: the summary line; the verdict lines
/// of non-OK tasks (at most half of what is left); perfdata, worst tasks first; then
/// the remaining long-output lines in order.
/// One cluster's contribution before the byte budget: run-level perfdata, per-task
/// perfdata groups (with the task's state), and long-output lines (with their rank).
struct Parts {
    run_items: Vec<String>,
    groups: Vec<(State, Vec<String>)>,
    long: Vec<(State, String)>,
}

fn parts(verdict: &Verdict, verbosity: u8, prefix: &str) -> Parts {
    let names: Vec<&str> = verdict.tasks.iter().map(|t| t.task.name.as_str()).collect();
    let labels = perf_labels(&names);
    let run_items = perf_items(prefix, &verdict.metrics);
    let groups = verdict
        .tasks
        .iter()
        .zip(&labels)
        .map(|(t, l)| (t.state, perf_items(&format!("{prefix}{l}_"), &t.metrics)))
        .collect();
    Parts {
        run_items,
        groups,
        long: long_lines(verdict, verbosity),
    }
}

/// Fits everything into the byte budget. Priority: the summary line; the verdict lines
/// of non-OK items (at most half of what is left); perfdata, worst tasks first; then the
/// remaining long-output lines in order.
fn assemble(mut head: String, parts: Parts, budget: usize) -> String {
    let Parts {
        mut run_items,
        groups,
        long,
    } = parts;
    // Perfdata is never cut mid-item: drop whole run items, then shorten the text.
    while !run_items.is_empty() && run_items.join(" ").len() + 4 + SUMMARY_FLOOR > budget {
        run_items.pop();
    }
    let run_item = run_items.join(" ");
    let separator = if run_item.is_empty() { 0 } else { 3 };
    truncate(
        &mut head,
        budget.saturating_sub(1 + separator + run_item.len()),
    );
    let mut used = head.len() + separator + run_item.len() + 1;
    let mut shown = vec![false; long.len()];
    let problem_room = budget.saturating_sub(used + MORE_NOTE) / 2;
    let mut problem_used = 0;
    for (i, (state, line)) in long.iter().enumerate() {
        if *state != State::Ok && problem_used + line.len() < problem_room {
            shown[i] = true;
            problem_used += line.len() + 1;
        }
    }
    used += problem_used;

    // Perfdata stays in etcd key order (stable); when space is short the worst tasks keep theirs.
    let mut keep = vec![false; groups.len()];
    let mut by_worst: Vec<usize> = (0..groups.len()).collect();
    by_worst.sort_by(|&a, &b| groups[b].0.cmp(&groups[a].0).then(a.cmp(&b)));
    for i in by_worst {
        let len: usize = groups[i].1.iter().map(|item| item.len() + 1).sum();
        if used + len + MORE_NOTE <= budget {
            keep[i] = true;
            used += len;
        }
    }
    let mut perf: Vec<String> = if run_item.is_empty() {
        Vec::new()
    } else {
        vec![run_item]
    };
    for ((_, items), k) in groups.iter().zip(&keep) {
        if *k {
            perf.extend(items.iter().cloned());
        }
    }

    for (i, (_, line)) in long.iter().enumerate() {
        if !shown[i] && used + line.len() + 1 + MORE_NOTE <= budget {
            shown[i] = true;
            used += line.len() + 1;
        }
    }
    let mut out = if perf.is_empty() {
        head
    } else {
        format!("{head} | {}", perf.join(" "))
    };
    out.push('\n');
    let mut dropped = 0;
    for (i, (_, line)) in long.iter().enumerate() {
        if shown[i] {
            out.push_str(line);
            out.push('\n');
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        let s = if dropped == 1 { "" } else { "s" };
        let note = format!("... and {dropped} more line{s}\n");
        if out.len() + note.len() <= budget {
            out.push_str(&note);
        }
    }
    out
}

fn render_verdict(verdict: &Verdict, options: &RenderOptions) -> String {
    let head = format!("{PREFIX} {} - {}", verdict.state, summary(verdict));
    assemble(
        head,
        parts(verdict, options.verbosity, ""),
        options.max_bytes,
    )
}

/// A cluster's one-line summary inside the fleet view.
fn cluster_summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Checked(v) => summary(v),
        Outcome::Failed { message, .. } => clean_text(message),
        Outcome::Fleet(_) => String::new(),
    }
}

/// Fleet mode: the first line summarises the clusters (worst first), perfdata labels get
/// the cluster as prefix, each cluster's lines follow its own verdict line.
fn render_fleet(outcome: &Outcome, clusters: &[ClusterResult], options: &RenderOptions) -> String {
    let state = outcome.state();
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    let labels = perf_labels(&names);
    let mut order: Vec<usize> = (0..clusters.len()).collect();
    order.sort_by(|&a, &b| {
        clusters[b]
            .outcome
            .state()
            .cmp(&clusters[a].outcome.state())
            .then(a.cmp(&b))
    });

    let problems: Vec<String> = order
        .iter()
        .filter(|&&i| clusters[i].outcome.state() != State::Ok)
        .map(|&i| {
            // Each cluster's part is kept short so that a second one still shows.
            let mut part = clean_text(&format!(
                "{}: {}",
                clusters[i].name,
                cluster_summary(&clusters[i].outcome)
            ));
            truncate(&mut part, 90);
            part
        })
        .collect();
    let n = clusters.len();
    let count = |s: State| clusters.iter().filter(|c| c.outcome.state() == s).count();
    let counts: Vec<String> = [State::Critical, State::Unknown, State::Warning, State::Ok]
        .iter()
        .filter(|s| count(**s) > 0)
        .map(|s| format!("{} {}", count(*s), s.as_str().to_ascii_lowercase()))
        .collect();
    let counts_text = format!("{n} clusters: {}", counts.join(", "));
    let text = if problems.is_empty() {
        format!("{n} clusters ok")
    } else {
        let mut text = problems
            .iter()
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if problems.len() > 2 {
            text.push_str(&format!("; +{} more", problems.len() - 2));
        }
        let mut text = clean_text(&text);
        truncate(&mut text, SUMMARY_MAX.saturating_sub(counts_text.len() + 3));
        format!("{text} ({counts_text})")
    };
    let head = format!("{PREFIX} {state} - {text}");

    let mut all = Parts {
        run_items: vec![format!("clusters={n};;;0")],
        groups: Vec::new(),
        long: Vec::new(),
    };
    for &i in &order {
        let c = &clusters[i];
        let cstate = c.outcome.state();
        let mut header = format!("[{cstate}] cluster {}", c.name);
        if let Some(id) = c.cluster_id {
            header.push_str(&format!(" (PD cluster id {id})"));
        }
        all.long.push((
            cstate,
            clean_text(&format!("{header}: {}", cluster_summary(&c.outcome))),
        ));
        if let Outcome::Checked(v) = &c.outcome {
            let p = parts(v, options.verbosity, &format!("{}_", labels[i]));
            all.long
                .extend(p.long.into_iter().map(|(s, l)| (s, format!("  {l}"))));
        }
    }
    // Perfdata in config order, whatever the states.
    for (i, c) in clusters.iter().enumerate() {
        if let Outcome::Checked(v) = &c.outcome {
            let p = parts(v, options.verbosity, &format!("{}_", labels[i]));
            all.run_items.extend(p.run_items);
            all.groups.extend(p.groups);
        }
    }
    assemble(head, all, options.max_bytes)
}
