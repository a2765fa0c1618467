//! Reading Claude Code marketplaces: the Agent Skills examples marketplace as published, every
//! source shape, and folders that link out.

mod manifest_support;

use std::fs;
use std::os::unix::fs::symlink;

use manifest_support::{COMMIT, git_origin, names, parse, skill_md, warned, write};
use skillet_pkg::index::{Index, IndexOrigin};
use skillet_pkg::manifest::read_package_for;
use skillet_pkg::source::Source;

/// `.claude-plugin/marketplace.json` exactly as the Agent Skills examples repository has it.
const AGENT_SKILLS_MARKETPLACE: &str = r#"{
  "name": "anthropic-agent-skills",
  "owner": {
    "name": "Example Owner",
    "email": "owner@example.test"
  },
  "metadata": {
    "description": "Anthropic example skills",
    "version": "1.0.0"
  },
  "plugins": [
    {
      "name": "document-skills",
      "description": "Collection of document processing suite including Excel, Word, PowerPoint, and PDF capabilities",
      "source": "./",
      "strict": false,
      "skills": [
        "./skills/xlsx",
        "./skills/docx",
        "./skills/pptx",
        "./skills/pdf"
      ]
    },
    {
      "name": "example-skills",
      "description": "Collection of example skills demonstrating various capabilities",
      "source": "./",
      "strict": false,
      "skills": [
        "./skills/algorithmic-art",
        "./skills/brand-guidelines",
        "./skills/canvas-design"
      ]
    }
    ,
    {
      "name": "claude-api",
      "description": "Claude API and SDK documentation skill for building LLM-powered applications",
      "source": "./",
      "strict": false,
      "skills": [
        "./skills/claude-api"
      ]
    }
  ]
}
"#;

#[test]
fn the_agent_skills_marketplace_reads_unchanged() {
    let index = parse(AGENT_SKILLS_MARKETPLACE, &git_origin());
    assert!(index.warnings.is_empty(), "{:?}", index.warnings);
    assert_eq!(index.name.as_deref(), Some("anthropic-agent-skills"));
    assert_eq!(
        names(&index),
        ["document-skills", "example-skills", "claude-api"]
    );
    let docs = &index.packages[0];
    assert_eq!(docs.version, semver::Version::new(0, 0, 0));
    assert_eq!(
        docs.skills,
        ["skills/xlsx", "skills/docx", "skills/pptx", "skills/pdf"]
    );
    assert_eq!(
        docs.source,
        Source::Git {
            url: "https://example.test/team/skills.git".into(),
            reference: Some(COMMIT.into()),
            subdir: None,
        }
    );

    // Read from a checkout, then each package is exactly its listed skills.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".claude-plugin/marketplace.json",
        AGENT_SKILLS_MARKETPLACE,
    );
    for s in [
        "xlsx",
        "docx",
        "pptx",
        "pdf",
        "algorithmic-art",
        "brand-guidelines",
        "canvas-design",
        "claude-api",
    ] {
        skill_md(root, &format!("skills/{s}"), s);
    }
    let index = Index::read_dir(root, &git_origin()).expect("reads");
    assert_eq!(index.packages.len(), 3);
    let m = read_package_for(root, &index.packages[2]).expect("a package");
    assert_eq!(m.name.as_str(), "claude-api");
    assert_eq!(m.skills, ["skills/claude-api"]);
    let m = read_package_for(root, &index.packages[0]).expect("a package");
    assert_eq!(m.skills.len(), 4);
}

