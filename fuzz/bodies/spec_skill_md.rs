//! An Agent Skills `SKILL.md` (YAML front matter and a Markdown body), in a folder whose name
//! is the first line of the input, loaded and its diagnostics rendered.

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (folder, body) = text.split_once('\n').unwrap_or(("", &text));
    for folder in [None, Some(folder)] {
        let loaded = skillet_spec::load_skill_md_in(body, folder);
        for d in &loaded.diagnostics {
            let _ = d.to_string();
        }
        let _ = loaded.declared_name();
        if let Some(spec) = &loaded.spec {
            assert!(
                skillet_spec::is_valid_skill_name(&spec.name),
                "a SKILL.md loaded with the invalid id {:?}",
                spec.name
            );
        }
    }
}
