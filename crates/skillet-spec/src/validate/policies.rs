//! Fallbacks, dependencies, retry, circuit breaker, limits and network destinations.

use crate::diagnostic::Diagnostic;
use crate::json_source::escape_pointer_segment;
use crate::model::{NetworkAccess, SkillSpec};

use super::{Findings, is_valid_skill_name};

pub(super) fn check_policies(spec: &SkillSpec, f: &mut Findings) {
    if let Some(fallback) = &spec.fallback {
        if fallback == &spec.name {
            f.value(
                "/fallback",
                Diagnostic::error("a skill cannot be its own fallback")
                    .with_hint("name another skill"),
            );
        } else if !is_valid_skill_name(fallback) {
            f.value(
                "/fallback",
                Diagnostic::error(format!("invalid skill name {fallback:?}"))
                    .with_hint("name an existing skill"),
            );
        }
    }
    for (name, req) in &spec.dependencies {
        let at = format!("/dependencies/{}", escape_pointer_segment(name));
        if !is_valid_skill_name(name) {
            f.key(
                at.clone(),
                Diagnostic::error(format!("invalid skill name {name:?}"))
                    .with_hint("dependencies are keyed by skill name"),
            );
        }
        if semver::VersionReq::parse(req).is_err() {
            f.value(
                at,
                Diagnostic::error(format!("{req:?} is not a version requirement"))
                    .with_hint("write e.g. \"^1.2\", \">=1.0, <2\" or \"*\""),
            );
        }
    }
    if let Some(retry) = &spec.retry {
        if retry.max_attempts == Some(0) {
            f.value(
                "/retry/max_attempts",
                Diagnostic::error("`max_attempts` is 0")
                    .with_hint("it counts the first attempt: use 1 for no retries"),
            );
        }
        if let (Some(a), Some(b)) = (retry.initial_backoff_ms, retry.max_backoff_ms)
            && a > b
        {
            f.value(
                "/retry/initial_backoff_ms",
                Diagnostic::error("`initial_backoff_ms` is greater than `max_backoff_ms`")
                    .with_hint("swap them"),
            );
        }
    }
    if let Some(cb) = &spec.circuit_breaker {
        if cb.failure_rate.is_some_and(|r| !(r > 0.0 && r <= 1.0)) {
            f.value(
                "/circuit_breaker/failure_rate",
                Diagnostic::error("`failure_rate` must be above 0 and at most 1")
                    .with_hint("e.g. 0.5 opens the circuit when half the recent calls failed"),
            );
        }
        if cb.window.is_some_and(|w| w < 2) {
            f.value(
                "/circuit_breaker/window",
                Diagnostic::error("`window` must be at least 2 calls").with_hint("e.g. 20"),
            );
        }
    }
    let Some(security) = &spec.security else {
        return;
    };

    if let Some(limits) = &security.resource_limits {
        for (field, value) in [
            ("max_memory_mb", limits.max_memory_mb),
            ("max_execution_time", limits.max_execution_time),
            ("max_cpu_percent", limits.max_cpu_percent.map(u64::from)),
            ("max_processes", limits.max_processes.map(u64::from)),
            ("max_output_kb", limits.max_output_kb),
            ("max_file_size_mb", limits.max_file_size_mb),
        ] {
            if value == Some(0) {
                f.value(
                    format!("/security/resource_limits/{field}"),
                    Diagnostic::error(format!("`{field}` is 0")).with_hint(
                        "limits must be at least 1; leave the field out for the default",
                    ),
                );
            }
        }
    }
    if let Some(NetworkAccess::Destinations(list)) = security
        .permissions
        .as_ref()
        .and_then(|p| p.network_access.as_ref())
    {
        for (i, dest) in list.iter().enumerate() {
            let ok = dest.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !ok {
                f.value(
                    format!("/security/permissions/network_access/{i}"),
                    Diagnostic::error(format!("{dest:?} is not a \"host:port\" destination"))
                        .with_hint("write e.g. \"api.example.com:443\""),
                );
            }
        }
    }
}
