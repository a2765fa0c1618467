//! Limits on what is read (issue 18): a skill file or `SKILL.md` over its size limit, a string
//! over its field's length, and files that are not files at all (a FIFO, a link to
//! `/dev/zero`, a directory); nesting and numbers are in `nesting_limits.rs`. Each is a diagnostic that names the limit and
//! what the file holds; none panics, hangs or reads the whole file.

#![allow(clippy::unwrap_used)] // a test: a failed setup step should panic loudly

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{errors, skill_with};
use skillet_spec::limits::{
    MAX_DESCRIPTION_CHARS, MAX_KEY_CHARS, MAX_NAME_CHARS, MAX_SKILL_FILE_BYTES, MAX_SKILL_MD_BYTES,
    MAX_STRING_CHARS, MAX_TEMPLATE_CHARS, MAX_VERSION_CHARS,
};
use skillet_spec::{LoadedSkill, load_file, load_file_within, load_json, load_skill_md};

/// A directory removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "skillet-limits-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads `path` on another thread and fails the test if that takes more than ten seconds: a
/// FIFO or a device that blocked would otherwise hang the whole run.
fn load_quickly(path: &Path, within: Option<&Path>) -> LoadedSkill {
    let (path, within) = (path.to_path_buf(), within.map(Path::to_path_buf));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let loaded = match within {
            Some(root) => load_file_within(&path, &root),
            None => load_file(&path),
        };
        let _ = tx.send(loaded);
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("loading did not finish within 10 s: it blocked or read far too much")
}

/// A valid skill padded with trailing whitespace to exactly `size` bytes.
fn skill_of_size(size: usize) -> String {
    let mut text = skill_with("");
    text.push_str(&" ".repeat(size - text.len()));
    text
}

// ---- file size ----

#[test]
fn a_skill_file_at_the_limit_loads_and_one_byte_more_is_refused_with_both_sizes() {
    let d = Dir::new("size");
    let at = d.join("at.json");
    std::fs::write(&at, skill_of_size(MAX_SKILL_FILE_BYTES)).unwrap();
    let loaded = load_quickly(&at, None);
    assert!(loaded.is_valid(), "{:?}", loaded.diagnostics);

    let over = d.join("over.json");
    std::fs::write(&over, skill_of_size(MAX_SKILL_FILE_BYTES + 1)).unwrap();
    let loaded = load_quickly(&over, None);
    assert_eq!(
        errors(&loaded),
        ["the file is 1048577 bytes; the limit for a skill file is 1048576 bytes (1 MiB)"]
    );
}

#[test]
fn a_two_megabyte_skill_file_is_a_diagnostic_not_a_read() {
    let d = Dir::new("2mb");
    let path = d.join("big.json");
    let text = skill_with(&format!(
        r#", "metadata": {{"pad": "{}"}}"#,
        "x".repeat(2_000_000)
    ));
    std::fs::write(&path, &text).unwrap();
    let loaded = load_quickly(&path, None);
    let msgs = errors(&loaded);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].contains(&format!("is {} bytes", text.len())) && msgs[0].contains("1048576"),
        "{msgs:?}"
    );
    // The same through the workspace path (opened beneath the workspace root).
    let loaded = load_quickly(&path, Some(&d.0));
    assert_eq!(errors(&loaded), msgs);
}

#[test]
fn a_sparse_ten_gigabyte_file_is_refused_by_its_size_without_reading_it() {
    let d = Dir::new("sparse");
    let path = d.join("huge.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(10 << 30).unwrap();
    let start = Instant::now();
    let loaded = load_quickly(&path, None);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}: the file was read",
        start.elapsed()
    );
    assert_eq!(
        errors(&loaded),
        ["the file is 10737418240 bytes; the limit for a skill file is 1048576 bytes (1 MiB)"]
    );
}

