//! Who a job is queued for, so the queue can share its turns between clients fairly.
//!
//! A client is the session (in the `setsid` sense) of the process that submitted the job: the
//! terminal, or the agent, that ran `skillet`, and every command it starts. The daemon reads
//! it from the connecting process itself, so a command cannot claim another terminal's share
//! by accident. A submitter may name itself instead (`$SKILLET_CLIENT`, sent as `client`), for
//! an agent whose tool calls each start a session of their own. Every client is one of the
//! daemon's own user's unconfined processes (no other may submit), so a name is a hint about
//! how the user's own work is grouped, not a boundary between users.

/// The client a connection from process `pid` submits jobs as.
pub(crate) fn client_of(pid: Option<i32>) -> String {
    let Some(pid) = pid.filter(|&p| p > 0) else {
        return "unknown".to_owned();
    };
    // Read from `/proc`, not by getsid(2) through rustix, whose `Pid` cannot hold the 0 the
    // kernel gives for a session begun outside the daemon's pid namespace (as in a container).
    match skillet_sandbox::ProcStat::read(pid).map(|stat| stat.session) {
        Ok(sid) if sid > 0 => format!("session:{sid}"),
        // Its session began outside the daemon's pid namespace (every command in a container
        // started from outside it): those sessions cannot be told apart, so they are one
        // client. Each on its own would let one flood of commands take every turn.
        Ok(_) => "session:outside".to_owned(),
        // Gone already: on its own.
        Err(_) => format!("pid:{pid}"),
    }
}

/// The client a job submitted by `peer` (see [`client_of`]) that names itself `named` counts as.
pub(crate) fn client_for(named: Option<&str>, peer: &str) -> String {
    match named.map(str::trim).filter(|n| !n.is_empty()) {
        // Apart from the daemon's own names, so no name reads as another session.
        Some(name) => format!("name:{}", name.chars().take(128).collect::<String>()),
        None => peer.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_its_session_and_a_name_is_kept_apart() {
        let me = i32::try_from(std::process::id()).unwrap();
        let sid = skillet_sandbox::ProcStat::read(me).unwrap().session;
        let expected = match sid {
            // Run where the session began outside this pid namespace (a container's CI).
            0 => "session:outside".to_owned(),
            sid => format!("session:{sid}"),
        };
        assert_eq!(client_of(Some(me)), expected);
        assert_eq!(client_of(None), "unknown");
        assert_eq!(client_of(Some(0)), "unknown");
        assert_eq!(client_of(Some(i32::MAX)), format!("pid:{}", i32::MAX));
        assert_eq!(client_for(Some("agent-1"), "session:5"), "name:agent-1");
        assert_eq!(client_for(Some("session:5"), "session:7"), "name:session:5");
        assert_eq!(client_for(Some("  "), "session:7"), "session:7");
        assert_eq!(client_for(None, "session:7"), "session:7");
    }
}
