//! Which waiting job runs next: the scheduling rule on its own, with no processes or clocks of
//! its own, so it is tested directly.
//!
//! A job's level is its priority (low 0, normal 1, high 2) plus one for every `aging` it has
//! waited; the highest level goes first, the one submitted first among equals. So a job is
//! never passed by one submitted more than two `aging` periods after it: a low job cannot
//! starve under a stream of high ones.

use std::time::{Duration, Instant};

use crate::api::Priority;

/// Waiting jobs, by id.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    entries: Vec<Entry>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    id: String,
    priority: Priority,
    since: Instant,
    seq: u64,
}

impl Queue {
    /// Adds a job that started waiting at `since`.
    pub(crate) fn push(&mut self, id: String, priority: Priority, since: Instant) {
        self.entries.push(Entry {
            id,
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

    /// Takes the job to run next at `now`. A linear scan: at the default bound of 1,000
    /// waiting jobs it costs microseconds, and levels change with time, so a heap would need
    /// rebuilding anyway.
    pub(crate) fn pop(&mut self, now: Instant, aging: Duration) -> Option<String> {
        let best = self
            .entries
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| {
                level(a, now, aging)
                    .cmp(&level(b, now, aging))
                    // Among equals the older (smaller seq) wins, so it compares greater.
                    .then(b.seq.cmp(&a.seq))
            })
            .map(|(i, _)| i)?;
        Some(self.entries.swap_remove(best).id)
    }

    /// Every waiting job's id, in no particular order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.id.as_str())
    }
}

fn level(e: &Entry, now: Instant, aging: Duration) -> u64 {
    let waited = now.saturating_duration_since(e.since);
    let steps = if aging.is_zero() {
        0
    } else {
        u64::try_from(waited.as_millis() / aging.as_millis().max(1)).unwrap_or(u64::MAX)
    };
    e.priority.level().saturating_add(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGING: Duration = Duration::from_secs(30);

    #[test]
    fn high_goes_before_normal_before_low_and_equals_keep_their_order() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("low1".into(), Priority::Low, t);
        q.push("normal".into(), Priority::Normal, t);
        q.push("low2".into(), Priority::Low, t);
        q.push("high".into(), Priority::High, t);
        let order: Vec<String> = std::iter::from_fn(|| q.pop(t, AGING)).collect();
        assert_eq!(order, ["high", "normal", "low1", "low2"]);
    }

    #[test]
    fn a_low_job_that_waited_two_agings_goes_before_a_newer_high_one() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("low".into(), Priority::Low, t);
        q.push("high".into(), Priority::High, t + 2 * AGING);
        assert_eq!(q.pop(t + 2 * AGING, AGING).as_deref(), Some("low"));
        let mut q = Queue::default();
        q.push("low".into(), Priority::Low, t);
        q.push("high".into(), Priority::High, t + AGING);
        assert_eq!(
            q.pop(t + AGING, AGING).as_deref(),
            Some("high"),
            "one aging period is not enough"
        );
    }

    #[test]
    fn no_low_job_starves_under_a_stream_of_high_ones() {
        // One job runs per second; a new high one arrives every second, forever.
        let t = Instant::now();
        let aging = Duration::from_secs(5);
        let mut q = Queue::default();
        q.push("low".into(), Priority::Low, t);
        for second in 0..100u32 {
            let now = t + Duration::from_secs(u64::from(second));
            q.push(format!("high{second}"), Priority::High, now);
            if q.pop(now, aging).as_deref() == Some("low") {
                assert!(second <= 11, "served only at second {second}");
                return;
            }
        }
        panic!("the low job was never served");
    }

    #[test]
    fn a_removed_job_is_not_served() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push("a".into(), Priority::High, t);
        q.push("b".into(), Priority::Low, t);
        assert!(q.remove("a"));
        assert!(!q.remove("a"));
        assert_eq!(q.pop(t, AGING).as_deref(), Some("b"));
        assert_eq!(q.pop(t, AGING), None);
        assert_eq!(q.len(), 0);
    }
}
