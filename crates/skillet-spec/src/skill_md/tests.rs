use super::*;

fn errors(loaded: &LoadedSkill) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

fn warnings(loaded: &LoadedSkill) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn skill_md_body_is_literal() {
    let l = load_skill_md(
        "---\nname: fmt\ndescription: Format code\nlicense: MIT\n---\nUse `fn main() {}` and {this}.\n",
    );
    let spec = l.spec.expect("valid");
    assert_eq!(
        spec.prompt_template.as_deref(),
        Some("Use `fn main() {{}}` and {{this}}.\n")
    );
    assert_eq!(spec.license.as_deref(), Some("MIT"));
}

#[test]
fn claude_codes_arguments_become_an_optional_parameter() {
    let l = load_skill_md(
        "---\nname: amend\ndescription: Amend the log\nargument-hint: \"[entry] [text]\"\n---\nAmend {x}: $ARGUMENTS. Again: $ARGUMENTS\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let spec = l.spec.expect("valid");
    assert_eq!(
        spec.prompt_template.as_deref(),
        Some("Amend {{x}}: {arguments}. Again: {arguments}\n")
    );
    let p = &spec.parameters[0];
    assert_eq!((p.name.as_str(), p.required), ("arguments", false));
    assert!(
        p.description
            .as_deref()
            .unwrap_or_default()
            .contains("[entry] [text]"),
        "{:?}",
        p.description
    );
    // A body without it gets no parameter; the hint is kept under metadata as before.
    let l = load_skill_md("---\nname: plain\ndescription: d\nargument-hint: x\n---\nNo args.\n");
    assert!(l.spec.expect("valid").parameters.is_empty());
}

#[test]
fn a_yaml_error_counts_lines_as_the_file_does() {
    // `description` is on the file's line 3; the YAML parser counts it as its line 2. With
    // two blank lines before the fence, on line 5.
    for (lead, line) in [("", 3), ("\n\n", 5)] {
        let l = load_skill_md(&format!(
            "{lead}---\nname: x\ndescription: \"never closed\n---\nBody\n"
        ));
        let d = &l.diagnostics[0];
        let at = d.position.expect("a position").line;
        assert!(
            d.message.contains(&format!("line {line} column")),
            "{}",
            d.message
        );
        assert!(at >= line, "{at}: {}", d.message);
    }
    // A key's warning points at its own line.
    let l = load_skill_md("\n---\nname: x\ndescription: d\nmodel: m\n---\nBody\n");
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("`model`"))
        .unwrap();
    assert_eq!(d.position.unwrap().line, 5, "{d:?}");
}

#[test]
fn skill_md_without_front_matter_is_an_error() {
    let l = load_skill_md("# Just markdown\n");
    assert!(errors(&l)[0].contains("no YAML front matter"));
}
#[test]
fn a_title_case_name_takes_its_id_from_the_folder() {
    let l = load_skill_md_in(
        "---\nname: Agent Development\ndescription: Build agents\nversion: 0.2.0\nmodel: opus\n---\nBody\n",
        Some("agent-development"),
    );
    let spec = l.spec.clone().expect("loads");
    assert_eq!(spec.name, "agent-development");
    assert_eq!(spec.version, "0.2.0");
    assert_eq!(spec.metadata["title"], "Agent Development");
    assert_eq!(spec.metadata["model"], "opus");
    let w = warnings(&l);
    assert!(
        w.iter()
            .any(|m| m.contains("\"Agent Development\" is not a skill id")),
        "{w:?}"
    );
    assert_eq!(w.len(), 3, "name, version, model: {w:?}");
}

#[test]
fn a_title_without_a_usable_folder_is_made_an_id() {
    let l = load_skill_md_in(
        "---\nname: PDF Tools\ndescription: d\n---\nx\n",
        Some("Skills!"),
    );
    assert_eq!(l.spec.expect("loads").name, "skills");
    let l = load_skill_md("---\nname: PDF Tools\ndescription: d\n---\nx\n");
    assert_eq!(l.spec.expect("loads").name, "pdf-tools");
    let l = load_skill_md_in("---\ndescription: d\n---\nx\n", Some("my_skill"));
    assert_eq!(l.spec.expect("loads").name, "my_skill");
}

#[test]
fn a_colon_in_a_plain_description_is_read_as_text() {
    let l = load_skill_md_in(
        "---\nname: review\ndescription: Use when: the user asks for a review\n---\nx\n",
        Some("review"),
    );
    assert!(errors(&l).is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        l.spec.expect("loads").description.as_deref(),
        Some("Use when: the user asks for a review")
    );
    let l = load_skill_md("---\nname: [unclosed\n---\nx\n");
    assert!(
        errors(&l)[0].starts_with("invalid YAML front matter"),
        "{:?}",
        l.diagnostics
    );
}

#[test]
fn kebab_case() {
    assert_eq!(kebab("PDF Tools"), "pdf-tools");
    assert_eq!(kebab("  Agent   Development! "), "agent-development");
    assert_eq!(kebab("my_skill"), "my_skill");
}

#[test]
fn a_metadata_version_is_the_skill_version() {
    let l = load_skill_md("---\nname: a\ndescription: d\nmetadata:\n  version: \"1.0\"\n---\nx\n");
    assert!(warnings(&l).is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.spec.expect("loads").version, "1.0.0");
}
