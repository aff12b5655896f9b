//! One setting's text → its value: ranges, states, durations, endpoints. Errors name
//! the setting and the value.

use crate::range::Range;
use crate::service_state::State;
use std::time::Duration;

pub(super) fn range(text: &str, what: &str) -> Result<Range, String> {
    Range::parse(text).map_err(|e| format!("invalid {what} range: {e}"))
}

pub(super) fn state(text: &str, what: &str) -> Result<State, String> {
    State::parse(text)
        .ok_or_else(|| format!("invalid {what} '{text}' (want ok, warning, critical or unknown)"))
}

/// `3600`, `6h`, `1h30m` → whole seconds (zero allowed: disables the warning).
pub(super) fn parse_seconds(text: &str, what: &str) -> Result<u64, String> {
    let t = text.trim();
    let parsed = match t.parse::<u64>() {
        Ok(secs) => Some(secs),
        Err(_) => humantime::parse_duration(t).ok().map(|d| d.as_secs()),
    };
    parsed.ok_or_else(|| format!("invalid {what} '{text}' (want seconds or a duration such as 6h)"))
}

/// `10`, `10s`, `1m30s` → a positive duration.
/// A size in bytes: `16MiB`, `512KiB`, `1GiB`, `16M` (also binary), or plain bytes.
pub(super) fn parse_size(text: &str, what: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "invalid --{what} '{text}' (want a size like 16MiB)"
            ))
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n >= 1024)
        .ok_or_else(|| {
            format!("invalid --{what} '{text}' (want a size of at least 1KiB, like 16MiB)")
        })
}

pub(super) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let parsed = match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
            Some(Duration::from_secs_f64(secs))
        }
        Ok(_) => None,
        Err(_) => humantime::parse_duration(t).ok().filter(|d| !d.is_zero()),
    };
    parsed
        .ok_or_else(|| format!("invalid timeout '{text}' (want seconds or a duration such as 10s)"))
}

/// `host:port` → `http://host:port` (or `https://` when TLS is configured); checks the
/// scheme. An explicit `http://` with TLS settings is an error: TLS is never silently dropped.
pub(super) fn normalize_endpoint(text: &str, tls: bool) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/');
    if t.is_empty() {
        return Err("empty --pd endpoint".to_string());
    }
    for scheme in ["http://", "https://"] {
        if let Some(rest) = t.strip_prefix(scheme) {
            if !is_host_port(rest) {
                return Err(format!("invalid endpoint '{t}' (want {scheme}host:port)"));
            }
            if scheme == "http://" && tls {
                return Err(format!(
                    "endpoint {t} is plain http:// but --cacert/--cert/--key are given: use https:// or host:port"
                ));
            }
            return Ok(t.to_string());
        }
    }
    if !is_host_port(t) {
        return Err(format!(
            "invalid endpoint '{t}' (want http://host:port, https://host:port or host:port)"
        ));
    }
    Ok(format!("{}://{t}", if tls { "https" } else { "http" }))
}

/// `host:port` with a DNS name, an IPv4 address or a bracketed IPv6 address and a port
/// 1-65535: anything else is a typo better reported as a usage error than as an
/// unreachable cluster.
pub(super) fn is_host_port(text: &str) -> bool {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        match v6.split_once("]:") {
            Some((addr, port)) => (addr, port),
            None => return false,
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => return false,
        }
    };
    let host_ok = if text.starts_with('[') {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

pub(super) fn endpoints(values: &[String], tls: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for value in values {
        for part in value.split(',').filter(|p| !p.trim().is_empty()) {
            let endpoint = normalize_endpoint(part, tls)?;
            if !out.contains(&endpoint) {
                out.push(endpoint);
            }
        }
    }
    if out.is_empty() {
        return Err("no PD endpoint given".to_string());
    }
    Ok(out)
}
