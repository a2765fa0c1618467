//! `skillet run --json` on skills that run into a disk limit: the result says `resource_limit`
//! and names the limit, never a plain `failed`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::{World, interpreter};
use serde_json::json;

fn code_skill(w: &World, name: &str, command: &str, args: &[&str], extra: serde_json::Value) {
    let mut skill = json!({"name": name, "description": "d", "type": "code_inline",
        "command": command, "args": args});
    if let Some(obj) = extra.as_object() {
        skill.as_object_mut().unwrap().extend(obj.clone());
    }
    w.skill(name, skill);
}

#[test]
fn filling_home_and_tmp_together_past_the_scratch_cap_is_a_scratch_disk_limit() {
    let w = World::new();
    // 150 MiB in HOME and 150 MiB in /tmp: each fits the 256 MiB cap alone, not together. Files
    // of 50 MiB stay under the file-size limit, so only the scratch cap can stop this.
    let script = "i=0; for d in \"$HOME\" \"$HOME\" \"$HOME\" /tmp /tmp /tmp; do i=$((i + 1)); \
                  dd if=/dev/zero of=\"$d/f$i\" bs=1M count=50 2>/dev/null || exit 1; \
                  done; echo wrote everything";
    code_skill(&w, "fill", "/bin/sh", &["-c", script], json!({}));
    let (code, r) = w.run_json(&["fill"]);
    assert_ne!(code, 0, "{r}");
    assert_eq!(r["status"], "resource_limit", "{r}");
    assert_eq!(r["limit"], "scratch_disk", "{r}");
    assert!(
        !r["stdout"]
            .as_str()
            .unwrap_or("")
            .contains("wrote everything"),
        "{r}"
    );
    assert!(
        r["error"]
            .as_str()
            .unwrap_or("")
            .contains("scratch-disk limit"),
        "{r}"
    );
}

#[test]
fn a_file_past_the_file_size_limit_is_a_max_file_size_limit_however_it_is_met() {
    let w = World::new();
    let limit = json!({"security": {"resource_limits": {"max_file_size_mb": 1}}});
    let perl = interpreter("perl");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        // The writer itself is killed by SIGXFSZ.
        (
            "killed",
            "/bin/sh".into(),
            vec![
                "-c",
                "exec dd if=/dev/zero of=\"$HOME/big\" bs=64K count=64",
            ],
        ),
        // A command inside a script is killed; the shell reports it as 128 + SIGXFSZ.
        (
            "in-a-script",
            "/bin/sh".into(),
            vec![
                "-c",
                "dd if=/dev/zero of=/tmp/big bs=64K count=64 && echo done",
            ],
        ),
        // The writer ignores SIGXFSZ, gets EFBIG and fails (`{{` is a literal brace in a skill).
        (
            "ignored",
            perl.clone(),
            vec![
                "-e",
                "$SIG{{XFSZ}} = 'IGNORE'; open(my $f, '>', \"$ENV{{HOME}}/big\") or die; print $f ('x' x 4_000_000) or die \"write: $!\"; close($f) or die \"close: $!\"",
            ],
        ),
    ];
    for (name, command, args) in &cases {
        code_skill(&w, name, command, args, limit.clone());
        let (code, r) = w.run_json(&[name]);
        assert_ne!(code, 0, "{name}: {r}");
        assert_eq!(r["status"], "resource_limit", "{name}: {r}");
        assert_eq!(r["limit"], "max_file_size", "{name}: {r}");
    }
    // Under the limit, nothing is blamed on it.
    code_skill(
        &w,
        "small",
        "/bin/sh",
        &[
            "-c",
            "dd if=/dev/zero of=\"$HOME/small\" bs=64K count=4 2>/dev/null && echo ok",
        ],
        limit,
    );
    let (code, r) = w.run_json(&["small"]);
    assert_eq!((code, &r["status"]), (0, &json!("ok")), "{r}");
}
