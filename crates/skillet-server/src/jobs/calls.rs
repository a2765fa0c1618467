//! Runs that are not jobs wait in the jobs' queue: MCP tool calls the daemon serves over HTTP,
//! and the turns `queue.turn` gives to runs made elsewhere (`skillet batch`, `skillet mcp` on
//! stdio). One queue, one `max_running`, one memory budget, priorities with aging and fair
//! share between clients, for detached jobs and agents' calls alike.
//!
//! A call is not a job: it runs in its own request (which returns its result, as any tool
//! call), so it has no job row and `skillet jobs` does not list it; its execution row in the
//! history has its queue wait. It waits at normal priority, as the client its MCP session is,
//! and counts against `max_queued` while it waits: a full queue refuses it at once (busy).

use std::sync::Arc;
use std::time::Instant;

use skillet_engine::{NoTurn, QueuedRun, RunQueue, Turn, TurnAsked};

use super::{Jobs, budget, new_id};

/// The jobs' queue as the queue of an MCP server's runs.
pub(crate) struct QueueForCalls(pub(crate) Arc<Jobs>);

impl RunQueue for QueueForCalls {
    fn admit(&self, call: QueuedRun) -> TurnAsked<'_> {
        let jobs = self.0.clone();
        Box::pin(async move { jobs.admit_call(call).await })
    }
}

/// A call's place in the queue, then its slot; given back when dropped (the call ended, or its
/// client cancelled it while it waited).
struct Held {
    jobs: Arc<Jobs>,
    id: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.jobs.release_call(&self.id);
    }
}

const STOPPING: &str =
    "the skillet daemon is stopping; call the tool again once it is back (`skillet serve`)";

