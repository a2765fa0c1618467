//! Channels in SQLite: a row per channel holding its last number, and its messages. A send is
//! one `BEGIN IMMEDIATE` transaction that drops expired messages, checks the bounds and
//! appends, so concurrent senders in any number of processes never take a channel past them.

use rusqlite::{Connection, OptionalExtension, params};

use crate::channel::{
    ChannelInfo, ChannelKey, ChannelLimits, ChannelMessage, ChannelSend, ChannelStore,
};
use crate::{SqliteStore, StoreError, now_ms};

const WHERE_KEY: &str = "workspace = ?1 AND owner = ?2 AND name = ?3";

fn send(
    conn: &mut Connection,
    key: &ChannelKey,
    sender: &str,
    body: &str,
    limits: &ChannelLimits,
) -> Result<ChannelSend, StoreError> {
    if body.len() > limits.max_message_bytes {
        return Ok(ChannelSend::TooLarge(body.len(), limits.max_message_bytes));
    }
    let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
    let now = now_ms();
    let k = params![key.workspace, key.owner, key.name];
    tx.execute(
        &format!("DELETE FROM channel_messages WHERE {WHERE_KEY} AND sent_at <= ?4"),
        params![
            key.workspace,
            key.owner,
            key.name,
            now.saturating_sub(limits.ttl_ms)
        ],
    )?;
    let last: Option<i64> = tx
        .query_row(
            &format!("SELECT last_seq FROM channels WHERE {WHERE_KEY}"),
            k,
            |r| r.get(0),
        )
        .optional()?;
    if last.is_none() {
        let owned: u64 = tx.query_row(
            "SELECT COUNT(*) FROM channels WHERE workspace = ?1 AND owner = ?2",
            params![key.workspace, key.owner],
            |r| r.get(0),
        )?;
        if owned >= limits.max_channels {
            return Ok(ChannelSend::TooManyChannels(limits.max_channels));
        }
        // Channels whose last message went out longer ago than messages are kept hold
        // nothing once their expired messages go: forgotten, they make room for new ones.
        let cutoff = now.saturating_sub(limits.ttl_ms);
        tx.execute(
            "DELETE FROM channel_messages WHERE sent_at <= ?1",
            params![cutoff],
        )?;
        tx.execute(
            "DELETE FROM channels WHERE last_sent_at <= ?1 AND NOT EXISTS (
                 SELECT 1 FROM channel_messages m WHERE m.workspace = channels.workspace
                     AND m.owner = channels.owner AND m.name = channels.name)",
            params![cutoff],
        )?;
        let all: u64 = tx.query_row("SELECT COUNT(*) FROM channels", [], |r| r.get(0))?;
        if all >= limits.max_channels_total {
            return Ok(ChannelSend::StoreFull(limits.max_channels_total));
        }
    }
    let (count, bytes): (u64, u64) = tx.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(body AS BLOB))), 0)
             FROM channel_messages WHERE {WHERE_KEY}"
        ),
        k,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count >= limits.max_messages {
        return Ok(ChannelSend::TooManyMessages(limits.max_messages));
    }
    if bytes.saturating_add(body.len() as u64) > limits.max_bytes {
        return Ok(ChannelSend::TooManyBytes(limits.max_bytes));
    }
    let seq = last.unwrap_or(0) + 1;
    tx.execute(
        "INSERT INTO channels (workspace, owner, name, last_seq, last_sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (workspace, owner, name) DO UPDATE SET last_seq = ?4, last_sent_at = ?5",
        params![key.workspace, key.owner, key.name, seq, now],
    )?;
    tx.execute(
        "INSERT INTO channel_messages (workspace, owner, name, seq, sender, sent_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![key.workspace, key.owner, key.name, seq, sender, now, body],
    )?;
    tx.commit()?;
    Ok(ChannelSend::Sent(seq))
}

/// The condition on a channel `c` whose oldest message was sent at or before `?1`.
pub(crate) const HOLDS_EXPIRED: &str = "(SELECT m.sent_at FROM channel_messages m \
     WHERE m.workspace = c.workspace AND m.owner = c.owner AND m.name = c.name \
     ORDER BY m.seq LIMIT 1) <= ?1";

