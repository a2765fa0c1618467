//! The result cache: hits and misses counted exactly, expiry, LRU eviction within a bound, and
//! the digests of keyed files.

use skillet_store::{CacheEntry, FileDigest};

use crate::Db;

crate::both!(
    hits_misses_expiry_and_lru_eviction,
    a_result_stored_again_replaces_it_and_lookups_are_per_skill,
    a_miss_is_counted_only_when_asked,
    stats_and_clearing_are_per_skill,
    eviction_takes_the_least_recently_used_until_all_fit,
    file_digests_are_kept_replaced_and_read_in_order,
    a_result_holding_a_nul_is_no_error,
    concurrent_lookups_on_two_replicas_count_every_hit,
    concurrent_stores_on_two_replicas_keep_the_bound,
);

fn entry(key: &str, skill: &str, body: usize, used: i64) -> CacheEntry {
    CacheEntry {
        key: key.into(),
        skill: skill.into(),
        exit_code: Some(0),
        stdout: "x".repeat(body),
        stderr: String::new(),
        truncated: false,
        execution_id: None,
        created_at_ms: used,
        expires_at_ms: used + 1000,
        last_used_at_ms: used,
        hits: 0,
    }
}

fn keys(entries: Vec<CacheEntry>) -> Vec<String> {
    entries.into_iter().map(|e| e.key).collect()
}

fn hits_misses_expiry_and_lru_eviction(db: &Db) {
    let store = db.open();
    assert!(
        store
            .cache_lookup("s", "k1", 10, true)
            .expect("lookup")
            .is_none()
    );
    store
        .cache_put(&entry("k1", "s", 100, 10), 10_000)
        .expect("put");
    store
        .cache_put(&entry("k2", "s", 100, 20), 10_000)
        .expect("put");
    // k1 used last, so k2 is the least recently used when k3 needs room.
    let hit = store
        .cache_lookup("s", "k1", 30, true)
        .expect("lookup")
        .expect("hit");
    assert_eq!(
        (hit.hits, hit.stdout.len(), hit.last_used_at_ms),
        (1, 100, 30)
    );
    assert!(
        store
            .cache_lookup("t", "k1", 30, true)
            .expect("lookup")
            .is_none(),
        "another skill's key"
    );
    let bound = 2 * entry("k1", "s", 100, 0).size() as u64;
    assert_eq!(
        store
            .cache_put(&entry("k3", "s", 100, 40), bound)
            .expect("put"),
        1
    );
    assert_eq!(
        keys(store.cache_entries(None).expect("entries")),
        ["k3", "k1"]
    );
    // Past its expiry an entry answers nothing and is gone.
    assert!(
        store
            .cache_lookup("s", "k3", 40 + 1000, true)
            .expect("lookup")
            .is_none()
    );
    assert_eq!(keys(store.cache_entries(None).expect("entries")), ["k1"]);
    let stats = store.cache_stats().expect("stats");
    let s = stats.iter().find(|s| s.skill == "s").expect("s");
    assert_eq!((s.hits, s.misses, s.entries), (1, 2, 1));
    assert_eq!(store.cache_clear(Some("s")).expect("clear"), 1);
    assert!(store.cache_entries(None).expect("entries").is_empty());
    // Larger than the whole bound: not kept.
    assert_eq!(
        store
            .cache_put(&entry("big", "s", 1000, 50), 100)
            .expect("put"),
        0
    );
    assert!(store.cache_entries(None).expect("entries").is_empty());
}

fn a_result_stored_again_replaces_it_and_lookups_are_per_skill(db: &Db) {
    let store = db.open();
    let mut first = entry("k", "s", 10, 10);
    first.exit_code = None;
    first.stderr = "warn".into();
    first.truncated = true;
    first.execution_id = Some("0190-x".into());
    store.cache_put(&first, 10_000).expect("put");
    assert_eq!(
        store.cache_entries(Some("s")).expect("entries"),
        [first.clone()]
    );
    let mut second = entry("k", "s", 20, 15);
    second.exit_code = Some(3);
    store.cache_put(&second, 10_000).expect("put");
    let other = db.open();
    assert_eq!(
        other.cache_entries(None).expect("entries"),
        [second.clone()]
    );
    let hit = other
        .cache_lookup("s", "k", 20, true)
        .expect("lookup")
        .expect("hit");
    assert_eq!(
        hit,
        CacheEntry {
            hits: 1,
            last_used_at_ms: 20,
            ..second
        }
    );
    // At its expiry exactly, it no longer answers.
    assert!(
        other
            .cache_lookup("s", "k", 1015, true)
            .expect("lookup")
            .is_none()
    );
    assert!(other.cache_entries(None).expect("entries").is_empty());
}

