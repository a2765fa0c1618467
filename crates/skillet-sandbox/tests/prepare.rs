//! `prepare` does a process's one-time sandbox work ahead of its first run; a run after it (or
//! racing it) must be confined exactly as one without it: every layer on, as the program
//! itself sees it. Its own test binary, so that the preparation is the first in the process.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::{Lab, text};
use skillet_sandbox::NetworkPolicy;

/// What the program sees of its confinement: seccomp mode, no_new_privs, network interfaces,
/// and whether a file outside its grants can be read.
const PROBE: &str = "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; \
                     echo ifaces $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '); \
                     cat \"$1\" >/dev/null 2>&1 && echo outside readable || echo outside hidden";

async fn confined_as_usual(lab: &Lab, policy: &skillet_sandbox::SandboxPolicy, what: &str) {
    let secret = lab.outside.join("secret");
    std::fs::write(&secret, "s").unwrap();
    let out = lab
        .run(
            "/bin/sh",
            &["-c", PROBE, "sh", &secret.to_string_lossy()],
            policy,
        )
        .await;
    let seen = text(&out.stdout);
    for layer in ["landlock", "seccomp", "namespaces"] {
        assert!(
            out.layers.active.contains(&layer),
            "{what}: {layer} is not active: {:?}",
            out.layers
        );
    }
    assert!(
        seen.contains("Seccomp:\t2"),
        "{what}: no seccomp filter:\n{seen}"
    );
    assert!(
        seen.contains("NoNewPrivs:\t1"),
        "{what}: new privileges allowed:\n{seen}"
    );
    // Offline: the shared empty network namespace, whose loopback is all there is.
    assert!(
        seen.contains("ifaces lo\n"),
        "{what}: network visible:\n{seen}"
    );
    assert!(
        seen.contains("outside hidden"),
        "{what}: read outside the grants:\n{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_after_and_during_a_preparation_keep_every_layer() {
    if !common::full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let policy = lab.policy();
    assert_eq!(policy.network, NetworkPolicy::Off);
    // Racing: the first run starts while the preparation is still under way.
    let racing = skillet_sandbox::prepare(&policy);
    confined_as_usual(&lab, &policy, "run racing the preparation").await;
    racing.wait();
    skillet_sandbox::prepare(&policy).wait();
    confined_as_usual(&lab, &policy, "run after the preparation").await;
    // A preparation for an unconfined policy prepares no layer, and takes none from a run.
    let mut unconfined = policy.clone();
    unconfined.isolation = skillet_sandbox::Isolation::Disabled;
    skillet_sandbox::prepare(&unconfined).wait();
    confined_as_usual(&lab, &policy, "run after an unconfined preparation").await;
}
