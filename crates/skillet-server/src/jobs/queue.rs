//! Which waiting job runs next: the scheduling rule on its own, with no processes or clocks of
//! its own, so it is tested directly.
//!
//! A job's level is its priority (low 0, normal 1, high 2) plus one for every `aging` it has
//! waited, up to the highest priority's level. The highest level goes first. Among jobs of
//! that level, the client served least recently goes first (round robin: one client flooding
//! the queue gets one turn in each round, not all of them), and that client's job submitted
//! first. So a low job reaches the top level after two `aging` periods, and from then on waits
//! at most one turn per other client with jobs at that level: it cannot starve under a stream
//! of high ones, nor under another client's flood.
//!
//! Aging stops at the top level so that it orders priorities and never clients: a flood
//! submitted earlier does not out-age a newcomer's job of the same priority.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api::Priority;

/// The level aging raises a job to at most: high's.
const TOP_LEVEL: u64 = 2;

/// Waiting jobs, by id.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    entries: Vec<Entry>,
    next_seq: u64,
    /// When each client with waiting jobs was last served (a turn number; never served: 0).
    served: HashMap<String, u64>,
    turn: u64,
}

#[derive(Debug)]
struct Entry {
    id: String,
    client: String,
    priority: Priority,
    since: Instant,
    seq: u64,
}

impl Queue {
    /// Adds a job of `client` that started waiting at `since`.
    pub(crate) fn push(&mut self, id: String, client: &str, priority: Priority, since: Instant) {
        self.entries.push(Entry {
            id,
            client: client.to_owned(),
            priority,
            since,
            seq: self.next_seq,
        });
        self.next_seq += 1;
    }

    /// How many wait.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Takes a job out (cancelled); false when it was not waiting.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        self.entries.len() != before
    }

    /// Takes the job to run next at `now`.
    #[cfg(test)]
    pub(crate) fn pop(&mut self, now: Instant, aging: Duration) -> Option<String> {
        self.pop_if(now, aging, |_| true)
    }

    /// Takes the job to run next at `now` if `fits(id)` says it may start; when it may not,
    /// nothing is taken and it stays first, so a job that waits for room is not passed by
    /// smaller ones for ever. Linear scans: at the default bound of 1,000 waiting jobs they
    /// cost microseconds, and levels change with time, so a heap would need rebuilding anyway.
    pub(crate) fn pop_if(
        &mut self,
        now: Instant,
        aging: Duration,
        fits: impl FnOnce(&str) -> bool,
    ) -> Option<String> {
        let top = self.entries.iter().map(|e| level(e, now, aging)).max()?;
        let served = |client: &str| self.served.get(client).copied().unwrap_or(0);
        let best = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| level(e, now, aging) == top)
            .min_by_key(|(_, e)| (served(&e.client), e.seq))
            .map(|(i, _)| i)?;
        if !fits(&self.entries[best].id) {
            return None;
        }
        let entry = self.entries.swap_remove(best);
        self.turn += 1;
        self.served.insert(entry.client, self.turn);
        // Only clients with jobs waiting are remembered: a client that comes back after its
        // jobs all ran is served as soon as its level allows.
        if self.served.len() > self.entries.len() {
            let waiting: std::collections::HashSet<&str> =
                self.entries.iter().map(|e| e.client.as_str()).collect();
            self.served.retain(|c, _| waiting.contains(c.as_str()));
        }
        Some(entry.id)
    }

    /// Every waiting job's id, in no particular order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.id.as_str())
    }
}

