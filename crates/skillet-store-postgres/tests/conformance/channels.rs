//! Channels: numbered messages, bounded, expiring; numbers never repeat under concurrent
//! senders on several replicas.

use std::time::Duration;

use skillet_store::{ChannelKey, ChannelLimits, ChannelSend};

use crate::Db;

crate::both!(
    messages_are_numbered_and_read_since,
    every_bound_refuses_and_keeps_what_was_there,
    the_whole_store_is_bounded_and_a_long_empty_channel_makes_room,
    expired_messages_make_room_and_are_not_read,
    a_message_is_read_whole_with_its_sender_and_time,
    a_message_holding_a_nul_is_kept_or_refused_whole,
    channels_are_listed_per_workspace_by_owner_and_name,
    concurrent_senders_on_two_replicas_get_distinct_numbers_and_lose_nothing,
    concurrent_new_channels_on_two_replicas_keep_the_channel_bound,
);

fn key(name: &str) -> ChannelKey {
    ChannelKey {
        workspace: "/w".into(),
        owner: "workspace:pub".into(),
        name: name.into(),
    }
}

fn sent(r: ChannelSend) -> i64 {
    match r {
        ChannelSend::Sent(n) => n,
        other => panic!("not sent: {other:?}"),
    }
}

fn messages_are_numbered_and_read_since(db: &Db) {
    let s = db.open();
    let l = ChannelLimits::default();
    assert_eq!(
        s.send_message(&key("a"), "user", "one", &l).expect("send"),
        ChannelSend::Sent(1)
    );
    assert_eq!(
        s.send_message(&key("a"), "user", "two", &l).expect("send"),
        ChannelSend::Sent(2)
    );
    let after_one = s.read_messages(&key("a"), 1, 10, l.ttl_ms).expect("read");
    assert_eq!(after_one.len(), 1);
    assert_eq!(after_one[0].body, "two");
    let first = s.read_messages(&key("a"), 0, 1, l.ttl_ms).expect("read");
    assert_eq!(first.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(s.clear_channel(&key("a")).expect("clear"), 2);
    assert!(
        s.read_messages(&key("a"), 0, 10, l.ttl_ms)
            .expect("read")
            .is_empty()
    );
    // Numbering goes on after a clear, so a follower never mistakes a new message for one it saw.
    assert_eq!(
        s.send_message(&key("a"), "user", "three", &l)
            .expect("send"),
        ChannelSend::Sent(3)
    );
    assert!(
        s.read_messages(&key("b"), 0, 10, l.ttl_ms)
            .expect("read")
            .is_empty()
    );
    assert_eq!(s.clear_channel(&key("b")).expect("clear"), 0);
}

fn every_bound_refuses_and_keeps_what_was_there(db: &Db) {
    let s = db.open();
    let l = ChannelLimits {
        max_message_bytes: 8,
        max_messages: 3,
        max_bytes: 20,
        max_channels: 2,
        max_channels_total: 100,
        ttl_ms: 60_000,
    };
    assert_eq!(
        s.send_message(&key("a"), "user", "123456789", &l)
            .expect("send"),
        ChannelSend::TooLarge(9, 8)
    );
    // Bytes, not characters.
    assert_eq!(
        s.send_message(&key("a"), "user", "ééééé", &l)
            .expect("send"),
        ChannelSend::TooLarge(10, 8)
    );
    for _ in 0..3 {
        sent(s.send_message(&key("a"), "user", "1234", &l).expect("send"));
    }
    assert_eq!(
        s.send_message(&key("a"), "user", "x", &l).expect("send"),
        ChannelSend::TooManyMessages(3)
    );
    for _ in 0..2 {
        sent(
            s.send_message(&key("b"), "user", "123456é", &l)
                .expect("send"),
        );
    }
    assert_eq!(
        s.send_message(&key("b"), "user", "12345", &l)
            .expect("send"),
        ChannelSend::TooManyBytes(20)
    );
    // What still fits is taken.
    assert_eq!(
        s.send_message(&key("b"), "user", "1234", &l).expect("send"),
        ChannelSend::Sent(3)
    );
    assert_eq!(
        s.send_message(&key("c"), "user", "x", &l).expect("send"),
        ChannelSend::TooManyChannels(2)
    );
    // Another owner has bounds of its own.
    let elsewhere = ChannelKey {
        owner: "workspace:other".into(),
        ..key("c")
    };
    sent(s.send_message(&elsewhere, "user", "x", &l).expect("send"));
    assert_eq!(
        s.read_messages(&key("a"), 0, 100, l.ttl_ms)
            .expect("read")
            .len(),
        3
    );
    let listed = s.channels("/w").expect("list");
    assert_eq!(listed.len(), 3);
    let counts: Vec<_> = listed
        .iter()
        .map(|c| {
            (
                c.key.owner.as_str(),
                c.key.name.as_str(),
                c.messages,
                c.bytes,
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("workspace:other", "c", 1, 1),
            ("workspace:pub", "a", 3, 12),
            ("workspace:pub", "b", 3, 20)
        ]
    );
}

/// However many owners and workspaces send, the store holds at most `max_channels_total`
/// channels; a channel empty for longer than messages are kept makes room.
fn the_whole_store_is_bounded_and_a_long_empty_channel_makes_room(db: &Db) {
    let s = db.open();
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
        sent(
            s.send_message(&other(owner, workspace), "user", "x", &l)
                .expect("send"),
        );
    }
    assert_eq!(
        s.send_message(&other("workspace:d", "/w3"), "user", "x", &l)
            .expect("send"),
        ChannelSend::StoreFull(3)
    );
    // A channel that exists still takes messages.
    assert_eq!(
        s.send_message(&other("workspace:a", "/w1"), "user", "y", &l)
            .expect("send"),
        ChannelSend::Sent(2)
    );
    // Once every message has expired and the channels sent nothing for as long, they go.
    let expired = ChannelLimits { ttl_ms: 0, ..l };
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        s.send_message(&other("workspace:d", "/w3"), "user", "x", &expired)
            .expect("send"),
        ChannelSend::Sent(1)
    );
    assert!(s.channels("/w1").expect("list").is_empty(), "forgotten");
}

