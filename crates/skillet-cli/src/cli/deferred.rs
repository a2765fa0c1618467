//! `cli::Command` is `defer`red: clap builds a subcommand's arguments only when that subcommand
//! is the one given. Building runs the argument type's derive, which would replace the one-line
//! description the subcommand list shows with the type's own doc comment; these tests hold the
//! two the same, so `skillet --help`, `skillet run --help` and the completions agree.

use clap::CommandFactory;

use super::Cli;

/// Each subcommand's name and description, as its parent lists it, as built, at any depth.
fn descriptions(unbuilt: &clap::Command, path: &str, out: &mut Vec<(String, String, String)>) {
    for sub in unbuilt.get_subcommands() {
        let name = format!("{path} {}", sub.get_name());
        let listed = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let mut built = sub.clone();
        built.build();
        let own = built
            .get_about()
            .map(ToString::to_string)
            .unwrap_or_default();
        out.push((name.clone(), listed, own));
        descriptions(&built, &name, out);
    }
}

#[test]
fn a_built_subcommand_keeps_the_description_its_parent_lists() {
    let mut found = Vec::new();
    descriptions(&Cli::command(), "skillet", &mut found);
    assert!(found.len() > 60, "the subcommands were found: {found:?}");
    let changed: Vec<String> = found
        .iter()
        .filter(|(_, listed, own)| listed != own)
        .map(|(name, listed, own)| format!("{name}: listed {listed:?}, built {own:?}"))
        .collect();
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}

#[test]
fn only_the_subcommand_given_is_built() {
    let cli = Cli::command();
    let run = cli.find_subcommand("run").expect("run");
    assert!(
        run.get_arguments().next().is_none(),
        "`run` was built before it was chosen: every process pays for every subcommand again"
    );
}