#[test]
fn a_claude_code_marketplace_with_every_source_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    write(
        &root,
        "plugins/agent-dev/.claude-plugin/plugin.json",
        r#"{"name": "agent-dev", "version": "1.4.0"}"#,
    );
    fs::create_dir_all(root.join("plugins/formatter")).expect("mkdir");
    let json = r#"{
  "$schema": "https://json.schemastore.org/claude-code-marketplace.json",
  "name": "team-plugins",
  "version": "1.0.0",
  "owner": {"name": "Team", "email": "team@example.test"},
  "metadata": {"pluginRoot": "./plugins"},
  "plugins": [
    {"name": "agent-dev", "description": "Dev kit", "source": "./plugins/agent-dev", "category": "development"},
    {"name": "formatter", "source": "formatter", "version": "2.0"},
    {"name": "gh", "version": "1.0.0", "author": {"name": "A"},
     "source": {"source": "github", "repo": "acme/gh-plugin", "ref": "v1.0.0"}},
    {"name": "gh-pinned", "source": {"source": "github", "repo": "acme/gh-plugin", "ref": "main",
      "sha": "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0"}},
    {"name": "gitlab", "source": {"source": "url", "url": "https://gitlab.example.test/team/plugin.git"}},
    {"name": "mono", "source": {"source": "git-subdir", "url": "https://example.test/mono.git", "path": "packages/plugin", "ref": "v2"}},
    {"name": "npm-one", "source": {"source": "npm", "package": "@acme/plugin"}},
    {"name": "bad-repo", "source": {"source": "github", "repo": "../../etc"}},
    {"name": "escape", "source": "../outside"},
    {"name": "abs", "source": "/etc"},
    {"name": "no-path", "source": {"source": "git-subdir", "url": "https://example.test/mono.git"}},
    {"name": "bad-skill", "source": "./plugins/formatter", "skills": ["../../x"]},
    {"name": "deps", "source": "./plugins/formatter", "dependencies": ["formatter", {"name": "gh", "version": "^1.0"}]}
  ]
}"#;
    write(&root, ".claude-plugin/marketplace.json", json);
    let index = Index::read_dir(&root, &IndexOrigin::Dir(root.clone())).expect("reads");
    assert_eq!(
        names(&index),
        [
            "agent-dev",
            "formatter",
            "gh",
            "gh-pinned",
            "gitlab",
            "mono",
            "deps"
        ],
        "{:#?}",
        index.warnings
    );
    let by = |n: &str| {
        index
            .packages
            .iter()
            .find(|e| e.name.as_str() == n)
            .expect(n)
    };
    // No version in the entry: the plugin's own plugin.json gives it.
    assert_eq!(by("agent-dev").version, semver::Version::new(1, 4, 0));
    assert_eq!(
        by("agent-dev").source,
        Source::Dir {
            path: root.join("plugins/agent-dev")
        }
    );
    assert_eq!(by("formatter").version, semver::Version::new(2, 0, 0));
    assert_eq!(
        by("formatter").source,
        Source::Dir {
            path: root.join("plugins/formatter")
        }
    );
    assert_eq!(
        by("gh").source,
        Source::Git {
            url: "https://github.com/acme/gh-plugin.git".into(),
            reference: Some("v1.0.0".into()),
            subdir: None
        }
    );
    assert_eq!(
        by("gh-pinned").source,
        Source::Git {
            url: "https://github.com/acme/gh-plugin.git".into(),
            reference: Some("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0".into()),
            subdir: None
        }
    );
    assert_eq!(
        by("mono").source,
        Source::Git {
            url: "https://example.test/mono.git".into(),
            reference: Some("v2".into()),
            subdir: Some("packages/plugin".into())
        }
    );
    assert_eq!(by("deps").dependencies.len(), 2);
    assert!(warned(&index, "npm-one", "not supported"));
    assert!(warned(&index, "bad-repo", "owner/name"));
    assert!(warned(&index, "escape", ".."));
    assert!(warned(&index, "abs", "absolute"));
    assert!(warned(&index, "no-path", "path"));
    assert!(warned(&index, "bad-skill", ".."));

    // Parsed from bytes alone from a repository, there is no plugin.json to look into.
    let index = parse(json, &git_origin());
    assert_eq!(
        by_name_version(&index, "agent-dev"),
        semver::Version::new(0, 0, 0)
    );
}

fn by_name_version(index: &Index, name: &str) -> semver::Version {
    index
        .packages
        .iter()
        .find(|e| e.name.as_str() == name)
        .map(|e| e.version.clone())
        .expect(name)
}

#[test]
fn a_marketplace_folder_that_links_out_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    fs::create_dir_all(root.join("plugins")).expect("mkdir");
    symlink(outside.path(), root.join("plugins/evil")).expect("symlink");
    write(
        root,
        ".claude-plugin/marketplace.json",
        r#"{"name": "m", "plugins": [{"name": "evil", "source": "./plugins/evil"}]}"#,
    );
    let index = Index::read_dir(root, &IndexOrigin::Dir(root.to_path_buf())).expect("reads");
    assert!(index.packages.is_empty());
    assert!(warned(&index, "evil", "leaves"), "{:#?}", index.warnings);

    // Read from a git checkout, the same link is refused too.
    let index = Index::read_dir(root, &git_origin()).expect("reads");
    assert!(index.packages.is_empty() && warned(&index, "evil", "leaves"));
}