fn expired_messages_make_room_and_are_not_read(db: &Db) {
    let s = db.open();
    let l = ChannelLimits {
        max_messages: 1,
        ttl_ms: 0,
        ..ChannelLimits::default()
    };
    assert_eq!(
        s.send_message(&key("a"), "user", "old", &l).expect("send"),
        ChannelSend::Sent(1)
    );
    std::thread::sleep(Duration::from_millis(5));
    assert!(
        s.read_messages(&key("a"), 0, 10, l.ttl_ms)
            .expect("read")
            .is_empty()
    );
    assert_eq!(
        s.send_message(&key("a"), "user", "new", &l).expect("send"),
        ChannelSend::Sent(2)
    );
    // Read with a longer ttl, only the new one is there: the old one was dropped.
    let kept = s.read_messages(&key("a"), 0, 10, 60_000).expect("read");
    assert_eq!(
        kept.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
}

fn a_message_is_read_whole_with_its_sender_and_time(db: &Db) {
    let before = skillet_store::now_ms();
    let n = sent(
        db.open()
            .send_message(
                &key("a"),
                "workspace:sender",
                "hé\n{\"x\":1}",
                &ChannelLimits::default(),
            )
            .expect("send"),
    );
    let after = skillet_store::now_ms();
    let read = db
        .open()
        .read_messages(&key("a"), 0, 10, 60_000)
        .expect("read");
    assert_eq!(read.len(), 1);
    let m = &read[0];
    assert_eq!(
        (m.seq, m.sender.as_str(), m.body.as_str()),
        (n, "workspace:sender", "hé\n{\"x\":1}")
    );
    assert!((before..=after).contains(&m.sent_at_ms));
    let info = db.open().channels("/w").expect("list");
    assert_eq!(info[0].last_sent_at_ms, Some(m.sent_at_ms));
    assert_eq!(
        (info[0].last_seq, info[0].messages, info[0].bytes),
        (1, 1, 11)
    );
}

fn channels_are_listed_per_workspace_by_owner_and_name(db: &Db) {
    let s = db.open();
    let l = ChannelLimits::default();
    for (ws, owner, name) in [
        ("/w", "workspace:b", "x"),
        ("/w", "workspace:a", "z"),
        ("/w", "workspace:a", "Y"),
        ("/w", "workspace:a", "y"),
        ("/v", "workspace:a", "a"),
    ] {
        let k = ChannelKey {
            workspace: ws.into(),
            owner: owner.into(),
            name: name.into(),
        };
        sent(s.send_message(&k, "user", "m", &l).expect("send"));
    }
    let listed: Vec<(String, String)> = s
        .channels("/w")
        .expect("list")
        .into_iter()
        .map(|c| (c.key.owner, c.key.name))
        .collect();
    assert_eq!(
        listed,
        [
            ("workspace:a".to_owned(), "Y".to_owned()),
            ("workspace:a".to_owned(), "y".to_owned()),
            ("workspace:a".to_owned(), "z".to_owned()),
            ("workspace:b".to_owned(), "x".to_owned()),
        ]
    );
    // A cleared channel is still listed, empty, with its numbering.
    s.clear_channel(&ChannelKey {
        workspace: "/v".into(),
        owner: "workspace:a".into(),
        name: "a".into(),
    })
    .expect("clear");
    let v = s.channels("/v").expect("list");
    assert_eq!(
        (v.len(), v[0].messages, v[0].bytes, v[0].last_seq),
        (1, 0, 0, 1)
    );
    assert!(s.channels("/none").expect("list").is_empty());
}

/// Eight senders on two replicas send to one channel at once: every message is kept, under a
/// number of its own, and the numbers run 1..=N with no gap.
fn concurrent_senders_on_two_replicas_get_distinct_numbers_and_lose_nothing(db: &Db) {
    const THREADS: usize = 8;
    const SENDS: usize = 20;
    let stores = [db.open(), db.open()];
    let barrier = std::sync::Barrier::new(THREADS);
    let mut numbers: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, barrier) = (&stores[t % 2], &barrier);
                s.spawn(move || {
                    barrier.wait();
                    (0..SENDS)
                        .map(|i| {
                            sent(
                                store
                                    .send_message(
                                        &key("busy"),
                                        &format!("sender {t}"),
                                        &format!("{t}:{i}"),
                                        &ChannelLimits::default(),
                                    )
                                    .expect("send"),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("sender"))
            .collect()
    });
    numbers.sort_unstable();
    let total = (THREADS * SENDS) as i64;
    assert_eq!(numbers, (1..=total).collect::<Vec<_>>());
    let read = db
        .open()
        .read_messages(&key("busy"), 0, 10_000, 60_000)
        .expect("read");
    assert_eq!(read.len(), THREADS * SENDS);
    assert_eq!(
        read.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    // Each sender's messages were numbered in the order it sent them.
    for t in 0..THREADS {
        let mine: Vec<&str> = read
            .iter()
            .filter(|m| m.sender == format!("sender {t}"))
            .map(|m| m.body.as_str())
            .collect();
        let expected: Vec<String> = (0..SENDS).map(|i| format!("{t}:{i}")).collect();
        assert_eq!(mine, expected);
    }
}

/// Senders on two replicas each make a new channel of the same owner at once: no more are
/// made than the owner may have.
fn concurrent_new_channels_on_two_replicas_keep_the_channel_bound(db: &Db) {
    const THREADS: usize = 8;
    let l = ChannelLimits {
        max_channels: 3,
        ..ChannelLimits::default()
    };
    let stores = [db.open(), db.open()];
    let barrier = std::sync::Barrier::new(THREADS);
    let results: Vec<ChannelSend> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, barrier) = (&stores[t % 2], &barrier);
                s.spawn(move || {
                    barrier.wait();
                    store
                        .send_message(&key(&format!("c{t}")), "user", "x", &l)
                        .expect("send")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sender"))
            .collect()
    });
    let made = results
        .iter()
        .filter(|r| **r == ChannelSend::Sent(1))
        .count();
    let refused = results
        .iter()
        .filter(|r| **r == ChannelSend::TooManyChannels(3))
        .count();
    assert_eq!((made, refused), (3, THREADS - 3), "{results:?}");
    assert_eq!(db.open().channels("/w").expect("list").len(), 3);
}

/// SQLite keeps a message with a NUL as it is; PostgreSQL, whose text cannot hold one, refuses
/// it with an error that says so, and keeps nothing of it.
fn a_message_holding_a_nul_is_kept_or_refused_whole(db: &Db) {
    let s = db.open();
    let sent = s.send_message(&key("a"), "user", "a\0b", &ChannelLimits::default());
    let read = s.read_messages(&key("a"), 0, 10, 60_000).expect("read");
    match db.backend() {
        "sqlite" => {
            assert_eq!(sent.expect("send"), ChannelSend::Sent(1));
            assert_eq!(read[0].body, "a\0b");
        }
        _ => {
            let err = sent.expect_err("refused").to_string();
            assert!(err.contains("NUL"), "{err}");
            assert!(read.is_empty());
            assert!(s.channels("/w").expect("list").is_empty());
        }
    }
}
