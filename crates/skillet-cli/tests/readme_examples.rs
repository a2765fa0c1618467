//! Every `skillet` example in README.md and in each command's `--help` runs as written, with the
//! exit code its text implies, against the real binary.
//!
//! The examples are read from the README and from the binary's own help, never copied here, so a
//! new example is run the day it is written. Each README shell block runs in order in one
//! throwaway machine (a fake home, a clone-like copy of `examples/`), as a newcomer would type
//! it: `cd` and shell variables carry from one line to the next. The only knowledge kept here is
//! what the text says in prose: which examples fail on purpose, which placeholders a reader
//! replaces, and what the tour assumes the reader already has (their own skills, a model
//! server), in `tests/fixtures/readme/`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "readme_examples/shell.rs"]
mod shell;
#[path = "readme_examples/steps.rs"]
mod steps;

use std::fs;
use std::path::Path;

use shell::{Shell, copy_tree, fixtures};
use steps::{code, help_steps, http_port, readme_blocks, runs_skillet, subcommand, writes_outside};

/// What the prose says about an example that does not simply exit 0.
enum Note {
    /// The text says it fails, and how.
    Exits(i32),
    /// A placeholder the reader replaces with a value from an earlier step (shell text).
    Replace(&'static str, &'static str),
    /// Typed on a terminal: runs under a pseudo-terminal (`script`) with these keystrokes.
    Terminal(&'static str),
    /// What the reader does first (shell text), as the prose around the example says.
    Before(&'static str),
}

/// Where an example was read.
#[derive(PartialEq)]
enum From {
    Readme,
    Help,
}

/// Examples whose text says they do not exit 0, or that name a placeholder, keyed by where they
/// are and `Step::key`. An entry that matches no example fails the test, so none goes stale.
const NOTES: &[(From, &str, Note, &str)] = &[
    (
        From::Readme,
        "skillet run greet --param 'name=$(rm -rf ~)' # refused: does not match the declared pattern",
        Note::Exits(2),
        "refused: the value does not fit the declared pattern (exit 2, invalid parameters)",
    ),
    (
        From::Readme,
        "skillet validate",
        Note::Exits(1),
        "after writing the broken oops.json: validate reports its errors (exit 1)",
    ),
    (
        From::Readme,
        "skillet store copy --from sqlite --to postgres://skillet@db.internal/skillet # bring your history along",
        Note::Replace(
            "postgres://skillet@db.internal/skillet",
            "\"$TEAM_STORE_URL\"",
        ),
        "an example database: the reader names their team's",
    ),
    (
        From::Help,
        "skillet store copy --from sqlite --to postgres://skillet@db.internal/skillet",
        Note::Replace(
            "postgres://skillet@db.internal/skillet",
            "\"$TEAM_STORE_URL\"",
        ),
        "an example database: the reader names their team's",
    ),
    (
        From::Help,
        "skillet store copy --to postgres://skillet@db.internal/skillet --json",
        Note::Replace(
            "postgres://skillet@db.internal/skillet",
            "\"$TEAM_STORE_URL\"",
        ),
        "an example database: the reader names their team's",
    ),
    (
        From::Help,
        "skillet serve --http 0.0.0.0:8750 --auth-token-file token.txt",
        Note::Before("openssl rand -hex 32 > token.txt"),
        "the replicas' shared token, written to the file first",
    ),
    (
        From::Readme,
        "skillet history show 0190f3a2-7c1d # one execution, by id or enough of its start to be unique",
        Note::Replace("0190f3a2-7c1d", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Help,
        "skillet history show 0190f3a2-7c1d",
        Note::Replace("0190f3a2-7c1d", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Readme,
        "skillet trace 0190f3a2-7c1d # where one execution's time went, phase by phase",
        Note::Replace("0190f3a2-7c1d", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Help,
        "skillet trace 0190f3a2-7c1d",
        Note::Replace("0190f3a2-7c1d", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Help,
        "skillet logs --execution 0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a",
        Note::Replace("0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a", LAST_ID),
        "an example id: the reader types one `skillet history` printed",
    ),
    (
        From::Help,
        "skillet trace 0190f3a2-7c1d --json",
        Note::Replace("0190f3a2-7c1d", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Readme,
        "skillet run review --param file=src/lib.rs # on a terminal: its questions, then your replies",
        Note::Terminal("the add function\nthe sign\n\n"),
        "on a terminal: the reader answers the two questions, then an empty line",
    ),
    (
        From::Readme,
        "skillet session resume $ID # go on where it stopped",
        Note::Terminal("And the tests?\n\n"),
        "on a terminal: the reader types the next message, then an empty line",
    ),
    (
        From::Help,
        "skillet run review --param file=src/lib.rs",
        Note::Terminal("the add function\nthe sign\n\n"),
        "on a terminal: the reader answers the two questions, then an empty line",
    ),
    (
        From::Help,
        "skillet session resume ID",
        Note::Terminal("And the tests?\n\n"),
        "on a terminal: the reader types the next message, then an empty line",
    ),
    (
        From::Help,
        "skillet session resume ID",
        Note::Replace("ID", CONVERSATION_ID),
        "ID stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session send 0193… 'print(1 + 1)'",
        Note::Replace("0193…", LIVE_PY),
        "0193… stands for a live session's id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "cat script.py | skillet session send 0193…",
        Note::Replace("0193…", LIVE_PY),
        "0193… stands for a live session's id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session send B --from A",
        Note::Replace(
            "B --from A",
            "\"$(skillet session list py --status live --json | jq -r '.[1].id')\" --from \"$(skillet session list py --status live --json | jq -r '.[0].id')\"",
        ),
        "A and B stand for two live sessions' ids, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session resume 0193…",
        Note::Replace("0193…", CONVERSATION_ID),
        "0193… stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session resume 0193…",
        Note::Terminal("And the tests?\n\n"),
        "on a terminal: the reader types the next message, then an empty line",
    ),
    (
        From::Help,
        "skillet session resume 0193… --answers more.txt",
        Note::Replace("0193…", CONVERSATION_ID),
        "0193… stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "echo 'And the tests?' | skillet session resume 0193… --answers -",
        Note::Replace("0193…", CONVERSATION_ID),
        "0193… stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session pipe $GEN $CHECK",
        Note::Replace("$GEN $CHECK", TWO_LIVE),
        "$GEN and $CHECK stand for two live sessions' ids",
    ),
    (
        From::Help,
        "skillet session pipe $GEN $CHECK --stop",
        Note::Replace("$GEN $CHECK", TWO_LIVE),
        "$GEN and $CHECK stand for two live sessions' ids",
    ),
    (
        From::Help,
        "skillet hooks install",
        Note::Before("git init -q"),
        "the reader's project is a git repository (the test workspace only has an empty .git)",
    ),
    (
        From::Help,
        "skillet serve",
        Note::Before("skillet daemon stop"),
        "the session examples started a daemon in the background; serve's help says so",
    ),
    (
        From::Help,
        "skillet daemon status",
        Note::Before("skillet session start py"),
        "the reader has a session open (with none, status says no daemon runs and exits 1)",
    ),
    (
        From::Help,
        "skillet disable review-kit",
        Note::Before("skillet marketplace add ./team-skills && skillet install review-kit --yes"),
        "review-kit stands for a package the reader installed from a marketplace of their own",
    ),
    (
        From::Help,
        "skillet install document-skills@anthropic-agent-skills",
        Note::Exits(127),
        "needs the anthropic-agent-skills marketplace, which the reader adds over the network first",
    ),
    (
        From::Help,
        "skillet install ./path/to/pkg",
        Note::Terminal("y\n"),
        "on a terminal: the reader reads the permissions and answers y",
    ),
    (
        From::Help,
        "skillet install git+https://example.test/skills.git#v1.2",
        Note::Exits(125),
        "example.test stands for the reader's git host: nothing answers there",
    ),
    (
        From::Help,
        "skillet install https://example.test/pkg.tar.gz --sha256 HEX",
        Note::Exits(2),
        "HEX stands for the archive's digest and example.test for its host",
    ),
    (
        From::Help,
        "skillet uninstall review-kit --prune",
        Note::Before("skillet install review-kit --yes"),
        "the previous example removed review-kit: the reader has it installed again",
    ),
    (
        From::Help,
        "skillet marketplace add ./team-skills",
        Note::Before("skillet marketplace remove team-skills"),
        "the package examples added ./team-skills already",
    ),
    (
        From::Help,
        "skillet marketplace add https://example.test/index.json",
        Note::Exits(125),
        "example.test stands for the reader's web server: nothing answers there",
    ),
    (
        From::Help,
        "skillet marketplace add git@host:org/skills.git#main",
        Note::Exits(125),
        "host stands for the reader's git host: nothing answers there",
    ),
    (
        From::Help,
        "skillet create review --type conversation --global",
        Note::Before("rm ~/.config/skillet/skills/review.json"),
        "create never overwrites: the reader has no global review skill yet (the run examples used the tour's)",
    ),
    (
        From::Help,
        "skillet jobs wait 0193…",
        Note::Replace("0193…", LAST_JOB),
        "0193… stands for a job's id, which `skillet run … --detach` printed and `skillet jobs` shows",
    ),
    (
        From::Help,
        "skillet jobs wait 0193… --timeout 60 --json",
        Note::Replace("0193…", LAST_JOB),
        "0193… stands for a job's id, which `skillet run … --detach` printed and `skillet jobs` shows",
    ),
    (
        From::Help,
        "skillet jobs logs 0193…",
        Note::Replace("0193…", LAST_JOB),
        "0193… stands for a job's id, which `skillet run … --detach` printed and `skillet jobs` shows",
    ),
    (
        From::Help,
        "skillet jobs logs 0193… --json",
        Note::Replace("0193…", LAST_JOB),
        "0193… stands for a job's id, which `skillet run … --detach` printed and `skillet jobs` shows",
    ),
    (
        From::Help,
        "skillet jobs cancel 0193…",
        Note::Replace("0193…", LAST_JOB),
        "0193… stands for a job's id, which `skillet run … --detach` printed and `skillet jobs` shows",
    ),
];

/// A live session's id, as a reader would copy it from `skillet session list`.
const LIVE_PY: &str = "\"$(skillet session list py --status live --json | jq -r '.[0].id')\"";

/// Two live sessions' ids.
const TWO_LIVE: &str = "$(skillet session list --status live --json | jq -r '.[0].id, .[1].id')";

/// The id of a `review` conversation, as a reader would copy it from `skillet session list`.
const CONVERSATION_ID: &str =
    "\"$(skillet session list --json | jq -r 'map(select(.skill == \"review\"))[0].id')\"";

/// The newest job's id, as a reader would copy it from `skillet jobs`.
const LAST_JOB: &str = "\"$(skillet jobs --json --limit 1 | jq -r '.[0].id')\"";

/// The newest execution's id, as a reader would copy it from `skillet history`.
const LAST_ID: &str = "\"$(skillet history --json --limit 1 | jq -r '.[0].id')\"";

/// Every `NOTES` entry for `from` that no example used: a changed example takes its note along.
fn unused_notes(used: &[usize], from: From) -> Vec<String> {
    NOTES
        .iter()
        .enumerate()
        .filter(|(index, (f, _, _, _))| *f == from && !used.contains(index))
        .map(|(_, (_, key, _, _))| format!("the note for `{key}` matches no example"))
        .collect()
}

#[test]
fn every_readme_example_runs_as_written() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let blocks = readme_blocks(&readme);
    let examples = blocks
        .iter()
        .flatten()
        .filter(|s| runs_skillet(&s.text))
        .count();
    assert!(
        examples > 40,
        "the README's examples were found: {blocks:#?}"
    );

    let mut shell = Shell::new();
    // The reader has cloned the repository: the tour starts at its root.
    copy_tree(&common::examples_dir(), &shell.w.ws.join("examples"));
    // What the tour's later sections assume the reader's project holds.
    copy_tree(&fixtures().join("project"), &shell.w.ws.join("examples"));
    for block in &blocks {
        shell.run_all(block);
    }
    let stale = unused_notes(&shell.used_notes, From::Readme);
    assert!(stale.is_empty(), "{stale:?}");
    shell.report("README's examples");
}

#[test]
fn every_help_example_runs_as_written() {
    let mut shell = Shell::new();
    let mut steps = Vec::new();
    help_steps(&shell.w, &[], &mut steps);
    assert!(steps.len() > 40, "the help examples were found: {steps:#?}");
    // The help examples name skills and files of a project of their own.
    copy_tree(
        &common::examples_dir().join(".skillet"),
        &shell.w.ws.join(".skillet"),
    );
    copy_tree(&fixtures().join("project"), &shell.w.ws);
    copy_tree(&fixtures().join("help"), &shell.w.ws);
    fs::write(
        shell.w.ws.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    shell.run_all(&steps);
    let stale = unused_notes(&shell.used_notes, From::Help);
    assert!(stale.is_empty(), "{stale:?}");
    shell.report("help examples");
}

#[test]
fn steps_are_read_as_a_shell_would_read_them() {
    let blocks = readme_blocks(
        "text\n```sh\ncd x\nskillet list   # all\n# a comment\ncat > f <<'EOF'\n{\n}\nEOF\nclaude mcp add \\\n  --header y\n```\n```toml\nskillet = 1\n```\n```console\n$ skillet info a\noutput\n```\n",
    );
    let texts: Vec<Vec<&str>> = blocks
        .iter()
        .map(|b| b.iter().map(|s| s.text.as_str()).collect())
        .collect();
    assert_eq!(
        texts,
        [
            vec![
                "cd x",
                "skillet list   # all",
                "cat > f <<'EOF'\n{\n}\nEOF",
                "claude mcp add \\\n  --header y"
            ],
            vec!["skillet info a"]
        ]
    );
    assert_eq!(blocks[0][1].key(), "skillet list # all");
    assert!(runs_skillet("ID=$(skillet session start py)"));
    assert!(runs_skillet("echo hi | skillet run x"));
    assert!(runs_skillet("cd ~/p && skillet trust"));
    assert!(runs_skillet("X=1 skillet serve"));
    assert!(runs_skillet("T=$(openssl rand -hex 32) skillet serve"));
    assert!(!runs_skillet("echo $(date) skillet"));
    assert!(!runs_skillet("claude mcp add skillet -- skillet mcp"));
    assert!(!runs_skillet("gemini mcp add skillet skillet mcp"));
    assert_eq!(
        subcommand("skillet -C ~/p mcp --max-concurrent 4"),
        (Some("mcp".into()), false)
    );
    assert_eq!(http_port("skillet serve --http 0.0.0.0:8750"), Some(8750));
    assert!(writes_outside("skillet schema > /tmp/skill.schema.json"));
    assert!(!writes_outside(
        "skillet schema > skill.schema.json # not > /tmp"
    ));
    assert!(!writes_outside("skillet run x 2> /dev/null"));
    assert_eq!(
        code("skillet serve --http 127.0.0.1:8750   # MCP at http://x/#y"),
        "skillet serve --http 127.0.0.1:8750"
    );
    assert_eq!(
        code("skillet run a --param 'v=# not a comment'"),
        "skillet run a --param 'v=# not a comment'"
    );
}
