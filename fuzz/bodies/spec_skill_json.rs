//! A skill file in any JSON format skillet accepts (canonical, Q CLI roadmap/flat/wizard, v1
//! design, `implementation`), loaded as discovery loads it, with every diagnostic rendered.
//! A skill that loads must load again, unchanged, from its canonical form.

use std::path::Path;

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for dir in [None, Some(Path::new("/nonexistent/.q-skills"))] {
        let loaded = skillet_spec::load_json(&text, dir);
        for d in &loaded.diagnostics {
            let _ = d.to_string();
        }
        let _ = loaded.declared_name();
        let Some(spec) = &loaded.spec else {
            continue;
        };
        let canonical = loaded
            .canonical
            .as_ref()
            .expect("a valid skill has a canonical form");
        let again = skillet_spec::load_json(&canonical.to_string(), dir);
        assert_eq!(
            again.spec.as_ref(),
            Some(spec),
            "the canonical form of a valid skill does not load back: {:?}",
            again.diagnostics
        );
    }
}