fn a_miss_is_counted_only_when_asked(db: &Db) {
    let store = db.open();
    assert!(
        store
            .cache_lookup("s", "k", 10, false)
            .expect("lookup")
            .is_none()
    );
    assert!(store.cache_stats().expect("stats").is_empty());
    assert!(
        store
            .cache_lookup("s", "k", 10, true)
            .expect("lookup")
            .is_none()
    );
    assert!(
        store
            .cache_lookup("s", "k", 10, true)
            .expect("lookup")
            .is_none()
    );
    let stats = store.cache_stats().expect("stats");
    assert_eq!(
        stats
            .iter()
            .map(|s| (s.skill.as_str(), s.hits, s.misses))
            .collect::<Vec<_>>(),
        [("s", 0, 2)]
    );
}

fn stats_and_clearing_are_per_skill(db: &Db) {
    let store = db.open();
    let (a1, a2, b1) = (
        entry("a1", "a", 10, 1),
        entry("a2", "a", 30, 2),
        entry("b1", "b", 5, 3),
    );
    for e in [&a1, &a2, &b1] {
        store.cache_put(e, 10_000).expect("put");
    }
    store
        .cache_lookup("b", "b1", 5, true)
        .expect("lookup")
        .expect("hit");
    store.cache_lookup("c", "c1", 5, true).expect("lookup");
    let stats = store.cache_stats().expect("stats");
    let rows: Vec<_> = stats
        .iter()
        .map(|s| (s.skill.as_str(), s.hits, s.misses, s.entries, s.bytes))
        .collect();
    assert_eq!(
        rows,
        [
            ("a", 0, 0, 2, a1.size() + a2.size()),
            ("b", 1, 0, 1, b1.size()),
            ("c", 0, 1, 0, 0),
        ]
    );
    assert_eq!(
        keys(store.cache_entries(Some("a")).expect("entries")),
        ["a2", "a1"]
    );
    // b1 was used last.
    assert_eq!(
        keys(store.cache_entries(None).expect("entries")),
        ["b1", "a2", "a1"]
    );
    assert_eq!(store.cache_clear(Some("a")).expect("clear"), 2);
    let left: Vec<_> = store
        .cache_stats()
        .expect("stats")
        .into_iter()
        .map(|s| s.skill)
        .collect();
    assert_eq!(left, ["b", "c"]);
    assert_eq!(store.cache_clear(None).expect("clear"), 1);
    assert!(store.cache_stats().expect("stats").is_empty());
    assert_eq!(store.cache_clear(None).expect("clear"), 0);
}

fn eviction_takes_the_least_recently_used_until_all_fit(db: &Db) {
    let store = db.open();
    let size = entry("k0", "s", 100, 0).size() as u64;
    for i in 0..5 {
        store
            .cache_put(&entry(&format!("k{i}"), "s", 100, 10 + i), 100 * size)
            .expect("put");
    }
    // k0 is used again: k1 and k2 are now the oldest.
    store
        .cache_lookup("s", "k0", 100, true)
        .expect("lookup")
        .expect("hit");
    // Room for three and a half, and the new one takes one and a half: the three oldest go.
    let big = entry("k5", "s", 151, 200);
    assert_eq!(big.size() as u64, size + size / 2);
    let evicted = store.cache_put(&big, 3 * size + size / 2).expect("put");
    assert_eq!(evicted, 3);
    assert_eq!(
        keys(store.cache_entries(None).expect("entries")),
        ["k5", "k0", "k4"]
    );
    // An entry the size of the whole bound evicts everything else.
    let whole = entry("k6", "s", 10, 300);
    assert_eq!(
        store.cache_put(&whole, whole.size() as u64).expect("put"),
        3
    );
    assert_eq!(keys(store.cache_entries(None).expect("entries")), ["k6"]);
}

fn digest(path: &str, n: i64) -> FileDigest {
    FileDigest {
        path: path.into(),
        device: 66_305,
        inode: 1_000 + n,
        size: 4096 * n,
        mtime_ns: 1_733_000_000_123_456_789 + n,
        ctime_ns: 1_733_000_000_987_654_321 + n,
        digest: format!("sha256:{n:064}"),
    }
}

