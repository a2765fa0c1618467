//! PostgreSQL-only checks of the prune (the behaviour both stores share is in tests/conformance).

use skillet_store::{ChannelKey, ChannelStore, Store};

use super::*;

const DAY: i64 = 86_400_000;

fn store() -> Option<PostgresStore> {
    let url = crate::test_server::fresh_url()?;
    Some(PostgresStore::open(&url, None).expect("open"))
}

/// Channel `name` of `/w` with one message sent `age_ms` ago per age, numbered in order.
fn channel(s: &PostgresStore, name: &str, ages_ms: &[i64]) {
    let now = now_ms();
    s.connections()
        .call(async |c| {
            let last = ages_ms.len() as i64;
            c.execute(
                "INSERT INTO channels (workspace, owner, name, last_seq, last_sent_at) \
                 VALUES ('/w', 'o', $1, $2, $3)",
                &[&name, &last, &now],
            )
            .await
            .db()?;
            for (seq, age) in ages_ms.iter().enumerate() {
                let (seq, at) = (seq as i64 + 1, now - age);
                c.execute(
                    "INSERT INTO channel_messages \
                     (workspace, owner, name, seq, sender, sent_at, body) \
                     VALUES ('/w', 'o', $1, $2, 'x', $3, 'hi')",
                    &[&name, &seq, &at],
                )
                .await
                .db()?;
            }
            Ok(())
        })
        .expect("channel rows");
}

fn left(s: &PostgresStore, name: &str) -> Vec<i64> {
    let key = ChannelKey {
        workspace: "/w".into(),
        owner: "o".into(),
        name: name.into(),
    };
    s.read_messages(&key, 0, 100, 365 * DAY)
        .expect("read")
        .into_iter()
        .map(|m| m.seq)
        .collect()
}

#[test]
fn channel_messages_past_their_time_go_and_channels_stay() {
    let Some(s) = store() else { return };
    channel(&s, "a", &[9 * DAY, 8 * DAY, DAY, 0]);
    for n in 0..5 {
        channel(&s, &format!("old-{n}"), &[10 * DAY]);
    }
    channel(&s, "fresh", &[0]);
    let counted = s
        .prune(&Retention {
            dry_run: true,
            ..Retention::default()
        })
        .expect("dry run");
    assert_eq!(counted.channel_messages, 7);
    assert_eq!(left(&s, "a"), [1, 2, 3, 4], "a dry run removes nothing");
    // The bounded prune takes a few channels at a time.
    let bounded = Retention {
        batch: Some(100),
        ..Retention::default()
    };
    let first = s.prune(&bounded).expect("prune").channel_messages;
    let second = s.prune(&bounded).expect("prune").channel_messages;
    assert_eq!(first + second, 7);
    assert!(first <= 5, "{first}: at most four channels' messages");
    assert_eq!(s.prune(&bounded).expect("prune").channel_messages, 0);
    assert_eq!(left(&s, "a"), [3, 4]);
    assert_eq!(left(&s, "fresh"), [1]);
    assert!(left(&s, "old-0").is_empty());
    assert_eq!(
        s.channels("/w").expect("channels").len(),
        7,
        "the channels themselves stay"
    );
}

#[test]
fn the_bounded_prune_takes_the_excess_over_the_count_kept_by_the_trigger() {
    let Some(s) = store() else { return };
    for n in 0..50 {
        s.record(&skillet_store::ExecutionRecord::new(
            format!("0190{n:04}"),
            "s",
            "ok",
        ))
        .expect("record");
    }
    let rule = |batch| Retention {
        max_rows: Some(45),
        batch,
        ..Retention::default()
    };
    // 50 rows over a cap of 45: the bounded prune takes the 5 recorded first.
    assert_eq!(s.prune(&rule(Some(100))).expect("prune").executions, 5);
    let wide = Retention {
        max_rows: Some(1_000),
        ..rule(Some(100))
    };
    assert!(s.prune(&wide).expect("prune").is_empty());
    assert_eq!(s.prune(&rule(None)).expect("prune").executions, 0);
    assert!(!s.prune(&rule(None)).expect("prune").converted);
}