fn level(e: &Entry, now: Instant, aging: Duration) -> u64 {
    let own = e.priority.level();
    if aging.is_zero() {
        return own;
    }
    let waited = now.saturating_duration_since(e.since);
    let steps = u64::try_from(waited.as_millis() / aging.as_millis().max(1)).unwrap_or(u64::MAX);
    own.saturating_add(steps).min(TOP_LEVEL.max(own))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGING: Duration = Duration::from_secs(30);

    fn drain(q: &mut Queue, now: Instant) -> Vec<String> {
        std::iter::from_fn(|| q.pop(now, AGING)).collect()
    }

    #[test]
    fn high_goes_before_normal_before_low_and_equals_keep_their_order() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("low1".into(), "a", Priority::Low, t);
        q.push("normal".into(), "a", Priority::Normal, t);
        q.push("low2".into(), "a", Priority::Low, t);
        q.push("high".into(), "a", Priority::High, t);
        assert_eq!(drain(&mut q, t), ["high", "normal", "low1", "low2"]);
    }

    #[test]
    fn a_low_job_that_waited_two_agings_goes_before_a_newer_high_one() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("low".into(), "a", Priority::Low, t);
        q.push("high".into(), "a", Priority::High, t + 2 * AGING);
        assert_eq!(q.pop(t + 2 * AGING, AGING).as_deref(), Some("low"));
        let mut q = Queue::default();
        q.push("low".into(), "a", Priority::Low, t);
        q.push("high".into(), "a", Priority::High, t + AGING);
        assert_eq!(
            q.pop(t + AGING, AGING).as_deref(),
            Some("high"),
            "one aging period is not enough"
        );
    }

    #[test]
    fn no_low_job_starves_under_a_stream_of_high_ones() {
        // One job runs per second; a new high one arrives every second, forever, from
        // another client as well as from the low job's own.
        for other in ["a", "b"] {
            let t = Instant::now();
            let aging = Duration::from_secs(5);
            let mut q = Queue::default();
            q.push("low".into(), "a", Priority::Low, t);
            let mut served = None;
            for second in 0..100u32 {
                let now = t + Duration::from_secs(u64::from(second));
                q.push(format!("high{second}"), other, Priority::High, now);
                if q.pop(now, aging).as_deref() == Some("low") {
                    served = Some(second);
                    break;
                }
            }
            let second = served.expect("the low job was never served");
            assert!(second <= 11, "served only at second {second}");
        }
    }

    #[test]
    fn a_removed_job_is_not_served() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("a".into(), "c", Priority::High, t);
        q.push("b".into(), "c", Priority::Low, t);
        assert!(q.remove("a"));
        assert!(!q.remove("a"));
        assert_eq!(q.pop(t, AGING).as_deref(), Some("b"));
        assert_eq!(q.pop(t, AGING), None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_flooding_client_gets_one_turn_in_each_round() {
        let t = Instant::now();
        let mut q = Queue::default();
        for i in 0..50 {
            q.push(format!("a{i}"), "flood", Priority::Normal, t);
        }
        q.push(
            "b0".into(),
            "other",
            Priority::Normal,
            t + Duration::from_secs(1),
        );
        q.push(
            "b1".into(),
            "other",
            Priority::Normal,
            t + Duration::from_secs(1),
        );
        q.push(
            "c0".into(),
            "third",
            Priority::Normal,
            t + Duration::from_secs(2),
        );
        let now = t + Duration::from_secs(3);
        let order = drain(&mut q, now);
        assert_eq!(&order[..6], ["a0", "b0", "c0", "a1", "b1", "a2"]);
        assert_eq!(order.len(), 53);
        // Each client's own jobs keep their order.
        let flood: Vec<&String> = order.iter().filter(|id| id.starts_with('a')).collect();
        let expected: Vec<String> = (0..50).map(|i| format!("a{i}")).collect();
        assert_eq!(flood, expected.iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_newcomer_is_served_next_even_after_the_flood_has_aged() {
        // The flood was submitted long ago and has aged to the top level; the newcomer's
        // high job is at the top level at once, and its client has not been served.
        let t = Instant::now();
        let mut q = Queue::default();
        for i in 0..20 {
            q.push(format!("a{i}"), "flood", Priority::Normal, t);
        }
        let now = t + 10 * AGING;
        assert_eq!(q.pop(now, AGING).as_deref(), Some("a0"));
        q.push("b".into(), "other", Priority::High, now);
        assert_eq!(q.pop(now, AGING).as_deref(), Some("b"));
        // A normal newcomer waits for aging only, not for the flood: one aging period lifts
        // it to the top level, where it takes the next turn.
        q.push("c".into(), "third", Priority::Normal, now);
        assert_eq!(q.pop(now, AGING).as_deref(), Some("a1"));
        let later = now + AGING;
        assert_eq!(q.pop(later, AGING).as_deref(), Some("c"));
    }

    #[test]
    fn higher_priority_still_goes_first_across_clients() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("a-low".into(), "a", Priority::Low, t);
        q.push("b-high".into(), "b", Priority::High, t);
        q.push("b-high2".into(), "b", Priority::High, t);
        assert_eq!(drain(&mut q, t), ["b-high", "b-high2", "a-low"]);
    }

    #[test]
    fn a_job_that_does_not_fit_stays_first_and_nothing_passes_it() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("big".into(), "a", Priority::High, t);
        q.push("small".into(), "b", Priority::Normal, t);
        assert_eq!(q.pop_if(t, AGING, |id| id != "big"), None);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(t, AGING).as_deref(), Some("big"));
        assert_eq!(q.pop(t, AGING).as_deref(), Some("small"));
    }

    #[test]
    fn a_thousand_clients_are_forgotten_once_served() {
        let t = Instant::now();
        let mut q = Queue::default();
        for i in 0..1000 {
            q.push(format!("j{i}"), &format!("c{i}"), Priority::Normal, t);
        }
        assert_eq!(drain(&mut q, t).len(), 1000);
        assert!(q.served.len() <= 1, "{}", q.served.len());
    }
}
