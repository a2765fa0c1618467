//! What each skill's last context selection saw.

use skillet_store::IndexedFile;

use crate::Db;

crate::both!(a_skills_files_are_replaced_whole_and_read_by_path);

fn file(path: &str, size: i64) -> IndexedFile {
    IndexedFile {
        path: path.into(),
        size,
        modified_ms: size * 10,
        digest: format!("sha256:{size}"),
    }
}

fn a_skills_files_are_replaced_whole_and_read_by_path(db: &Db) {
    let store = db.open();
    assert!(store.context_index("s").expect("read").is_empty());
    store
        .replace_context_index("s", &[file("b.md", 2), file("a.md", 1), file("B.md", 3)])
        .expect("replace");
    store
        .replace_context_index("t", &[file("other.md", 4)])
        .expect("replace");
    let read = store.context_index("s").expect("read");
    assert_eq!(read, [file("B.md", 3), file("a.md", 1), file("b.md", 2)]);
    // Replaced, not merged; another skill's files stay; another replica sees the new set.
    store
        .replace_context_index("s", &[file("c.md", 5)])
        .expect("replace");
    assert_eq!(
        db.open().context_index("s").expect("read"),
        [file("c.md", 5)]
    );
    assert_eq!(
        db.open().context_index("t").expect("read"),
        [file("other.md", 4)]
    );
    store.replace_context_index("s", &[]).expect("replace");
    assert!(store.context_index("s").expect("read").is_empty());
    // Replicas replacing the same skill's set at once: one set wins whole.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = db.open();
            std::thread::spawn(move || {
                for n in 0..10 {
                    let files: Vec<IndexedFile> =
                        (0..5).map(|i| file(&format!("{t}-{i}.md"), n)).collect();
                    store.replace_context_index("u", &files).expect("replace");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let read = store.context_index("u").expect("read");
    assert_eq!(read.len(), 5);
    let owner = &read[0].path[..1];
    assert!(
        read.iter()
            .all(|f| f.path.starts_with(owner) && f.size == 9),
        "{read:?}"
    );
}
