//! How the program itself is executed, confined or not: a script without a shebang line runs
//! under sh, and a script another process still holds open for writing runs once it lets go.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::{Lab, text, unconfined};

#[tokio::test]
async fn a_script_without_a_shebang_line_runs_under_sh_on_every_path() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new();
    let script = lab.ws.join("plain-script");
    std::fs::write(&script, "echo \"from sh: $1 $2\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    let mut without_namespaces = lab.policy();
    without_namespaces.namespaces = false;
    for policy in [lab.policy(), without_namespaces, unconfined(lab.policy())] {
        let o = lab.run(&script, &["one", "two"], &policy).await;
        assert_eq!(text(&o.stdout), "from sh: one two\n", "{o:?}");
    }
}

/// A script still open for writing in another process (one that forked while the script's
/// writer held it keeps a copy until it executes or exits) cannot be executed for that moment:
/// the run waits it out rather than failing with "Text file busy".
#[tokio::test]
async fn a_script_another_process_holds_open_a_moment_runs_once_it_lets_go() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new();
    let script = lab.ws.join("fresh-script");
    std::fs::write(&script, "#!/bin/sh\necho fresh\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut without_namespaces = lab.policy();
    without_namespaces.namespaces = false;
    for policy in [lab.policy(), without_namespaces, unconfined(lab.policy())] {
        // The other process: a shell that inherited a writable descriptor and holds it 80 ms.
        let writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&script)
            .unwrap();
        rustix::io::fcntl_setfd(&writer, rustix::io::FdFlags::empty()).unwrap();
        let mut holder = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 0.08"])
            .spawn()
            .unwrap();
        drop(writer);
        let o = lab.run(script.to_str().unwrap(), &[], &policy).await;
        holder.wait().unwrap();
        assert_eq!(text(&o.stdout), "fresh\n", "{o:?}");
    }
}