impl Jobs {
    /// Waits for `call`'s turn among the jobs and other calls.
    pub(crate) async fn admit_call(self: Arc<Self>, call: QueuedRun) -> Result<Turn, NoTurn> {
        if let Some(budget) = self.limits.memory_budget_mb
            && budget::refusal(&call.skill, call.memory_mb, Some(budget)).is_some()
        {
            return Err(NoTurn::refused(format!(
                "`{}` runs with a memory limit of {} MiB, more than the {budget} MiB all running jobs and calls may hold together ([jobs] memory_percent or memory_budget_mb in the global skillet.toml); it was not run: ask the user to lower the skill's max_memory_mb or raise the budget",
                call.skill, call.memory_mb
            )));
        }
        let id = format!("call:{}", new_id());
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut s = self.state();
            if s.stopping {
                return Err(NoTurn::for_now(STOPPING));
            }
            if s.queue.len() >= self.limits.max_queued {
                return Err(NoTurn::for_now(format!(
                    "busy: {} jobs and calls are already waiting in the skillet daemon's queue (the most [jobs] max_queued allows); the call was not run, try again in a moment",
                    s.queue.len()
                )));
            }
            let since = Instant::now();
            // A call over HTTP without an MCP session: all such calls are one client.
            let client = call.client.as_deref().unwrap_or("mcp");
            s.queue.push(id.clone(), client, call.priority, since);
            s.memory_mb.insert(id.clone(), call.memory_mb);
            s.calls_waiting.insert(id.clone(), (tx, since));
        }
        // Made before waiting, so a call dropped at any point gives its place or slot back.
        let held = Held {
            jobs: self.clone(),
            id,
        };
        self.pump();
        match rx.await {
            Ok(waited) => Ok(Turn {
                waited,
                slot: Box::new(held),
            }),
            Err(_) => Err(NoTurn::for_now(STOPPING)),
        }
    }

    /// Gives call `id`'s place or slot back and starts what can start.
    fn release_call(self: &Arc<Self>, id: &str) {
        {
            let mut s = self.state();
            s.queue.remove(id);
            s.calls_waiting.remove(id);
            s.calls_running.remove(id);
            s.memory_mb.remove(id);
        }
        self.pump();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use skillet_registry::Environment;

    use super::*;
    use crate::jobs::JobLimits;

    fn queue(max_queued: usize, memory_budget_mb: Option<u64>) -> Arc<QueueForCalls> {
        let env = Environment {
            cwd: std::env::temp_dir(),
            home: None,
            config_home: None,
            data_home: None,
        };
        let limits = JobLimits {
            max_running: 1,
            max_queued,
            aging: Duration::from_secs(30),
            memory_budget_mb,
        };
        Arc::new(QueueForCalls(Arc::new(Jobs::new(
            None,
            env,
            "/run/test.sock".into(),
            limits,
        ))))
    }

    fn call(client: &str, memory_mb: u64) -> QueuedRun {
        QueuedRun {
            skill: "s".into(),
            client: Some(client.into()),
            memory_mb,
            priority: skillet_engine::Priority::Normal,
        }
    }

    /// Asks for a turn in a task of its own, so the test can watch it wait.
    fn ask(
        q: &Arc<QueueForCalls>,
        client: &str,
        memory_mb: u64,
    ) -> tokio::task::JoinHandle<Result<Turn, NoTurn>> {
        let q = q.clone();
        let call = call(client, memory_mb);
        tokio::spawn(async move { q.admit(call).await })
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    fn block_on(f: impl std::future::Future<Output = ()>) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f);
    }

    #[test]
    fn calls_take_turns_a_full_queue_is_busy_and_an_abandoned_call_gives_its_place_back() {
        block_on(async {
            let q = queue(1, None);
            let first = q.admit(call("a", 0)).await.unwrap();
            let second = ask(&q, "a", 0);
            settle().await;
            assert!(!second.is_finished(), "only one runs at once");
            let busy = q.admit(call("b", 0)).await.unwrap_err();
            assert!(busy.reason.starts_with("busy:") && busy.again, "{busy}");
            assert!(busy.reason.contains("max_queued"), "{busy}");
            // The client cancels the waiting call: its place is free again, and it never runs.
            second.abort();
            settle().await;
            assert_eq!(q.0.active(), 1);
            let third = ask(&q, "b", 0);
            settle().await;
            assert!(!third.is_finished());
            drop(first);
            let turn = third.await.unwrap().unwrap();
            assert!(turn.waited >= Duration::from_millis(20), "{turn:?}");
            assert_eq!(q.0.active(), 1);
            drop(turn);
            assert_eq!(q.0.active(), 0);
        });
    }

    #[test]
    fn a_flooding_session_does_not_lock_out_another() {
        block_on(async {
            let q = queue(100, None);
            let first = q.admit(call("flood", 0)).await.unwrap();
            let mut flood = Vec::new();
            for _ in 0..5 {
                flood.push(ask(&q, "flood", 0));
                settle().await;
            }
            let other = ask(&q, "other", 0);
            settle().await;
            drop(first);
            // The flood's first call runs, then the other session's, before the flood's rest.
            let mut order = Vec::new();
            let mut pending: Vec<(String, tokio::task::JoinHandle<_>)> = flood
                .into_iter()
                .enumerate()
                .map(|(i, h)| (format!("flood{i}"), h))
                .chain([("other".to_owned(), other)])
                .collect();
            while !pending.is_empty() {
                settle().await;
                let at = pending
                    .iter()
                    .position(|(_, h)| h.is_finished())
                    .expect("a call got its turn");
                let (name, handle) = pending.remove(at);
                let turn = handle.await.unwrap().unwrap();
                order.push(name);
                drop(turn);
            }
            assert_eq!(order[..2], ["flood0", "other"], "{order:?}");
        });
    }

    #[test]
    fn a_calls_priority_orders_it_as_a_jobs_would() {
        use skillet_engine::Priority;
        block_on(async {
            let q = queue(10, None);
            let first = q.admit(call("a", 0)).await.unwrap();
            let mut waiting = Vec::new();
            for (name, priority) in [
                ("low", Priority::Low),
                ("normal", Priority::Normal),
                ("high", Priority::High),
            ] {
                let q = q.clone();
                let run = QueuedRun {
                    priority,
                    ..call("a", 0)
                };
                waiting.push((name, tokio::spawn(async move { q.admit(run).await })));
                settle().await;
            }
            drop(first);
            let mut order = Vec::new();
            while !waiting.is_empty() {
                settle().await;
                let at = waiting
                    .iter()
                    .position(|(_, h)| h.is_finished())
                    .expect("a call got its turn");
                let (name, handle) = waiting.remove(at);
                drop(handle.await.unwrap().unwrap());
                order.push(name);
            }
            assert_eq!(order, ["high", "normal", "low"]);
        });
    }

    #[test]
    fn calls_share_the_memory_budget_and_one_larger_than_it_is_refused() {
        block_on(async {
            let q = queue(10, Some(1000));
            let refused = q.admit(call("a", 1001)).await.unwrap_err();
            assert!(
                refused.reason.contains("1000 MiB") && !refused.again,
                "{refused}"
            );
            let big = q.admit(call("a", 600)).await.unwrap();
            let waits = ask(&q, "b", 600);
            settle().await;
            assert!(!waits.is_finished(), "600 + 600 MiB is past the budget");
            drop(big);
            let turn = waits.await.unwrap().unwrap();
            drop(turn);
        });
    }
}
