//! `skillet create`: a new skill from a template, written without overwriting anything.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use skillet_spec::{PACKAGE_SKILL_FILE, SkillKind};

use crate::templates;

/// The shape of what is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// One file, `<name>.json`.
    Plain,
    /// A package folder: `<name>/skill.json` and `scripts/main.py`.
    PythonScript,
    /// A package folder: `<name>/skill.json` and `scripts/main.sh`.
    ShellScript,
}

impl Template {
    /// The name given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Plain => "plain",
            Template::PythonScript => "python-script",
            Template::ShellScript => "shell-script",
        }
    }
}

/// What to create, and where.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The skill's name.
    pub name: String,
    /// Its type.
    pub kind: SkillKind,
    /// The shape of what is written.
    pub template: Template,
    /// Its one-line description (a placeholder when `None`).
    pub description: Option<String>,
    /// The skills directory it goes into (`.skillet/skills`, or the global one).
    pub dir: PathBuf,
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    /// The skill's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The skill file.
    pub skill_file: PathBuf,
    /// Every file written, the skill file first.
    pub files: Vec<PathBuf>,
}

/// Why nothing was created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The name breaks the format's rule.
    #[error(
        "`{0}` is not a valid skill name: use lowercase letters, digits, `-` and `_`, starting \
         with a letter or digit, at most 64 characters (e.g. `count-lines`)"
    )]
    InvalidName(String),
    /// Something is already there.
    #[error(
        "{} already exists; skillet create never overwrites: pick another name, or remove it first",
        .0.display()
    )]
    Exists(PathBuf),
    /// A script template asked for a type that does not run a script.
    #[error(
        "--template {template} makes a code_inline skill, not {kind}: drop --template or use \
         --type code_inline"
    )]
    TemplateForKind {
        /// The template asked for.
        template: &'static str,
        /// The type asked for.
        kind: &'static str,
    },
    /// The description cannot go into a skill as given.
    #[error("the description is not usable: {0}; give one line of text with --description")]
    Description(String),
    /// Writing failed.
    #[error("cannot write {}: {source}; check that the directory is writable", path.display())]
    Io {
        /// What could not be written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes a new skill from its template. Nothing that exists is ever replaced: the skill file
/// and its folder are created exclusively, and a name taken by either form (`<name>.json` or
/// `<name>/`) is refused.
pub fn create_skill(request: &CreateRequest) -> Result<Created, CreateError> {
    let name = request.name.as_str();
    if !skillet_spec::is_valid_skill_name(name) {
        return Err(CreateError::InvalidName(name.to_owned()));
    }
    if request.template != Template::Plain && request.kind != SkillKind::CodeInline {
        return Err(CreateError::TemplateForKind {
            template: request.template.as_str(),
            kind: request.kind.as_str(),
        });
    }
    let description = match &request.description {
        Some(d) if d.trim().is_empty() || d.contains(['\n', '\r']) => {
            return Err(CreateError::Description(
                "it must be one non-empty line".into(),
            ));
        }
        Some(d) => d.trim().to_owned(),
        None => format!("TODO: say in one line what {name} does"),
    };
    let file_form = request.dir.join(format!("{name}.json"));
    let folder_form = request.dir.join(name);
    for taken in [&file_form, &folder_form] {
        if taken.symlink_metadata().is_ok() {
            return Err(CreateError::Exists(taken.clone()));
        }
    }
    let (mut spec, extra) = match (request.kind, request.template) {
        (SkillKind::CodeInline, Template::PythonScript) => {
            let (spec, script) = templates::python_script(name, &description);
            (spec, Some(script))
        }
        (SkillKind::CodeInline, Template::ShellScript) => {
            let (spec, script) = templates::shell_script(name, &description);
            (spec, Some(script))
        }
        (SkillKind::CodeInline, _) => (templates::code_inline(name, &description), None),
        (SkillKind::CodeSession, _) => (templates::code_session(name, &description), None),
        (SkillKind::PromptInline, _) => (templates::prompt_inline(name, &description), None),
        (SkillKind::Conversation, _) => (templates::conversation(name, &description), None),
    };
    // Editors complete and check the file against the schema it names, by a path relative to
    // the file: `skillet create` (and `skillet init`) put it beside the skills directory.
    if let serde_json::Value::Object(map) = &mut spec {
        let depth = usize::from(extra.is_some());
        map.shift_insert(
            0,
            "$schema".into(),
            crate::setup::schema_ref_for(depth).into(),
        );
    }
    let mut text =
        serde_json::to_string_pretty(&spec).map_err(|e| CreateError::Description(e.to_string()))?;
    text.push('\n');
    // What is written must pass `skillet validate`: a description past the format's limits is
    // refused here rather than leaving a broken file behind.
    let loaded = skillet_spec::load_json(&text, None);
    if let Some(error) = loaded.diagnostics.iter().find(|d| d.is_error()) {
        return Err(CreateError::Description(error.message.clone()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CreateError::Io { path, source }
    };
    fs::create_dir_all(&request.dir).map_err(io(&request.dir))?;
    let Some(script) = extra else {
        write_new(&file_form, &text, false)?;
        return Ok(Created {
            name: name.to_owned(),
            kind: request.kind.as_str(),
            skill_file: file_form.clone(),
            files: vec![file_form],
        });
    };
    // `create_dir` (not `_all`) fails when the folder appeared meanwhile: never write into one.
    fs::create_dir(&folder_form).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CreateError::Exists(folder_form.clone()),
        _ => CreateError::Io {
            path: folder_form.clone(),
            source: e,
        },
    })?;
    let skill_file = folder_form.join(PACKAGE_SKILL_FILE);
    let script_path = folder_form.join(script.rel);
    if let Some(parent) = script_path.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    write_new(&skill_file, &text, false)?;
    write_new(&script_path, &script.text, script.executable)?;
    Ok(Created {
        name: name.to_owned(),
        kind: request.kind.as_str(),
        skill_file: skill_file.clone(),
        files: vec![skill_file, script_path],
    })
}

/// Creates `path` exclusively (an existing file or link there is an error, never followed).
fn write_new(path: &Path, text: &str, executable: bool) -> Result<(), CreateError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CreateError::Exists(path.to_path_buf()),
            _ => CreateError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
    file.write_all(text.as_bytes())
        .map_err(|source| CreateError::Io {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn request(dir: &Path, name: &str, kind: SkillKind, template: Template) -> CreateRequest {
        CreateRequest {
            name: name.into(),
            kind,
            template,
            description: Some("A test skill".into()),
            dir: dir.to_path_buf(),
        }
    }

    #[test]
    fn every_template_is_a_valid_skill_with_a_test() {
        let tmp = tempfile::tempdir().unwrap();
        let cases = [
            ("a", SkillKind::CodeInline, Template::Plain),
            ("b", SkillKind::CodeSession, Template::Plain),
            ("c", SkillKind::PromptInline, Template::Plain),
            ("d", SkillKind::Conversation, Template::Plain),
            ("e", SkillKind::CodeInline, Template::PythonScript),
            ("f", SkillKind::CodeInline, Template::ShellScript),
        ];
        for (name, kind, template) in cases {
            let created = create_skill(&request(tmp.path(), name, kind, template)).unwrap();
            let loaded = skillet_spec::load_file(&created.skill_file);
            assert!(
                !loaded.diagnostics.iter().any(|d| d.is_error()),
                "{name}: {:?}",
                loaded.diagnostics
            );
            let spec = loaded.spec.unwrap();
            assert_eq!(spec.kind, kind);
            assert_eq!(spec.tests.len(), 1, "{name} has one test");
            for f in &created.files {
                assert!(f.is_file(), "{} written", f.display());
            }
        }
        let script = tmp.path().join("e/scripts/main.py");
        assert!(
            fs::read_to_string(script)
                .unwrap()
                .contains("SKILL_PARAM_WHO")
        );
    }

    #[test]
    fn nothing_is_overwritten_and_bad_names_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = request(tmp.path(), "x", SkillKind::CodeInline, Template::Plain);
        create_skill(&plain).unwrap();
        let before = fs::read_to_string(tmp.path().join("x.json")).unwrap();
        let again = create_skill(&plain).unwrap_err();
        assert!(matches!(again, CreateError::Exists(_)), "{again}");
        // The other form of the same name is taken too.
        let folder = request(
            tmp.path(),
            "x",
            SkillKind::CodeInline,
            Template::ShellScript,
        );
        assert!(matches!(
            create_skill(&folder).unwrap_err(),
            CreateError::Exists(_)
        ));
        assert_eq!(
            fs::read_to_string(tmp.path().join("x.json")).unwrap(),
            before
        );
        for bad in ["Bad", "-x", "a b", "../x", "", &"a".repeat(65)] {
            let e = create_skill(&request(
                tmp.path(),
                bad,
                SkillKind::CodeInline,
                Template::Plain,
            ))
            .unwrap_err();
            assert!(matches!(e, CreateError::InvalidName(_)), "{bad:?}: {e}");
        }
        let e = create_skill(&request(
            tmp.path(),
            "y",
            SkillKind::PromptInline,
            Template::PythonScript,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("--type code_inline"), "{e}");
    }

    #[test]
    fn a_dangling_link_in_the_way_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere.json");
        std::os::unix::fs::symlink(&target, tmp.path().join("z.json")).unwrap();
        let e = create_skill(&request(
            tmp.path(),
            "z",
            SkillKind::CodeInline,
            Template::Plain,
        ))
        .unwrap_err();
        assert!(matches!(e, CreateError::Exists(_)), "{e}");
        assert!(!target.exists(), "nothing was written through the link");
    }
}
