//! Perfdata: labels `[a-z0-9_]` that stay stable and unique, and each item serialised
//! from a metric a rule judged, with the thresholds it was judged against
//! (docs/output-contract.md#perfdata).

use crate::judge::Metric;
use crate::text::format_number;
use std::collections::HashSet;

/// Perfdata labels `[a-z0-9_]`, unique, stable: derived from the task name only.
pub fn perf_labels(names: &[&str]) -> Vec<String> {
    let mut used = HashSet::new();
    names
        .iter()
        .map(|name| {
            let mut base: String = name
                .chars()
                .map(|c| match c.to_ascii_lowercase() {
                    c @ ('a'..='z' | '0'..='9' | '_') => c,
                    _ => '_',
                })
                .collect();
            if base.is_empty() {
                base.push_str("task");
            }
            if base.len() > 40 || base != *name {
                // Lossy mapping: a short hash of the real name keeps labels unique and stable.
                base.truncate(40);
                base = format!("{base}_{:08x}", fnv1a(name.as_bytes()) as u32);
            }
            let mut label = base.clone();
            let mut n = 2;
            while !used.insert(label.clone()) {
                label = format!("{base}_{n}");
                n += 1;
            }
            label
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `<prefix><label>=<value><uom>;<warn>;<crit>;<min>;<max>`, trailing empty fields left
/// out; `None` for a metric whose value is unknown.
pub fn perf_item(prefix: &str, m: &Metric) -> Option<String> {
    let value = m.value?;
    let mut fields = vec![
        m.warn.map(|r| r.to_string()).unwrap_or_default(),
        m.crit.map(|r| r.to_string()).unwrap_or_default(),
        m.min.map(format_number).unwrap_or_default(),
        m.max.map(format_number).unwrap_or_default(),
    ];
    while fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    let mut item = format!("{prefix}{}={}{}", m.label, format_number(value), m.uom);
    for f in fields {
        item.push(';');
        item.push_str(&f);
    }
    Some(item)
}

pub fn perf_items(prefix: &str, metrics: &[Metric]) -> Vec<String> {
    metrics
        .iter()
        .filter_map(|m| perf_item(prefix, m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sanitised_unique_and_stable() {
        let labels = perf_labels(&[
            "pitr",
            "PITR",
            "a|b c",
            "pitr_",
            "",
            "x".repeat(60).as_str(),
        ]);
        assert_eq!(labels[0], "pitr");
        assert!(
            labels[1].starts_with("pitr_") && labels[1].len() == 13,
            "{}",
            labels[1]
        );
        assert!(labels[2].starts_with("a_b_c_"));
        assert_eq!(labels[3], "pitr_");
        assert!(labels[4].starts_with("task_"));
        assert!(labels[5].len() <= 49);
        for l in &labels {
            assert!(
                l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{l}"
            );
        }
        let unique: HashSet<&String> = labels.iter().collect();
        assert_eq!(unique.len(), labels.len());
        assert_eq!(perf_labels(&["a|b c"]), vec![labels[2].clone()]);
    }
}