/// Removes messages older than `ttl_ms` (or, for a dry run, counts them), every channel's at
/// once or, with `max_channels`, those of at most that many channels (the bounded prune each
/// recorded run does). Numbers grow with time within a channel, so a channel's oldest message
/// is its first by key: finding the channels with something due is one index lookup per
/// channel (at most `max_channels_total`), never a scan of every message. Channel rows stay, so
/// numbering goes on.
pub(crate) fn prune(
    conn: &mut Connection,
    ttl_ms: i64,
    max_channels: Option<usize>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let cutoff = now_ms().saturating_sub(ttl_ms);
    let due: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT c.workspace, c.owner, c.name FROM channels c WHERE {HOLDS_EXPIRED} LIMIT ?2"
        ))?;
        stmt.query_map(
            params![
                cutoff,
                max_channels.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX))
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<_, _>>()?
    };
    if due.is_empty() {
        return Ok(0);
    }
    let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
    let mut removed = 0u64;
    for (workspace, owner, name) in &due {
        let k = params![workspace, owner, name, cutoff];
        removed += if dry_run {
            tx.query_row(
                &format!(
                    "SELECT COUNT(*) FROM channel_messages WHERE {WHERE_KEY} AND sent_at <= ?4"
                ),
                k,
                |r| r.get::<_, u64>(0),
            )?
        } else {
            tx.execute(
                &format!("DELETE FROM channel_messages WHERE {WHERE_KEY} AND sent_at <= ?4"),
                k,
            )? as u64
        };
    }
    tx.commit()?;
    Ok(removed)
}

impl ChannelStore for SqliteStore {
    fn send_message(
        &self,
        key: &ChannelKey,
        sender: &str,
        body: &str,
        limits: &ChannelLimits,
    ) -> Result<ChannelSend, StoreError> {
        self.checked(|| send(&mut self.conn(), key, sender, body, limits))
    }

