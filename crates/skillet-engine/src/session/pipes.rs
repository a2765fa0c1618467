//! Output of one session as input of another.

use super::{Reply, SessionError, SessionManager, lock};

impl SessionManager {
    /// Sends the last output of session `from` to session `to`.
    pub async fn send_from(&self, to: &str, from: &str) -> Result<Reply, SessionError> {
        let (from_id, output) = match self.find_live_after_restore(from).await {
            Ok(s) => (s.id(), lock(&s.last_output).clone()),
            Err(SessionError::Over { id, .. }) => {
                let output = self
                    .history(&id)?
                    .1
                    .last()
                    .map(|t| t.stdout.clone())
                    .unwrap_or_default();
                (id, output)
            }
            Err(e) => return Err(e),
        };
        self.send(to, &output, &format!("from:{from_id}")).await
    }

    /// From now on, every answer of session `from` is sent as input to session `to`.
    pub fn pipe(&self, from: &str, to: &str) -> Result<(String, String), SessionError> {
        let from = self.find_live(from)?.id();
        let to = self.find_live(to)?.id();
        if from == to {
            return Err(SessionError::refused(
                "a session cannot be piped into itself",
                None,
            ));
        }
        let mut pipes = lock(&self.pipes);
        if !pipes.iter().any(|(f, t)| *f == from && *t == to) {
            pipes.push((from.clone(), to.clone()));
        }
        Ok((from, to))
    }

    /// Removes the pipe from `from` to `to`; says whether there was one.
    pub fn unpipe(&self, from: &str, to: &str) -> bool {
        let mut pipes = lock(&self.pipes);
        let before = pipes.len();
        pipes.retain(|(f, t)| !(f.starts_with(from) && t.starts_with(to)));
        pipes.len() != before
    }
}
