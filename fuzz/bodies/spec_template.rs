//! `{param}` templates and parameter values. Input: a template, `%%`, a parameter declaration
//! (JSON), `%%`, a value (JSON, or else taken as the string a command line would give).
//! Rendering is single-pass (a value is inserted verbatim, never expanded again) and an escaped
//! text renders as itself.

use skillet_spec::{ParameterSpec, Template};

pub fn run(data: &[u8]) {
    let parts = crate::input::parts(data, 3);
    let (text, declaration, raw) = (&parts[0], &parts[1], &parts[2]);

    let template = Template::parse(text);
    for (name, at) in template.placeholder_offsets() {
        assert_eq!(
            text.get(at..at + name.len() + 2),
            Some(format!("{{{name}}}").as_str()),
            "placeholder offset {at} of {text:?}"
        );
    }
    let _ = (template.leading_placeholder(), template.sole_placeholder());
    // The value is chosen to look like a placeholder: it must come out exactly as given.
    let value = raw.as_str();
    let rendered = template
        .render(|_| Some(value))
        .expect("every lookup answers");
    let missing = template.render(|_| None);
    assert_eq!(missing.is_err(), template.has_placeholders());
    let literal_only = template.render(|_| Some("")).expect("every lookup answers");
    assert!(rendered.len() >= literal_only.len());
    let escaped = skillet_spec::template::escape(text);
    assert_eq!(
        Template::parse(&escaped).render(|_| None).as_deref(),
        Ok(text.as_str()),
        "escaped text does not render as itself"
    );

    let Ok(spec) = serde_json::from_str::<ParameterSpec>(declaration) else {
        return;
    };
    let raw = serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::from(raw.as_str()));
    if let Ok(checked) = spec.check(&raw) {
        let _ = (checked.to_text(), checked.to_json());
        assert!(
            !checked.to_text().contains('\0'),
            "a NUL byte passed the check"
        );
    } else if let Err(e) = spec.check(&raw) {
        let _ = e.to_string();
    }
}
