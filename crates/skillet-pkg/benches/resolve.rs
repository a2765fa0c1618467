//! Resolving against a large index: 2,000 packages of 10 versions each, every version needing
//! a few others (caret requirements on a major version, as authors write them), some newest
//! versions needing a major their neighbours do not offer yet, so the solver has to step back.
//!
//! Run: `cargo bench -p skillet-pkg --bench resolve`. It prints the median of several runs of
//! each case, as wall-clock time and as the CPU time of the resolving thread (which other load
//! on the machine disturbs much less); docs/performance.md quotes the figures.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use skillet_pkg::PackageName;
use skillet_pkg::resolve::{CandidateVersion, Catalog, resolve};

const PACKAGES: usize = 2_000;
const RUNS: usize = 15;

struct Index(HashMap<PackageName, Vec<CandidateVersion>>);

impl Catalog for Index {
    fn versions(&self, name: &PackageName) -> Vec<CandidateVersion> {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

/// A small deterministic generator, so every run measures the same graph.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn name(i: usize) -> PackageName {
    PackageName::new(format!("pkg-{i:04}")).expect("a valid package name")
}

/// Package `i` has 1.0.0..1.4.0 and 2.0.0..2.4.0. Each version needs 0 to 5 packages with a
/// lower number (the graph's fan-out), plus now and then a higher one (cycles and long
/// chains). A 1.x needs `^1` of each; a 2.x needs `^2` mostly, `^1.2` sometimes; the last
/// tenth of the packages only reached 2.x later, so `^2` of them is often unmet by older
/// dependents and the solver must fall back.
fn index() -> Index {
    let mut rng = Lcg(0x5eed);
    let mut packages = HashMap::new();
    for i in 0..PACKAGES {
        let mut versions = Vec::new();
        for major in 1..=2u64 {
            for minor in 0..5u64 {
                let mut dependencies = BTreeMap::new();
                let fan_out = rng.below(6);
                for _ in 0..fan_out {
                    let dep = if i > 0 && rng.below(10) > 0 {
                        rng.below(i)
                    } else {
                        rng.below(PACKAGES)
                    };
                    if dep == i {
                        continue;
                    }
                    let req = match (major, rng.below(4)) {
                        (1, _) => "^1".to_string(),
                        (_, 0) => "^1.2".to_string(),
                        (_, _) if dep >= PACKAGES * 9 / 10 && minor == 4 => "^3".to_string(),
                        _ => "^2".to_string(),
                    };
                    dependencies.insert(name(dep), req.parse().expect("a valid requirement"));
                }
                versions.push(CandidateVersion {
                    version: semver::Version::new(major, minor, 0),
                    dependencies,
                });
            }
        }
        packages.insert(name(i), versions);
    }
    Index(packages)
}

/// Time this thread has spent on a CPU, from the kernel's scheduler statistics.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn measure(label: &str, index: &Index, roots: &[(PackageName, semver::VersionReq)]) {
    let preferred = BTreeMap::new();
    let mut times = Vec::with_capacity(RUNS);
    let mut cpu = Vec::with_capacity(RUNS);
    let mut outcome = String::new();
    for _ in 0..RUNS {
        let (start, cpu_start) = (Instant::now(), thread_cpu());
        let result = resolve(roots, index, &preferred);
        times.push(start.elapsed());
        if let (Some(before), Some(after)) = (cpu_start, thread_cpu()) {
            cpu.push(after.saturating_sub(before));
        }
        outcome = match result {
            Ok(chosen) => format!("{} packages chosen", chosen.len()),
            Err(e) => format!(
                "no solution ({} lines of explanation)",
                e.to_string().lines().count()
            ),
        };
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cpu_text = if cpu.is_empty() {
        "CPU time unavailable".to_string()
    } else {
        format!("CPU {:.1} ms", ms(median(cpu)))
    };
    println!(
        "{label}: median {:.1} ms wall, {cpu_text} over {RUNS} runs (wall min {:.1} ms, max {:.1} ms); {outcome}",
        ms(median(times.clone())),
        times.iter().min().map_or(0.0, |d| ms(*d)),
        times.iter().max().map_or(0.0, |d| ms(*d)),
    );
}

fn main() {
    let built = Instant::now();
    let index = index();
    println!(
        "index: {PACKAGES} packages x 10 versions, {} dependency edges, built in {:.0} ms",
        index
            .0
            .values()
            .flatten()
            .map(|v| v.dependencies.len())
            .sum::<usize>(),
        built.elapsed().as_secs_f64() * 1e3
    );
    let req = |s: &str| {
        s.parse::<semver::VersionReq>()
            .expect("a valid requirement")
    };
    let top = |n: usize| -> Vec<(PackageName, semver::VersionReq)> {
        (0..n)
            .map(|k| (name(PACKAGES - 1 - k * 7), req("*")))
            .collect()
    };
    measure(
        "one package, newest",
        &index,
        &[(name(PACKAGES - 1), req("*"))],
    );
    measure("20 packages at once", &index, &top(20));
    measure(
        "one package pinned to 2.4.0",
        &index,
        &[(name(PACKAGES - 3), req("=2.4.0"))],
    );
}
