use std::fs;
use std::path::Path;

use skillet_registry::Registry;

use super::Catalog;

const GOOD: &str = r#"{
  "name": "count-lines",
  "description": "Count lines in a file",
  "version": "1.2.0",
  "aliases": ["cl"],
  "type": "code_inline",
  "command": "wc", "args": ["-l", "{file}"],
  "timeout": 20,
  "parameters": [
    {"name": "file", "type": "path", "required": true, "description": "File to count"},
    {"name": "mode", "type": "enum", "values": ["fast", "slow"], "default": "fast"}
  ],
  "security": {
    "resource_limits": {"max_memory_mb": 128},
    "permissions": {"file_read": ["docs"], "network_access": false}
  },
  "tests": [
    {"name": "one line", "params": {"file": "my notes.txt"}, "expect": {"stdout_equals": "1 my notes.txt\n"}},
    {"params": {"file": "@at"}, "stdin": "it's", "expect": {"exit_code": 1, "stderr_contains": "No such"}}
  ]
}"#;

fn catalog_of(files: &[(&str, &str)]) -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let skills = dir.path().join("skills");
    fs::create_dir(&skills).expect("mkdir");
    for (name, body) in files {
        fs::write(skills.join(name), body).expect("write");
    }
    let catalog = Catalog::from_registry(&Registry::from_skills_dir(skills), dir.path(), None);
    (dir, catalog)
}

fn hostile(description: &str) -> String {
    let skill = serde_json::json!({
        "name": "evil",
        "type": "prompt_inline",
        "description": description,
        "prompt_template": "hi {who}",
        "parameters": [{"name": "who", "type": "string",
                        "description": "<img src=x onerror=alert(1)>", "default": "</code><script>x()</script>"}],
        "tests": [{"name": "<script>t()</script>", "params": {"who": "'; rm -rf / #<b>"},
                   "expect": {"stdout_contains": "<script>alert(2)</script>"}}]
    });
    skill.to_string()
}

#[test]
fn a_script_in_any_author_text_comes_out_inert_in_html() {
    let descriptions = [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//x.example/a.js></SCRIPT>",
        "\"><svg onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "&lt;script&gt; already escaped",
    ];
    for d in descriptions {
        let (_dir, catalog) = catalog_of(&[("evil.json", &hostile(d))]);
        let html = catalog.to_html();
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "{d}: {html}");
        assert!(!lower.contains("<svg"), "{d}: {html}");
        assert!(!lower.contains("<img"), "{d}: {html}");
        assert!(!lower.contains("<a href=\"javascript"), "{d}: {html}");
        assert!(!lower.contains("<b>"), "{d}: {html}");
        assert!(
            html.contains(&super::html::escape(d)),
            "{d} is shown: {html}"
        );
    }
}

#[test]
fn a_broken_file_with_markup_in_its_name_is_listed_escaped() {
    let (_dir, catalog) = catalog_of(&[("<img src=x onerror=alert(1)>.json", "{ not json")]);
    assert_eq!(catalog.skills.len(), 1);
    assert!(!catalog.skills[0].errors.is_empty());
    let html = catalog.to_html();
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    let md = catalog.to_markdown();
    assert!(!outside_code(&md).contains('<'), "{md}");
    assert!(md.contains("Broken"), "{md}");
}

#[test]
fn markdown_author_text_cannot_add_markup_headings_or_table_cells() {
    let (_dir, catalog) = catalog_of(&[(
        "evil.json",
        &hostile(
            "a | b\n## injected\n<script>alert(1)</script> [x](javascript:y) \u{1b}]52;c;aGk=\u{7}",
        ),
    )]);
    let md = catalog.to_markdown();
    // Inside code spans and fenced blocks Markdown shows text as it is: markup there is inert.
    let prose = outside_code(&md);
    assert!(!prose.contains('<'), "{prose}");
    assert!(md.contains("`</code><script>x()</script>`"), "{md}");
    assert!(!md.lines().any(|l| l.starts_with("## injected")), "{md}");
    assert!(
        prose.contains("\\[x\\](javascript:y)"),
        "the link is text: {prose}"
    );
    assert!(
        !md.contains('\u{1b}'),
        "escape sequences are dropped: {md:?}"
    );
    let row = md
        .lines()
        .find(|l| l.starts_with("| [evil]"))
        .expect("index row");
    assert_eq!(row.matches(" | ").count(), 3, "one cell each: {row}");
    let html = catalog.to_html();
    assert!(!html.contains('\u{1b}'), "{html:?}");
}