    fn read_messages(
        &self,
        key: &ChannelKey,
        since: i64,
        limit: usize,
        ttl_ms: i64,
    ) -> Result<Vec<ChannelMessage>, StoreError> {
        self.checked(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT seq, sender, sent_at, body FROM channel_messages
                 WHERE {WHERE_KEY} AND seq > ?4 AND sent_at > ?5 ORDER BY seq LIMIT ?6"
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        key.workspace,
                        key.owner,
                        key.name,
                        since,
                        now_ms().saturating_sub(ttl_ms),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |r| {
                        Ok(ChannelMessage {
                            seq: r.get(0)?,
                            sender: r.get(1)?,
                            sent_at_ms: r.get(2)?,
                            body: r.get(3)?,
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn channels(&self, workspace: &str) -> Result<Vec<ChannelInfo>, StoreError> {
        self.checked(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT c.workspace, c.owner, c.name, c.last_seq, c.last_sent_at,
                        COUNT(m.seq), COALESCE(SUM(LENGTH(CAST(m.body AS BLOB))), 0)
                 FROM channels c LEFT JOIN channel_messages m
                   ON m.workspace = c.workspace AND m.owner = c.owner AND m.name = c.name
                 WHERE c.workspace = ?1
                 GROUP BY c.workspace, c.owner, c.name ORDER BY c.owner, c.name",
            )?;
            let rows = stmt
                .query_map([workspace], |r| {
                    Ok(ChannelInfo {
                        key: ChannelKey {
                            workspace: r.get(0)?,
                            owner: r.get(1)?,
                            name: r.get(2)?,
                        },
                        last_seq: r.get(3)?,
                        last_sent_at_ms: r.get(4)?,
                        messages: r.get(5)?,
                        bytes: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn clear_channel(&self, key: &ChannelKey) -> Result<u64, StoreError> {
        self.checked(|| {
            let n = self.conn().execute(
                &format!("DELETE FROM channel_messages WHERE {WHERE_KEY}"),
                params![key.workspace, key.owner, key.name],
            )?;
            Ok(n as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        (dir, store)
    }

    fn key(name: &str) -> ChannelKey {
        ChannelKey {
            workspace: "/w".into(),
            owner: "workspace:pub".into(),
            name: name.into(),
        }
    }

    #[test]
    fn messages_are_numbered_and_read_since() {
        let (_d, s) = store();
        let l = ChannelLimits::default();
        assert_eq!(
            s.send_message(&key("a"), "user", "one", &l).unwrap(),
            ChannelSend::Sent(1)
        );
        assert_eq!(
            s.send_message(&key("a"), "user", "two", &l).unwrap(),
            ChannelSend::Sent(2)
        );
        let after_one = s.read_messages(&key("a"), 1, 10, l.ttl_ms).unwrap();
        assert_eq!(after_one.len(), 1);
        assert_eq!(after_one[0].body, "two");
        assert_eq!(s.clear_channel(&key("a")).unwrap(), 2);
        // Numbering goes on after a clear, so a follower never mistakes a new message for one it saw.
        assert_eq!(
            s.send_message(&key("a"), "user", "three", &l).unwrap(),
            ChannelSend::Sent(3)
        );
        assert!(
            s.read_messages(&key("b"), 0, 10, l.ttl_ms)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn every_bound_refuses_and_keeps_what_was_there() {
        let (_d, s) = store();
        let l = ChannelLimits {
            max_message_bytes: 8,
            max_messages: 3,
            max_bytes: 20,
            max_channels: 2,
            max_channels_total: 100,
            ttl_ms: 60_000,
        };
        assert_eq!(
            s.send_message(&key("a"), "user", "123456789", &l).unwrap(),
            ChannelSend::TooLarge(9, 8)
        );
        for _ in 0..3 {
            assert!(matches!(
                s.send_message(&key("a"), "user", "1234", &l).unwrap(),
                ChannelSend::Sent(_)
            ));
        }
        assert_eq!(
            s.send_message(&key("a"), "user", "x", &l).unwrap(),
            ChannelSend::TooManyMessages(3)
        );
        for _ in 0..2 {
            assert!(matches!(
                s.send_message(&key("b"), "user", "12345678", &l).unwrap(),
                ChannelSend::Sent(_)
            ));
        }
        assert_eq!(
            s.send_message(&key("b"), "user", "12345", &l).unwrap(),
            ChannelSend::TooManyBytes(20)
        );
        assert_eq!(
            s.send_message(&key("c"), "user", "x", &l).unwrap(),
            ChannelSend::TooManyChannels(2)
        );
        assert_eq!(
            s.read_messages(&key("a"), 0, 100, l.ttl_ms).unwrap().len(),
            3
        );
        let listed = s.channels("/w").unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[1].messages, listed[1].bytes), (2, 16));
    }

    /// However many owners and workspaces send, the store holds at most `max_channels_total`
    /// channels (red team 5, F4: three skills filled 800 MB in 25 s); a channel empty for
    /// longer than messages are kept makes room.
    #[test]
    fn the_whole_store_is_bounded_and_a_long_empty_channel_makes_room() {
        let (_d, s) = store();
        let l = ChannelLimits {
            max_channels_total: 3,
            ..ChannelLimits::default()
        };
        let other = |owner: &str, workspace: &str| ChannelKey {
            workspace: workspace.into(),
            owner: owner.into(),
            name: "c".into(),
        };
        for (owner, workspace) in [
            ("workspace:a", "/w1"),
            ("workspace:b", "/w1"),
            ("global:g", "/w2"),
        ] {
            assert!(matches!(
                s.send_message(&other(owner, workspace), "user", "x", &l)
                    .unwrap(),
                ChannelSend::Sent(_)
            ));
        }
        assert_eq!(
            s.send_message(&other("workspace:d", "/w3"), "user", "x", &l)
                .unwrap(),
            ChannelSend::StoreFull(3)
        );
        // Once every message has expired and the channels sent nothing for as long, they go.
        let expired = ChannelLimits { ttl_ms: 0, ..l };
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(matches!(
            s.send_message(&other("workspace:d", "/w3"), "user", "x", &expired)
                .unwrap(),
            ChannelSend::Sent(_)
        ));
    }

    #[test]
    fn expired_messages_make_room_and_are_not_read() {
        let (_d, s) = store();
        let l = ChannelLimits {
            max_messages: 1,
            ttl_ms: 0,
            ..ChannelLimits::default()
        };
        assert_eq!(
            s.send_message(&key("a"), "user", "old", &l).unwrap(),
            ChannelSend::Sent(1)
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(
            s.read_messages(&key("a"), 0, 10, l.ttl_ms)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.send_message(&key("a"), "user", "new", &l).unwrap(),
            ChannelSend::Sent(2)
        );
    }
}
