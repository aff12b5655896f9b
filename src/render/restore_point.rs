//! `--restore-point`'s answer: one line per task (nagios, table and br-json alike), or one
//! ndjson event of kind `restore-point` per task. The exit code is the worst answer's:
//! 0 possible, 2 impossible, 3 cannot be told.

use super::Outcome;
use crate::judge::restore_point::RestorePoint;
use crate::service_state::State;
use crate::text::clean_text;
use crate::tso;

/// Each answer, or why none could be given (the run failed before judging).
pub fn render(
    answers: &[(Option<String>, RestorePoint)],
    outcome: &Outcome,
    at_ts: u64,
    ndjson: bool,
) -> (String, i32) {
    let when = tso::br_date(tso::physical_ms(at_ts));
    let failure = match outcome {
        Outcome::Failed { message, .. } => Some(message.clone()),
        Outcome::Fleet(clusters) => clusters.iter().find_map(|c| match &c.outcome {
            Outcome::Failed { message, .. } => Some(format!("{}: {message}", c.name)),
            _ => None,
        }),
        Outcome::Checked(_) => None,
    };
    let mut lines: Vec<(State, String)> = Vec::new();
    if let Some(message) = failure.filter(|_| answers.is_empty()) {
        lines.push((
            State::Unknown,
            format!("PITR to {when} cannot be told: {message}"),
        ));
    } else if answers.is_empty() {
        lines.push((
            State::Unknown,
            format!("PITR to {when} cannot be told: no log backup task selected"),
        ));
    }
    let worst = answers
        .iter()
        .map(|(_, a)| a.state)
        .chain(lines.iter().map(|(s, _)| *s))
        .max()
        .unwrap_or(State::Unknown);
    // Impossible is CRITICAL in the service order; as an answer, "cannot be told" (3) is
    // only the exit code when nothing was found impossible.
    let code = worst.exit_code();
    let mut out = String::new();
    if ndjson {
        for (cluster, a) in answers {
            out.push_str(&event(cluster.as_deref(), a));
            out.push('\n');
        }
        for (state, text) in &lines {
            out.push_str(&format!(
                "{{\"schema\":1,\"kind\":\"restore-point\",\"cluster\":null,\"task\":null,\"restore_point_ts\":{at_ts},\"state\":\"{}\",\"state_code\":{},\"possible\":null,\"reason\":{},\"base\":null,\"base_ts\":null,\"log_from_ts\":null,\"log_to_ts\":null,\"verified\":false}}\n",
                state.as_str(),
                state.exit_code(),
                json(text)
            ));
        }
        return (out, code);
    }
    for (cluster, a) in answers {
        let prefix = cluster
            .as_deref()
            .map_or(String::new(), |c| format!("{c}/"));
        let word = match a.possible {
            Some(true) => "possible",
            Some(false) => "impossible",
            None => "cannot be told",
        };
        out.push_str(&format!(
            "TIDB_LOG_BACKUP {} - PITR to {when} {word} for task {prefix}{}: {}\n",
            a.state.as_str(),
            clean_text(&a.task),
            clean_text(&a.reason)
        ));
    }
    for (state, text) in &lines {
        out.push_str(&format!(
            "TIDB_LOG_BACKUP {} - {}\n",
            state.as_str(),
            clean_text(text)
        ));
    }
    (out, code)
}

fn json(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn opt(v: Option<u64>) -> String {
    v.map_or("null".to_string(), |v| v.to_string())
}

fn event(cluster: Option<&str>, a: &RestorePoint) -> String {
    format!(
        "{{\"schema\":1,\"kind\":\"restore-point\",\"cluster\":{},\"task\":{},\"restore_point_ts\":{},\"state\":\"{}\",\"state_code\":{},\"possible\":{},\"reason\":{},\"base\":{},\"base_ts\":{},\"log_from_ts\":{},\"log_to_ts\":{},\"verified\":{}}}",
        cluster.map_or("null".to_string(), json),
        json(&a.task),
        a.at_ts,
        a.state.as_str(),
        a.state.exit_code(),
        a.possible.map_or("null".to_string(), |p| p.to_string()),
        json(&a.reason),
        a.base.as_ref().map_or("null".to_string(), |(url, _)| json(url)),
        opt(a.base.as_ref().map(|(_, ts)| *ts)),
        opt(a.log_from_ts),
        opt(a.log_to_ts),
        a.verified
    )
}