#[test]
fn skills_show_parameters_limits_permissions_and_tests_as_examples() {
    let (_dir, catalog) = catalog_of(&[("count-lines.json", GOOD)]);
    let md = catalog.to_markdown();
    for expected in [
        "## count-lines",
        "Count lines in a file",
        "type `code_inline` · version `1.2.0` · workspace scope · file `skills/count-lines.json`",
        "- aliases: `cl`",
        "| `file` | path | yes | - | File to count |",
        "| `mode` | enum | no | `fast` | One of: `fast`, `slow`. |",
        "- timeout: `20 s`",
        "- memory: `128 MB`",
        "- read: `docs`",
        "**one line**",
        "skillet run count-lines --param 'file=my notes.txt'",
        "1 my notes.txt",
        "printf '%s' 'it'\\''s' | skillet run count-lines --param file=@@at",
        "exit code `1`; stderr contains `No such`",
    ] {
        assert!(md.contains(expected), "missing {expected:?} in:\n{md}");
    }
    let html = catalog.to_html();
    assert!(
        html.contains("<section id=\"skill-count-lines\">"),
        "{html}"
    );
    assert!(
        html.contains("skillet run count-lines --param &#39;file=my notes.txt&#39;"),
        "{html}"
    );
}

#[test]
fn the_same_skills_give_the_same_bytes_whatever_order_they_were_written_in() {
    let other = GOOD
        .replace("count-lines", "alpha")
        .replace("\"cl\"", "\"al\"");
    let (_a, first) = catalog_of(&[
        ("count-lines.json", GOOD),
        ("alpha.json", &other),
        ("zz.json", "{"),
    ]);
    let (_b, second) = catalog_of(&[
        ("zz.json", "{"),
        ("alpha.json", &other),
        ("count-lines.json", GOOD),
    ]);
    assert_eq!(first.to_markdown(), second.to_markdown());
    assert_eq!(first.to_html(), second.to_html());
    let names: Vec<&str> = first.skills.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["alpha", "count-lines", "zz"]);
}

#[test]
fn a_snapshot_test_shows_the_stored_snapshot_as_its_output() {
    let skill = r#"{"name": "snap", "type": "code_inline", "command": "echo", "args": ["hi"],
                   "tests": [{"expect": {"snapshot": true}}]}"#;
    let (dir, _) = catalog_of(&[("snap.json", skill)]);
    let skills = dir.path().join("skills");
    let snapshots = skills.join(crate::snapshot::SNAPSHOT_DIR);
    fs::create_dir(&snapshots).expect("mkdir");
    fs::write(snapshots.join("snap-1.txt"), "hi from the snapshot\n").expect("write");
    let catalog = Catalog::from_registry(&Registry::from_skills_dir(skills), dir.path(), None);
    let md = catalog.to_markdown();
    assert!(md.contains("```text\nhi from the snapshot\n```"), "{md}");
    let _ = Path::new("");
}

/// The Markdown without its fenced blocks and code spans: what a renderer reads as markup.
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(n) if ticks >= n && line.trim_end().chars().all(|c| c == '`') => fence = None,
            Some(_) => {}
            None if ticks >= 3 => fence = Some(ticks),
            None => {
                let chars: Vec<char> = line.chars().collect();
                let mut i = 0;
                while i < chars.len() {
                    if chars[i] == '`' {
                        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
                        let rest = &chars[i + run..];
                        let close = (0..rest.len()).find(|&j| {
                            rest[j..].iter().take_while(|&&c| c == '`').count() == run
                                && (j == 0 || rest[j - 1] != '`')
                        });
                        match close {
                            Some(j) => i += run + j + run,
                            None => {
                                out.extend(&chars[i..i + run]);
                                i += run;
                            }
                        }
                    } else {
                        out.push(chars[i]);
                        i += 1;
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}
