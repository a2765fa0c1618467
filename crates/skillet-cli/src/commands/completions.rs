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
    clap_complete::generate(shell, &mut whole_tree(), "skillet", &mut script);
    let script = with_skill_names(shell, &String::from_utf8_lossy(&script));
    if json {
        crate::output::json(&serde_json::json!({"shell": shell.to_string(), "script": script}))?;
    } else {
        print!("{script}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The whole command tree, with `skillet help …` as deep as the commands themselves.
///
/// Subcommands are deferred (`cli::Command`), and clap makes the `help` subcommand's tree by
/// copying the subcommands as they are when their parent is built, which is before they are:
/// `help` would complete one level only. So once the tree is built, its `help` is made again
/// from it as clap makes it: names, descriptions and hidden flags.
fn whole_tree() -> clap::Command {
    const ABOUT: &str = "Print this message or the help of the given subcommand(s)";
    let mut cli = Cli::command();
    cli.build();
    let mut help = clap::Command::new("help")
        .about(ABOUT)
        .bin_name("skillet help")
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .subcommands(
            cli.get_subcommands()
                .filter_map(|sub| help_entry(sub, "skillet help")),
        )
        .subcommand(
            clap::Command::new("help")
                .about(ABOUT)
                .bin_name("skillet help help")
                .disable_help_flag(true)
                .disable_version_flag(true),
        );
    help.build();
    cli.mut_subcommand("help", |_shallow| help)
}

/// `command`'s entry under `help` (whose own entry is `parent`): its name, description and
/// subcommands, without flags, built. None for a `help` of clap's own.
fn help_entry(command: &clap::Command, parent: &str) -> Option<clap::Command> {
    if command.get_name() == "help" {
        return None;
    }
    let bin_name = format!("{parent} {}", command.get_name());
    let mut entry = clap::Command::new(command.get_name().to_owned())
        .bin_name(bin_name.clone())
        .hide(command.is_hide_set())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .subcommands(
            command
                .get_subcommands()
                .filter_map(|sub| help_entry(sub, &bin_name)),
        );
    if let Some(about) = command.get_about() {
        entry = entry.about(about.clone());
    }
    entry.build();
    Some(entry)
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

#[cfg(test)]
mod tests {
    use super::whole_tree;

    #[test]
    fn help_completes_as_deep_as_the_commands() {
        let tree = whole_tree();
        let help = tree.find_subcommand("help").expect("help");
        for path in [
            ["session", "start"],
            ["history", "prune"],
            ["breaker", "reset"],
        ] {
            let found = help
                .find_subcommand(path[0])
                .and_then(|c| c.find_subcommand(path[1]));
            assert!(
                found.is_some(),
                "`skillet help {}` is not completed",
                path.join(" ")
            );
        }
        let session = help.find_subcommand("session").expect("help session");
        assert!(
            session.get_arguments().next().is_none(),
            "help entries take no flags"
        );
    }
}
