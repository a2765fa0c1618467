//! `skillet completions SHELL`: clap's script, plus skill names asked of `skillet list --names`
//! at completion time, so a skill added after installing the script still completes.

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The subcommands whose first argument is a skill name or alias.
const TAKES_A_SKILL: &[&str] = &["run", "info", "context", "enable", "disable", "validate"];

pub fn run(shell: Shell, json: bool) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "skillet", &mut script);
    let script = with_skill_names(shell, &String::from_utf8_lossy(&script));
    if json {
        crate::output::json(&serde_json::json!({"shell": shell.to_string(), "script": script}))?;
    } else {
        print!("{script}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Adds completion of skill names to clap's static script, where the shell allows it.
fn with_skill_names(shell: Shell, script: &str) -> String {
    let commands = TAKES_A_SKILL.join(" ");
    match shell {
        Shell::Bash => format!(
            r#"{script}
# Skill names, asked of skillet when completing (skillet list --names).
_skillet_skill_names() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" sub="" i=1
    while (( i < COMP_CWORD )); do
        case "${{COMP_WORDS[i]}}" in
            -C|--cwd) i=$((i + 2)); continue ;;
            -*) ;;
            *) sub="${{COMP_WORDS[i]}}"; break ;;
        esac
        i=$((i + 1))
    done
    if [[ -n "$sub" && $((i + 1)) -eq $COMP_CWORD && "$cur" != -* && " {commands} " == *" $sub "* ]]; then
        COMPREPLY=( $(compgen -W "$(skillet list --names 2>/dev/null)" -- "$cur") )
        return 0
    fi
    _skillet "$@"
}}
complete -F _skillet_skill_names -o bashdefault -o default skillet
"#
        ),
        Shell::Zsh => {
            let names = r#"
# Skill names, asked of skillet when completing (skillet list --names).
_skillet_skill_names() {
    local -a names
    names=(${(f)"$(skillet list --names 2>/dev/null)"})
    compadd -a names
}
"#;
            let script = script.replace(
                ":name -- Skill name or alias:_default'",
                ":name -- Skill name or alias:_skillet_skill_names'",
            );
            match script.split_once('\n') {
                Some((first, rest)) => format!("{first}\n{names}{rest}"),
                None => script,
            }
        }
        Shell::Fish => format!(
            "{script}\n# Skill names, asked of skillet when completing (skillet list --names).\n\
             complete -c skillet -n \"__fish_seen_subcommand_from {commands}\" -f -a \"(skillet list --names 2>/dev/null)\"\n"
        ),
        _ => script.to_owned(),
    }
}