#[test]
fn a_skill_md_at_the_limit_loads_and_one_byte_more_is_refused() {
    let d = Dir::new("md");
    std::fs::create_dir_all(d.join("s")).unwrap();
    let path = d.join("s/SKILL.md");
    let head = "---\nname: s\ndescription: d\n---\nBody\n";
    // The body is the prompt, held to MAX_TEMPLATE_CHARS: pad with YAML comment lines instead.
    let pad = |size: usize| {
        let mut text = String::from("---\nname: s\ndescription: d\n");
        let room = size - head.len();
        let mut left = room;
        while left > 0 {
            let line = left.min(80);
            // A YAML comment line of `line` bytes, newline included.
            if line >= 3 {
                text.push('#');
                text.push_str(&" ".repeat(line - 2));
                text.push('\n');
            } else {
                text.push_str(&"\n".repeat(line));
            }
            left -= line;
        }
        text.push_str("---\nBody\n");
        assert_eq!(text.len(), size);
        text
    };
    std::fs::write(&path, pad(MAX_SKILL_MD_BYTES)).unwrap();
    let loaded = load_quickly(&path, None);
    assert!(loaded.is_valid(), "{:?}", loaded.diagnostics);

    std::fs::write(&path, pad(MAX_SKILL_MD_BYTES + 1)).unwrap();
    let loaded = load_quickly(&path, None);
    assert_eq!(
        errors(&loaded),
        ["SKILL.md is 1048577 bytes; the limit for a SKILL.md is 1048576 bytes (1 MiB)"]
    );
    // The same text given directly is held to the same limit.
    let loaded = load_skill_md(&pad(MAX_SKILL_MD_BYTES + 1));
    assert_eq!(errors(&loaded).len(), 1);
}

// ---- field lengths ----