fn file_digests_are_kept_replaced_and_read_in_order(db: &Db) {
    let store = db.open();
    store.save_file_digests(&[]).expect("save nothing");
    assert!(store.file_digests(&[]).expect("read nothing").is_empty());
    store
        .save_file_digests(&[digest("/a", 1), digest("/b", 2), digest("/c", 3)])
        .expect("save");
    store
        .save_file_digests(&[digest("/b", 20)])
        .expect("replace");
    let asked = [
        "/c".to_owned(),
        "/missing".to_owned(),
        "/b".to_owned(),
        "/a".to_owned(),
    ];
    let found = db.open().file_digests(&asked).expect("read");
    assert_eq!(found, [digest("/c", 3), digest("/b", 20), digest("/a", 1)]);
}

/// Eight threads on two replicas look the same result up at once: every hit is counted, on
/// the result and in the skill's counts, and so is every miss of another key.
fn concurrent_lookups_on_two_replicas_count_every_hit(db: &Db) {
    const THREADS: usize = 8;
    const LOOKUPS: usize = 25;
    let stores = [db.open(), db.open()];
    let mut e = entry("k", "s", 10, 1);
    e.expires_at_ms = i64::MAX;
    stores[0].cache_put(&e, 1_000_000).expect("put");
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = &stores[t % 2];
            s.spawn(move || {
                for i in 0..LOOKUPS {
                    let now = 10 + i as i64;
                    assert!(
                        store
                            .cache_lookup("s", "k", now, true)
                            .expect("lookup")
                            .is_some()
                    );
                    assert!(
                        store
                            .cache_lookup("s", "nope", now, true)
                            .expect("lookup")
                            .is_none()
                    );
                }
            });
        }
    });
    let total = (THREADS * LOOKUPS) as i64;
    let stats = db.open().cache_stats().expect("stats");
    assert_eq!(
        stats
            .iter()
            .map(|s| (s.skill.as_str(), s.hits, s.misses))
            .collect::<Vec<_>>(),
        [("s", total, total)]
    );
    let kept = db.open().cache_entries(None).expect("entries");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].hits, total);
}

/// Stores on two replicas at once never leave the cache above its bound, not even for a moment
/// another replica could see.
fn concurrent_stores_on_two_replicas_keep_the_bound(db: &Db) {
    const THREADS: usize = 6;
    const PUTS: usize = 15;
    let size = entry("t0-00", "s", 200, 0).size() as u64;
    let bound = 10 * size;
    let stores = [db.open(), db.open()];
    let evicted = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, evicted) = (&stores[t % 2], &evicted);
            s.spawn(move || {
                for i in 0..PUTS {
                    let e = entry(&format!("t{t}-{i:02}"), "s", 200, (i * THREADS + t) as i64);
                    let n = store.cache_put(&e, bound).expect("put");
                    evicted.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                    // What any replica sees between stores is within the bound too.
                    let seen: i64 = store
                        .cache_stats()
                        .expect("stats")
                        .iter()
                        .map(|s| s.bytes)
                        .sum();
                    assert!(seen as u64 <= bound, "{seen} bytes seen, bound {bound}");
                }
            });
        }
    });
    let stats = db.open().cache_stats().expect("stats");
    let bytes = stats[0].bytes as u64;
    assert!(bytes <= bound, "{bytes} bytes kept, bound {bound}");
    assert_eq!(stats[0].entries, 10, "the bound is full");
    assert_eq!(
        evicted.load(std::sync::atomic::Ordering::SeqCst),
        (THREADS * PUTS - 10) as u64,
        "every entry evicted once"
    );
}

/// A result whose output holds a NUL is kept exactly (SQLite) or not at all (PostgreSQL,
/// whose text cannot hold one); never an error, never changed.
fn a_result_holding_a_nul_is_no_error(db: &Db) {
    let store = db.open();
    let mut e = entry("k", "s", 3, 10);
    e.stdout = "a\0b".into();
    assert_eq!(store.cache_put(&e, 10_000).expect("put"), 0);
    match store.cache_lookup("s", "k", 20, true).expect("lookup") {
        Some(hit) => {
            assert_eq!(db.backend(), "sqlite");
            assert_eq!(hit.stdout, "a\0b");
        }
        None => assert_eq!(db.backend(), "postgres"),
    }
}
