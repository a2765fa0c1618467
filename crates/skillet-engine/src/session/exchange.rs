//! One input and its answer: the exchange with a session's interpreter, recorded, and passed
//! on through pipes.

use std::time::Instant;

use skillet_store::{SessionStatus, TurnOutcome, TurnRecord, now_ms};

use super::interpreter::{Broken, Interpreter};
use super::{ExchangePhases, Reply, Session, SessionError, SessionManager, lock};
use crate::insight::micros;

impl SessionManager {
    /// Sends `input` to session `id` and waits for its answer. `source` says where the input
    /// came from in the transcript (`user`, `from:<id>`).
    pub async fn send(&self, id: &str, input: &str, source: &str) -> Result<Reply, SessionError> {
        let looking = Instant::now();
        let session = self.find_live_after_restore(id).await?;
        let resolve = micros(looking.elapsed());
        let mut reply = self.exchange(&session, input, source).await?;
        reply.phases_us.resolve = resolve;
        let id = session.id();
        let targets: Vec<String> = lock(&self.pipes)
            .iter()
            .filter(|(from, _)| *from == id)
            .map(|(_, to)| to.clone())
            .collect();
        if matches!(reply.outcome, TurnOutcome::Ok | TurnOutcome::Error) {
            for to in targets {
                // Answers of a piped input are not piped further, so a cycle cannot loop.
                let note = match self.find_live(&to) {
                    Ok(target) => match self
                        .exchange(&target, &reply.stdout, &format!("pipe:{id}"))
                        .await
                    {
                        Ok(r) => format!("output sent on to session {to} ({})", r.outcome),
                        Err(e) => format!("output not sent on to session {to}: {e}"),
                    },
                    Err(e) => {
                        self.unpipe(&id, &to);
                        format!("pipe to session {to} removed: {e}")
                    }
                };
                reply.notes.push(note);
            }
        }
        Ok(reply)
    }

    async fn exchange(
        &self,
        session: &Session,
        input: &str,
        source: &str,
    ) -> Result<Reply, SessionError> {
        let mut ending = session.ending.subscribe();
        let waiting = Instant::now();
        let mut guard = session.interpreter.lock().await;
        let queue = micros(waiting.elapsed());
        let over = || SessionError::over(session.lock_record().clone());
        let Some(interpreter) = guard.as_mut() else {
            return Err(over());
        };
        let started_ms = now_ms();
        let timeout = session.lifecycle.answer_timeout;
        let answering = Instant::now();
        let result = tokio::select! {
            r = interpreter.exchange(input, timeout) => r,
            _ = ending.wait_for(|e| *e) => {
                drop(guard);
                return Err(over());
            }
        };
        let process = micros(answering.elapsed());
        let storing = Instant::now();
        let seq = {
            let mut r = session.lock_record();
            r.turns += 1;
            r.last_used_at_ms = now_ms();
            r.turns
        };
        *lock(&session.last_used) = Instant::now();
        let mut notes_from_retire = Vec::new();
        let (answer, mut outcome, mut notes) = match result {
            Ok(answer) => {
                let outcome = if answer.status.unwrap_or(0) == 0 {
                    TurnOutcome::Ok
                } else {
                    TurnOutcome::Error
                };
                (answer, outcome, Vec::new())
            }
            Err(Broken::Exited(answer)) => {
                let exit = interpreter.exit_status().await;
                let code = exit.map(|e| e.shell_code());
                let reason = match exit {
                    Some(e) => format!("the interpreter exited with status {}", e.shell_code()),
                    None => "the interpreter closed its output".to_owned(),
                };
                if let Some(i) = guard.take() {
                    i.finish().await;
                }
                if let Err(e) = self.retire(session, SessionStatus::Dead, &reason, code) {
                    notes_from_retire.push(e.to_string());
                }
                (
                    answer,
                    TurnOutcome::Dead,
                    vec![format!("{reason}; the session is dead")],
                )
            }
            Err(Broken::TimedOut(answer)) => {
                let reason = format!(
                    "an input ran past the skill's timeout of {} s and the interpreter was killed",
                    timeout.as_secs()
                );
                notes_from_retire.extend(self.kill_stopped(session, guard.take(), &reason).await);
                (
                    answer,
                    TurnOutcome::Timeout,
                    vec![format!("{reason}; the session is dead")],
                )
            }
            // Only a pool's stateless call is stopped at the output limit, not a session's
            // input; should one be, its interpreter is as unusable as after a timeout.
            Err(Broken::OutputLimit(answer)) => {
                let reason = "an input wrote past the output limit and the interpreter was killed";
                notes_from_retire.extend(self.kill_stopped(session, guard.take(), reason).await);
                (
                    answer,
                    TurnOutcome::Timeout,
                    vec![format!("{reason}; the session is dead")],
                )
            }
        };
        notes.append(&mut notes_from_retire);
        if let Some(state) = &session.state {
            let writer = format!("session {} input {seq}", session.id());
            let settled = lock(state).settle(outcome == TurnOutcome::Ok, &writer);
            notes.extend(settled.notes);
            if settled.failed {
                outcome = TurnOutcome::Error;
            }
        }
        if answer.truncated {
            notes.push("output was cut at the skill's output limit".into());
        }
        *lock(&session.last_output) = answer.stdout.clone();
        let mut reply = Reply {
            session_id: session.id(),
            seq,
            outcome,
            stdout: answer.stdout,
            stderr: answer.stderr,
            exit_status: answer.status,
            duration_ms: u64::try_from(answer.duration.as_millis()).unwrap_or(u64::MAX),
            truncated: answer.truncated,
            notes,
            phases_us: ExchangePhases {
                queue,
                process,
                ..ExchangePhases::default()
            },
        };
        if let Some(store) = &self.store {
            let turn = TurnRecord {
                session_id: reply.session_id.clone(),
                seq,
                source: source.to_owned(),
                input: input.to_owned(),
                stdout: reply.stdout.clone(),
                stderr: reply.stderr.clone(),
                exit_status: reply.exit_status,
                outcome: reply.outcome.clone(),
                started_at_ms: started_ms,
                duration_ms: i64::try_from(reply.duration_ms).unwrap_or(i64::MAX),
                truncated: reply.truncated,
            };
            let record = session.lock_record().clone();
            let saved = store
                .add_turn(&turn)
                .and_then(|()| store.save_session(&record));
            if let Err(e) = saved {
                reply.notes.push(format!(
                    "this exchange was not recorded in the history: {e}"
                ));
            }
        }
        reply.phases_us.store = micros(storing.elapsed());
        Ok(reply)
    }

    /// Kills an interpreter stopped in the middle of an input and retires its session as dead;
    /// what went wrong retiring it, if anything, becomes a note of the reply.
    async fn kill_stopped(
        &self,
        session: &Session,
        interpreter: Option<Interpreter>,
        reason: &str,
    ) -> Option<String> {
        if let Some(i) = interpreter {
            i.finish().await;
        }
        self.retire(session, SessionStatus::Dead, reason, None)
            .err()
            .map(|e| e.to_string())
    }
}