/// Each field with its own limit: at the limit the skill loads, one character more is an error
/// naming the field, its length and the limit.
#[test]
fn every_field_loads_at_its_limit_and_is_refused_one_character_over() {
    type Make = dyn Fn(&str) -> String;
    let cases: &[(&str, usize, &Make)] = &[
        ("description", MAX_DESCRIPTION_CHARS, &|v| {
            format!(
                r#"{{"name": "s", "description": "{v}", "type": "prompt_inline", "prompt_template": "hi"}}"#
            )
        }),
        ("parameters[0].description", MAX_DESCRIPTION_CHARS, &|v| {
            skill_with(&format!(
                r#", "parameters": [{{"name": "p", "type": "string", "description": "{v}"}}]"#
            ))
        }),
        ("prompt_template", MAX_TEMPLATE_CHARS, &|v| {
            format!(
                r#"{{"name": "s", "description": "d", "type": "prompt_inline", "prompt_template": "{v}"}}"#
            )
        }),
        ("command", MAX_STRING_CHARS, &|v| {
            format!(
                r#"{{"name": "s", "description": "d", "type": "code_inline", "command": "{v}"}}"#
            )
        }),
        ("args[1]", MAX_STRING_CHARS, &|v| {
            format!(
                r#"{{"name": "s", "description": "d", "type": "code_inline", "command": "echo", "args": ["a", "{v}"]}}"#
            )
        }),
        ("metadata.note", MAX_STRING_CHARS, &|v| {
            skill_with(&format!(r#", "metadata": {{"note": "{v}"}}"#))
        }),
    ];
    for (path, limit, make) in cases {
        let at = load_json(&make(&"a".repeat(*limit)), None);
        assert!(at.is_valid(), "{path} at {limit}: {:?}", at.diagnostics);
        let over = load_json(&make(&"a".repeat(limit + 1)), None);
        let d = over.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert_eq!(
            d.message,
            format!(
                "`{path}` is {} characters long; the limit is {limit}",
                limit + 1
            ),
            "{path}"
        );
        assert_eq!(d.path.as_deref(), Some(*path));
        assert!(d.position.is_some(), "{path}: no position");
        assert!(!over.is_valid());
    }
}

#[test]
fn names_and_versions_have_short_limits() {
    let name = |n: usize| {
        load_json(
            &format!(
                r#"{{"name": "{}", "description": "d", "type": "prompt_inline", "prompt_template": "hi"}}"#,
                "a".repeat(n)
            ),
            None,
        )
    };
    assert!(name(MAX_NAME_CHARS).is_valid());
    let over = name(MAX_NAME_CHARS + 1);
    assert_eq!(
        errors(&over),
        ["`name` is 65 characters long; the limit is 64"]
    );
    // A name past the limit is not taken as the skill's name (the file's name stands in).
    assert_eq!(over.declared_name(), None);

    let alias = load_json(
        &skill_with(&format!(r#", "aliases": ["{}"]"#, "b".repeat(65))),
        None,
    );
    assert_eq!(
        errors(&alias),
        ["`aliases[0]` is 65 characters long; the limit is 64"]
    );
    let version = |v: &str| load_json(&skill_with(&format!(r#", "version": "1.0.0-{v}""#)), None);
    assert!(version(&"a".repeat(MAX_VERSION_CHARS - 6)).is_valid());
    assert_eq!(
        errors(&version(&"a".repeat(MAX_VERSION_CHARS - 5))),
        ["`version` is 129 characters long; the limit is 128"]
    );
}

#[test]
fn a_description_of_100000_characters_is_an_error_in_every_format() {
    let long = "é".repeat(100_000);
    let json = load_json(
        &format!(
            r#"{{"name": "s", "description": "{long}", "type": "prompt_inline", "prompt_template": "hi"}}"#
        ),
        None,
    );
    assert_eq!(
        errors(&json),
        ["`description` is 100000 characters long; the limit is 4096"]
    );
    // No other message quotes the value back.
    assert!(json.diagnostics.iter().all(|d| d.message.len() < 200));

    let md = load_skill_md(&format!("---\nname: s\ndescription: {long}\n---\nBody\n"));
    assert_eq!(
        errors(&md),
        ["`description` is 100000 characters long; the limit is 4096"]
    );

    // A Q CLI file (an older format, converted before the check).
    let q = load_json(
        &format!(r#"{{"name": "s", "description": "{long}", "command": "echo", "args": ["hi"]}}"#),
        None,
    );
    assert!(
        errors(&q).contains(&"`description` is 100000 characters long; the limit is 4096".into()),
        "{:?}",
        q.diagnostics
    );
}

#[test]
fn a_long_key_is_an_error_and_is_not_quoted() {
    let key = |n: usize| {
        load_json(
            &skill_with(&format!(r#", "metadata": {{"{}": "v"}}"#, "K".repeat(n))),
            None,
        )
    };
    assert!(
        key(MAX_KEY_CHARS).is_valid(),
        "{:?}",
        key(MAX_KEY_CHARS).diagnostics
    );
    assert_eq!(
        errors(&key(MAX_KEY_CHARS + 1)),
        ["a key of `metadata` is 257 characters long; the limit is 256"]
    );
    // An unknown field with a huge name: reported by its length, quickly, without the name.
    let start = Instant::now();
    let unknown = load_json(
        &skill_with(&format!(r#", "{}": 1"#, "z".repeat(500_000))),
        None,
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        errors(&unknown),
        ["unknown field with a name 500000 characters long; the limit for a key is 256"]
    );
}

// ---- files that are not files ----

#[test]
fn a_fifo_named_like_a_skill_does_not_block() {
    let d = Dir::new("fifo");
    for name in ["x.json", "SKILL.md"] {
        let path = d.join(name);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        for within in [None, Some(d.0.as_path())] {
            let loaded = load_quickly(&path, within);
            let msgs = errors(&loaded);
            assert!(
                msgs.len() == 1 && msgs[0].contains("FIFO"),
                "{name}: {msgs:?}"
            );
        }
    }
}

#[test]
fn a_link_to_dev_zero_is_refused_without_reading() {
    let d = Dir::new("zero");
    let path = d.join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let msgs = errors(&load_quickly(&path, None));
    assert!(
        msgs.len() == 1 && msgs[0].contains("character device"),
        "{msgs:?}"
    );
    // In a workspace the link leaves it, and is refused for that first.
    let msgs = errors(&load_quickly(&path, Some(&d.0)));
    assert!(msgs.len() == 1 && msgs[0].contains("leaves"), "{msgs:?}");
}

#[test]
fn a_directory_named_skill_json_is_a_diagnostic() {
    let d = Dir::new("dir");
    let path = d.join("pkg/skill.json");
    std::fs::create_dir_all(&path).unwrap();
    for within in [None, Some(d.0.as_path())] {
        let msgs = errors(&load_quickly(&path, within));
        assert!(msgs.len() == 1 && msgs[0].contains("directory"), "{msgs:?}");
    }
}

#[test]
fn an_unreadable_file_is_a_diagnostic() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dir::new("perm");
    let path = d.join("locked.json");
    std::fs::write(&path, skill_with("")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let loaded = load_quickly(&path, None);
    // root reads it anyway; anyone else gets a diagnostic saying why.
    if rustix::process::geteuid().is_root() {
        assert!(loaded.is_valid(), "{:?}", loaded.diagnostics);
    } else {
        let msgs = errors(&loaded);
        assert!(
            msgs.len() == 1 && msgs[0].contains("ermission denied"),
            "{msgs:?}"
        );
    }
}

#[test]
fn ninety_thousand_unknown_fields_load_quickly_with_one_summary() {
    let mut text = String::from(
        r#"{"name": "s", "description": "d", "type": "prompt_inline", "prompt_template": "hi""#,
    );
    let mut n = 0;
    while text.len() < MAX_SKILL_FILE_BYTES - 32 {
        text.push_str(&format!(r#","k{n}":1"#));
        n += 1;
    }
    text.push('}');
    let start = Instant::now();
    let loaded = load_json(&text, None);
    // Removing the fields one by one took minutes (quadratic); one pass takes well under a second.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{n} unknown fields took {:?}",
        start.elapsed()
    );
    let msgs = errors(&loaded);
    assert_eq!(msgs.len(), 51, "every field listed: {}", msgs.len());
    assert!(
        msgs.contains(&format!(
            "{} more unknown fields (only the first 50 are listed)",
            n - 50
        )),
        "{:?}",
        &msgs[..3]
    );
}

#[test]
fn a_file_of_hundreds_of_problems_lists_the_first_200() {
    let params: Vec<String> = (0..900)
        .map(|i| format!(r#"{{"name":"-{i}","type":"string"}}"#))
        .collect();
    let text = format!(
        r#"{{"name": "s", "description": "d", "type": "prompt_inline", "prompt_template": "hi", "parameters": [{}]}}"#,
        params.join(",")
    );
    let loaded = load_json(&text, None);
    assert_eq!(loaded.diagnostics.len(), 201);
    assert_eq!(
        loaded.diagnostics[0].message,
        "invalid parameter name \"-0\""
    );
    assert_eq!(
        loaded.diagnostics[200].message,
        "700 more problems (700 errors) are not listed; only the first 200 are"
    );
    assert!(!loaded.is_valid());
}

/// Lists and maps past the item limit are refused before any check that compares entries
/// (25,000 parameters each named in the template took seconds; a SKILL.md of 60,000 keys took
/// minutes).
#[test]
fn lists_and_maps_past_the_item_limit_are_refused_quickly() {
    let cases: Vec<(&str, String)> = vec![
        ("`parameters` has 25000 entries; the limit is 1000", {
            let p: Vec<String> = (0..25_000)
                .map(|i| format!(r#"{{"name":"p{i}","type":"string"}}"#))
                .collect();
            let tpl: String = (0..25_000).map(|i| format!("{{p{i}}}")).collect();
            format!(
                r#"{{"name": "s", "description": "d", "type": "prompt_inline", "prompt_template": "{tpl}", "parameters": [{}]}}"#,
                p.join(",")
            )
        }),
        (
            "`parameters[0].values` has 80000 entries; the limit is 1000",
            {
                let v: Vec<String> = (0..80_000).map(|i| format!(r#""v{i}""#)).collect();
                skill_with(&format!(
                    r#", "parameters": [{{"name":"x","type":"enum","values":[{}]}}]"#,
                    v.join(",")
                ))
            },
        ),
        ("`env` has 1001 entries; the limit is 1000", {
            let e: Vec<String> = (0..1001).map(|i| format!(r#""E{i}":"v""#)).collect();
            format!(
                r#"{{"name": "s", "description": "d", "type": "code_inline", "command": "echo", "env": {{{}}}}}"#,
                e.join(",")
            )
        }),
    ];
    for (message, text) in cases {
        let start = Instant::now();
        let loaded = load_json(&text, None);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{message}: {:?}",
            start.elapsed()
        );
        assert_eq!(errors(&loaded), [message]);
    }
    let mut md = String::from("---\nname: s\ndescription: d\n");
    for i in 0..60_000 {
        md.push_str(&format!("k{i}: 1\n"));
    }
    md.push_str("---\nBody\n");
    let start = Instant::now();
    let loaded = load_skill_md(&md);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        errors(&loaded).contains(&"`metadata` has 60000 entries; the limit is 1000".to_owned()),
        "{:?}",
        errors(&loaded)
    );
}
