//! `skillet hooks install`: a git pre-commit hook that validates the skill files a commit adds
//! or changes and runs their tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::SetupError;
use super::handle::Dir;

/// The line that marks a hook as skillet's own (so that installing again replaces it quietly).
const MARK: &str = "# skillet pre-commit hook";

/// What `install_hook` did.
#[derive(Debug, Clone, Serialize)]
pub struct HookInstalled {
    /// The hook file.
    pub hook: PathBuf,
    /// `created`, `updated` or `unchanged`.
    pub action: super::FileAction,
    /// Where the hook that was there before is kept, when `--force` replaced one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
}

/// The hook's text. `skillet` is the program it calls when that file is still executable
/// (the binary that installed it); otherwise it calls `skillet` from `PATH`.
///
/// Git runs it at the top of the work tree. For every staged path under a
/// `.skillet/skills/` directory (at any depth, for nested workspaces) it finds the skill
/// (`NAME.json`, or the folder `NAME/` of a package skill), then runs `skillet validate` on
/// the skill file and `skillet test NAME` in that workspace. It checks the work tree's
/// files, and says so when a staged file also has changes not staged.
pub fn hook_script(skillet: &Path) -> String {
    let program = shell_quote(&skillet.to_string_lossy());
    format!(
        r#"#!/bin/sh
{MARK} (written by `skillet hooks install`): checks the skill files this commit
# adds or changes with `skillet validate` and runs their tests with `skillet test`.
# Skip it once with `git commit --no-verify`; remove this file to stop it.
skillet={program}
[ -x "$skillet" ] || skillet=skillet
status=0
seen=' '
staged=$(git -c core.quotePath=false diff --cached --name-only --diff-filter=ACMR) || exit 1
IFS='
'
for path in $staged; do
  case "$path" in
    .skillet/skills/*|*/.skillet/skills/*) ;;
    *) continue ;;
  esac
  root=${{path%%.skillet/skills/*}}
  rest=${{path#"$root".skillet/skills/}}
  case "$rest" in
    */*)
      name=${{rest%%/*}}
      file=.skillet/skills/$name/skill.json
      [ -e "$root$file" ] || file=.skillet/skills/$name/SKILL.md ;;
    *.json) name=${{rest%.json}}; file=.skillet/skills/$rest ;;
    *) continue ;;
  esac
  case "$seen" in *" $root$name "*) continue ;; esac
  seen="$seen$root$name "
  if ! git diff --quiet -- "$path"; then
    echo "skillet: $path has changes that are not staged; checking the work tree's version" >&2
  fi
  dir=${{root:-./}}
  if "$skillet" -C "$dir" validate "$file"; then
    "$skillet" -C "$dir" test "$name" || status=1
  else
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "skillet: commit refused: fix the skills above (or commit with --no-verify to skip this check)" >&2
fi
exit $status
"#
    )
}

/// Writes the pre-commit hook of the repository `cwd` is in, where git keeps its hooks (`git
/// rev-parse --git-path hooks`, which follows `core.hooksPath`). A hook that is not skillet's
/// is replaced only with `force`, and kept as `pre-commit.bak`.
pub fn install_hook(cwd: &Path, skillet: &Path, force: bool) -> Result<HookInstalled, SetupError> {
    let output = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(cwd)
        .output()
        .map_err(|e| {
            SetupError::Git(format!(
                "cannot run git ({e}): install git, or write the hook yourself (docs/authoring.md)"
            ))
        })?;
    if !output.status.success() {
        return Err(SetupError::Git(format!(
            "{} is not in a git repository ({}); run it inside one, after `git init`",
            cwd.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let listed = String::from_utf8_lossy(&output.stdout)
        .trim_end_matches('\n')
        .to_owned();
    let hooks = cwd.join(&listed);
    std::fs::create_dir_all(&hooks).map_err(|source| SetupError::Io {
        action: "write",
        path: hooks.clone(),
        source,
    })?;
    // The hooks directory is the user's (their .git, or their core.hooksPath, which may be a
    // link they made): resolve it once, then work by handle inside it.
    let hooks = std::fs::canonicalize(&hooks).map_err(|source| SetupError::Io {
        action: "read",
        path: hooks.clone(),
        source,
    })?;
    let dir = Dir::open_root(&hooks)?;
    let hook = hooks.join("pre-commit");
    let script = hook_script(skillet);
    let mut backup = None;
    let action = match dir.read("pre-commit") {
        Ok(Some(old)) if old == script.as_bytes() => super::FileAction::Unchanged,
        Ok(Some(old)) if is_ours(&old) => super::FileAction::Updated,
        Ok(None) => super::FileAction::Created,
        // Someone else's hook, or a link or something else that is not a plain file.
        Ok(_) | Err(SetupError::NotPlain { .. }) | Err(SetupError::TooLarge { .. }) => {
            if !force {
                return Err(SetupError::HookExists(hook));
            }
            dir.rename("pre-commit", "pre-commit.bak")?;
            backup = Some(hooks.join("pre-commit.bak"));
            super::FileAction::Updated
        }
        Err(e) => return Err(e),
    };
    if action != super::FileAction::Unchanged {
        dir.write("pre-commit", script.as_bytes(), 0o755)?;
    }
    Ok(HookInstalled {
        hook,
        action,
        backup,
    })
}

/// Whether a hook file was written by skillet: its second line (after `#!/bin/sh`) is the mark.
fn is_ours(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n')
        .nth(1)
        .is_some_and(|line| line.starts_with(MARK.as_bytes()))
}

/// `word` in single quotes for `sh`.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}
