//! The prune's part for channels: their messages go by the channels' own time to live.

use deadpool_postgres::Object;
use skillet_store::{ChannelLimits, StoreError};

use super::{HOLDS_EXPIRED, to_u64};
use crate::error::OrStoreError;

/// Channel messages past the channels' own retention ([`ChannelLimits`]' time to live, not
/// the rule's cutoff: a channel is a mailbox, not history); with `max_channels`, those of at
/// most that many channels. Channel rows stay, so numbering goes on.
pub(super) async fn prune_channels(
    c: &mut Object,
    now: i64,
    max_channels: Option<i64>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let cutoff = now.saturating_sub(ChannelLimits::default().ttl_ms);
    // A channel's oldest message is its first by number: one index lookup per channel.
    let due: Vec<(String, String, String)> = c
        .query(
            &format!(
                "SELECT c.workspace, c.owner, c.name FROM channels c WHERE {HOLDS_EXPIRED} LIMIT $2"
            ),
            &[&cutoff, &max_channels],
        )
        .await
        .db()?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    const KEY: &str = "workspace = $1 AND owner = $2 AND name = $3 AND sent_at <= $4";
    let tx = c.transaction().await.db()?;
    let mut removed = 0u64;
    for (workspace, owner, name) in &due {
        let values: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [workspace, owner, name, &cutoff];
        removed += if dry_run {
            let n: i64 = tx
                .query_one(
                    &format!("SELECT count(*) FROM channel_messages WHERE {KEY}"),
                    &values,
                )
                .await
                .db()?
                .get(0);
            to_u64(n)
        } else {
            tx.execute(
                &format!("DELETE FROM channel_messages WHERE {KEY}"),
                &values,
            )
            .await
            .db()?
        };
    }
    tx.commit().await.db()?;
    Ok(removed)
}
