//! The daemon's methods: each names its wire name, its params and its result, so the daemon's
//! dispatch and the client's calls are checked against the same types.

use serde::Serialize;
use serde::de::DeserializeOwned;
use skillet_engine::session::Reply;

use super::jobs::{Job, JobIdParams, JobListParams, JobOutput, JobSubmitParams, JobWaitParams};
use super::methods::{
    NoParams, PipeReply, Session, SessionIdParams, SessionListParams, SessionLogsReply,
    SessionPipeParams, SessionSendParams, SessionStartParams, StatusReply, StopReply,
};
use super::pool::{PoolRunParams, PoolRunReply};
use super::queue::{
    QueueReleaseParams, QueueReleaseReply, QueueTurnParams, QueueTurnReply, QueueWithdrawParams,
    QueueWithdrawReply,
};

/// One method of the daemon's API.
pub trait Method {
    /// Its name on the wire (`session.send`).
    const NAME: &'static str;
    /// What it takes, as the request's `params`.
    type Params: Serialize + DeserializeOwned;
    /// What it answers, as the response's `result`.
    type Result: Serialize + DeserializeOwned;
}

macro_rules! methods {
    ($($(#[$doc:meta])* $marker:ident = $name:literal: $params:ty => $result:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub enum $marker {}

            impl Method for $marker {
                const NAME: &'static str = $name;
                type Params = $params;
                type Result = $result;
            }
        )*

        /// Every method's wire name, for messages that list them.
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

methods! {
    /// The daemon's pid, version, uptime and live sessions. The one method a confined peer may call.
    DaemonStatus = "daemon.status": NoParams => StatusReply;
    /// Ends every live session and stops the daemon.
    DaemonStop = "daemon.stop": NoParams => StopReply;
    /// Starts a session of a `code_session` skill.
    SessionStart = "session.start": SessionStartParams => Session;
    /// Sends one input to a session and waits for its answer.
    SessionSend = "session.send": SessionSendParams => Reply;
    /// Live sessions, then past ones.
    SessionList = "session.list": SessionListParams => Vec<Session>;
    /// Ends a session.
    SessionClose = "session.close": SessionIdParams => Session;
    /// A session and its exchanges.
    SessionLogs = "session.logs": SessionIdParams => SessionLogsReply;
    /// Sends every later output of one session to another, or stops doing so.
    SessionPipe = "session.pipe": SessionPipeParams => PipeReply;
    /// Queues a background run of a skill; answers the job, `queued`.
    JobSubmit = "job.submit": JobSubmitParams => Job;
    /// Jobs, newest first.
    JobList = "job.list": JobListParams => Vec<Job>;
    /// One job.
    JobGet = "job.get": JobIdParams => Job;
    /// Waits (a bounded time) for a job to end; answers it with its output.
    JobWait = "job.wait": JobWaitParams => JobOutput;
    /// A job's output so far, all of it once it is over.
    JobLogs = "job.logs": JobIdParams => JobOutput;
    /// Takes a job out of the queue, or kills its process tree; answers it.
    JobCancel = "job.cancel": JobIdParams => Job;
    /// Runs one stateless call of a pooled `code_session` skill on a warm interpreter.
    PoolRun = "pool.run": PoolRunParams => PoolRunReply;
    /// Waits for a turn in the job queue for a run the caller makes itself; held until
    /// released or the connection closes.
    QueueTurn = "queue.turn": QueueTurnParams => QueueTurnReply;
    /// Gives a turn back.
    QueueRelease = "queue.release": QueueReleaseParams => QueueReleaseReply;
    /// Takes back a `queue.turn` request of the same connection that still waits (answered by
    /// the connection itself).
    QueueWithdraw = "queue.withdraw": QueueWithdrawParams => QueueWithdrawReply;
}
