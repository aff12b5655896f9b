//! Interleaved timing: every round runs each command once, in a fresh random order, so a
//! burst of load from another process hits all commands alike. Per run: wall time from
//! spawn to reap, and peak RSS (`ru_maxrss` from wait4, what `/usr/bin/time -v` reports).
//!
//! usage: runner --spec FILE --rounds N [--warmup W] [--raw OUT.tsv]
//!
//! The spec has one command per line: `name<TAB>program<TAB>arg<TAB>arg…`.
//! stdout: one summary line per command (TSV, header first):
//! name n median_ms p25_ms p75_ms min_ms max_ms rss_median_kb rss_max_kb exit_codes

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Spec {
    name: String,
    argv: Vec<String>,
}

struct Sample {
    wall_ms: f64,
    rss_kb: i64,
    exit: i32,
}

fn run(spec: &Spec) -> Sample {
    let started = Instant::now();
    let child = Command::new(&spec.argv[0])
        .args(&spec.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", spec.argv));
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(reaped, pid, "wait4 failed");
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    // `child` is reaped already; dropping it does not wait again.
    drop(child);
    Sample {
        wall_ms,
        rss_kb: usage.ru_maxrss,
        exit,
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let spec_path = get("--spec").expect("--spec FILE");
    let rounds: usize = get("--rounds").map_or(20, |s| s.parse().expect("--rounds N"));
    let warmup: usize = get("--warmup").map_or(2, |s| s.parse().expect("--warmup N"));
    let raw_path = get("--raw");

    let specs: Vec<Spec> = std::fs::read_to_string(&spec_path)
        .expect("read the spec")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut fields = l.split('\t').map(str::to_string);
            let name = fields.next().unwrap();
            Spec {
                name,
                argv: fields.collect(),
            }
        })
        .collect();
    assert!(specs.iter().all(|s| !s.argv.is_empty()), "empty command");

    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };

    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    let mut raw = String::from("name\tround\twall_ms\trss_kb\texit\n");
    for round in 0..warmup + rounds {
        let mut order: Vec<usize> = (0..specs.len()).collect();
        for i in (1..order.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for i in order {
            let sample = run(&specs[i]);
            if round >= warmup {
                raw.push_str(&format!(
                    "{}\t{}\t{:.3}\t{}\t{}\n",
                    specs[i].name,
                    round - warmup,
                    sample.wall_ms,
                    sample.rss_kb,
                    sample.exit
                ));
                samples.entry(i).or_default().push(sample);
            }
        }
    }
    if let Some(path) = raw_path {
        std::fs::write(&path, raw).expect("write raw samples");
    }

    println!(
        "name\tn\tmedian_ms\tp25_ms\tp75_ms\tmin_ms\tmax_ms\trss_median_kb\trss_max_kb\texit_codes"
    );
    for (i, spec) in specs.iter().enumerate() {
        let list = samples.get(&i).map(Vec::as_slice).unwrap_or(&[]);
        let mut wall: Vec<f64> = list.iter().map(|s| s.wall_ms).collect();
        wall.sort_by(f64::total_cmp);
        let mut rss: Vec<f64> = list.iter().map(|s| s.rss_kb as f64).collect();
        rss.sort_by(f64::total_cmp);
        let mut exits: BTreeMap<i32, usize> = BTreeMap::new();
        for s in list {
            *exits.entry(s.exit).or_default() += 1;
        }
        let exits: Vec<String> = exits.iter().map(|(c, n)| format!("{c}x{n}")).collect();
        println!(
            "{}\t{}\t{:.2}\t{:.2}\t{:.2}\t{:.2}\t{:.2}\t{:.0}\t{:.0}\t{}",
            spec.name,
            wall.len(),
            quantile(&wall, 0.5),
            quantile(&wall, 0.25),
            quantile(&wall, 0.75),
            wall.first().copied().unwrap_or(f64::NAN),
            wall.last().copied().unwrap_or(f64::NAN),
            quantile(&rss, 0.5),
            rss.last().copied().unwrap_or(f64::NAN),
            exits.join(",")
        );
    }
}
