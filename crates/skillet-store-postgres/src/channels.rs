//! Named channels and their messages.
//!
//! A send is one transaction that holds the channel's row lock (`SELECT … FOR UPDATE`) while it
//! drops expired messages, checks the bounds, numbers the message and appends it, so concurrent
//! senders in any number of replicas never share a number nor take a channel past its bounds.
//! A send that makes a new channel first takes a transaction-scoped advisory lock that every
//! such send takes, so the bounds on how many channels there are hold across replicas too (and
//! two replicas making the same channel are served one after the other).

use skillet_store::{
    ChannelInfo, ChannelKey, ChannelLimits, ChannelMessage, ChannelSend, ChannelStore, StoreError,
    now_ms,
};

use crate::PostgresStore;
use crate::error::{OrStoreError, is_retryable};

const WHERE_KEY: &str = "workspace = $1 AND owner = $2 AND name = $3";

/// The advisory lock sends that make a channel hold ("skillet" and `n`).
const NEW_CHANNEL_LOCK: i64 = 0x736b_696c_6c65_746e;

/// How often a send that met a deadlock is tried again.
const ATTEMPTS: usize = 5;

/// A count or a sum, never negative, as the `u64` the trait speaks.
fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// One try at a send: one transaction, rolled back when a bound refuses it.
async fn send_once(
    c: &mut deadpool_postgres::Object,
    key: &ChannelKey,
    sender: &str,
    body: &str,
    limits: &ChannelLimits,
) -> Result<ChannelSend, tokio_postgres::Error> {
    let tx = c.transaction().await?;
    let now = now_ms();
    let cutoff = now.saturating_sub(limits.ttl_ms);
    let k: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&key.workspace, &key.owner, &key.name];
    let select = format!("SELECT last_seq FROM channels WHERE {WHERE_KEY} FOR UPDATE");
    let mut last: Option<i64> = tx.query_opt(&select, &k).await?.map(|r| r.get(0));
    if last.is_none() {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&NEW_CHANNEL_LOCK])
            .await?;
        // Made by another replica while this one waited: numbered after its messages.
        last = tx.query_opt(&select, &k).await?.map(|r| r.get(0));
    }
    tx.execute(
        &format!("DELETE FROM channel_messages WHERE {WHERE_KEY} AND sent_at <= $4"),
        &[&key.workspace, &key.owner, &key.name, &cutoff],
    )
    .await?;
    if last.is_none() {
        let owned: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM channels WHERE workspace = $1 AND owner = $2",
                &[&key.workspace, &key.owner],
            )
            .await?
            .get(0);
        if unsigned(owned) >= limits.max_channels {
            return Ok(ChannelSend::TooManyChannels(limits.max_channels));
        }
        // Channels whose last message went out longer ago than messages are kept hold
        // nothing once their expired messages go: forgotten, they make room for new ones.
        tx.execute(
            "DELETE FROM channel_messages WHERE sent_at <= $1",
            &[&cutoff],
        )
        .await?;
        tx.execute(
            "DELETE FROM channels WHERE last_sent_at <= $1 AND NOT EXISTS (
                 SELECT 1 FROM channel_messages m WHERE m.workspace = channels.workspace
                     AND m.owner = channels.owner AND m.name = channels.name)",
            &[&cutoff],
        )
        .await?;
        let all: i64 = tx
            .query_one("SELECT COUNT(*) FROM channels", &[])
            .await?
            .get(0);
        if unsigned(all) >= limits.max_channels_total {
            return Ok(ChannelSend::StoreFull(limits.max_channels_total));
        }
    }
    let row = tx
        .query_one(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(octet_length(body)), 0)::BIGINT
                 FROM channel_messages WHERE {WHERE_KEY}"
            ),
            &k,
        )
        .await?;
    let (count, bytes) = (unsigned(row.get(0)), unsigned(row.get(1)));
    if count >= limits.max_messages {
        return Ok(ChannelSend::TooManyMessages(limits.max_messages));
    }
    if bytes.saturating_add(body.len() as u64) > limits.max_bytes {
        return Ok(ChannelSend::TooManyBytes(limits.max_bytes));
    }
    let seq = last.unwrap_or(0) + 1;
    tx.execute(
        "INSERT INTO channels (workspace, owner, name, last_seq, last_sent_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workspace, owner, name)
         DO UPDATE SET last_seq = excluded.last_seq, last_sent_at = excluded.last_sent_at",
        &[&key.workspace, &key.owner, &key.name, &seq, &now],
    )
    .await?;
    tx.execute(
        "INSERT INTO channel_messages (workspace, owner, name, seq, sender, sent_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &key.workspace,
            &key.owner,
            &key.name,
            &seq,
            &sender,
            &now,
            &body,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(ChannelSend::Sent(seq))
}

