//! Zabbix low-level discovery (docs/zabbix.md): `--list-tasks --format zabbix-lld` prints
//! `[{"{#TASK}":"pitr","{#CLUSTER}":"…"}]`, the array form Zabbix 4.2 and later take
//! without a `data` wrapper. A failure is the nagios line, which is not JSON: Zabbix then
//! marks the discovery rule unsupported with that text and keeps what it discovered,
//! instead of losing every task to an empty list.

use super::nagios::Nagios;
use super::prometheus::cluster_label;
use super::{ListedTask, Outcome, Render, RenderOptions};

pub struct ZabbixLld;

/// The LLD macros: `{#TASK}`, and `{#CLUSTER}` (the fleet's name for the cluster, else
/// PD's cluster id, else empty), one object per task.
pub fn discovery(tasks: &[ListedTask]) -> String {
    let text = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let rows: Vec<String> = tasks
        .iter()
        .map(|t| {
            format!(
                "{{\"{{#TASK}}\":{},\"{{#CLUSTER}}\":{}}}",
                text(&t.task),
                text(&cluster_label(t.cluster.as_deref(), t.cluster_id))
            )
        })
        .collect();
    format!("[{}]\n", rows.join(","))
}

fn listed(outcome: &Outcome, name: Option<&str>, out: &mut Vec<ListedTask>) {
    match outcome {
        Outcome::Checked(v) => out.extend(v.tasks.iter().map(|t| ListedTask {
            cluster: name.map(str::to_string),
            cluster_id: v.cluster.read.cluster_id,
            task: t.task.name.clone(),
        })),
        Outcome::Failed { .. } => {}
        Outcome::Fleet(clusters) => {
            for c in clusters {
                listed(&c.outcome, Some(&c.name), out);
            }
        }
    }
}

impl Render for ZabbixLld {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        match outcome {
            Outcome::Failed { .. } => Nagios.render(outcome, options),
            _ => {
                let mut tasks = Vec::new();
                listed(outcome, None, &mut tasks);
                discovery(&tasks)
            }
        }
    }
}