impl ChannelStore for PostgresStore {
    fn send_message(
        &self,
        key: &ChannelKey,
        sender: &str,
        body: &str,
        limits: &ChannelLimits,
    ) -> Result<ChannelSend, StoreError> {
        if body.len() > limits.max_message_bytes {
            return Ok(ChannelSend::TooLarge(body.len(), limits.max_message_bytes));
        }
        if body.contains('\0') || sender.contains('\0') {
            return Err(StoreError::Invalid(
                "a channel message with a NUL character cannot be kept by the PostgreSQL store"
                    .into(),
            ));
        }
        self.connections().call(async |c| {
            let mut attempt = 1;
            loop {
                match send_once(c, key, sender, body, limits).await {
                    Err(e) if attempt < ATTEMPTS && is_retryable(&e) => attempt += 1,
                    other => return other.db(),
                }
            }
        })
    }

    fn read_messages(
        &self,
        key: &ChannelKey,
        since: i64,
        limit: usize,
        ttl_ms: i64,
    ) -> Result<Vec<ChannelMessage>, StoreError> {
        let cutoff = now_ms().saturating_sub(ttl_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.connections().call(async |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT seq, sender, sent_at, body FROM channel_messages
                         WHERE {WHERE_KEY} AND seq > $4 AND sent_at > $5 ORDER BY seq LIMIT $6"
                    ),
                    &[
                        &key.workspace,
                        &key.owner,
                        &key.name,
                        &since,
                        &cutoff,
                        &limit,
                    ],
                )
                .await
                .db()?;
            Ok(rows
                .iter()
                .map(|r| ChannelMessage {
                    seq: r.get(0),
                    sender: r.get(1),
                    sent_at_ms: r.get(2),
                    body: r.get(3),
                })
                .collect())
        })
    }

    fn channels(&self, workspace: &str) -> Result<Vec<ChannelInfo>, StoreError> {
        self.connections().call(async |c| {
            let rows = c
                .query(
                    "SELECT c.workspace, c.owner, c.name, c.last_seq, c.last_sent_at,
                            COUNT(m.seq), COALESCE(SUM(octet_length(m.body)), 0)::BIGINT
                     FROM channels c LEFT JOIN channel_messages m
                       ON m.workspace = c.workspace AND m.owner = c.owner AND m.name = c.name
                     WHERE c.workspace = $1
                     GROUP BY c.workspace, c.owner, c.name
                     ORDER BY c.owner COLLATE \"C\", c.name COLLATE \"C\"",
                    &[&workspace],
                )
                .await
                .db()?;
            Ok(rows
                .iter()
                .map(|r| ChannelInfo {
                    key: ChannelKey {
                        workspace: r.get(0),
                        owner: r.get(1),
                        name: r.get(2),
                    },
                    last_seq: r.get(3),
                    last_sent_at_ms: r.get(4),
                    messages: unsigned(r.get(5)),
                    bytes: unsigned(r.get(6)),
                })
                .collect())
        })
    }

    fn clear_channel(&self, key: &ChannelKey) -> Result<u64, StoreError> {
        self.connections().call(async |c| {
            c.execute(
                &format!("DELETE FROM channel_messages WHERE {WHERE_KEY}"),
                &[&key.workspace, &key.owner, &key.name],
            )
            .await
            .db()
        })
    }
}
