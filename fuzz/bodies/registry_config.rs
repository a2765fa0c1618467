//! `skillet.toml`: the global file (strict) and a workspace's (lenient: unknown keys are
//! warnings and removed, which rewrites the text), loaded together; then `skillet disable` edits
//! the workspace file. Input: the global file, `%%`, the workspace file.

use skillet_registry::{Config, ConfigScope, Environment, set_disabled};

pub fn run(data: &[u8]) {
    let parts = crate::input::parts(data, 2);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (home, workspace) = (dir.path().join("home"), dir.path().join("ws"));
    let global_dir = home.join(".config/skillet");
    std::fs::create_dir_all(&global_dir).expect("the global directory");
    std::fs::create_dir_all(workspace.join(".skillet")).expect("the workspace");
    std::fs::write(global_dir.join("skillet.toml"), &parts[0]).expect("the global file");
    std::fs::write(workspace.join(".skillet/skillet.toml"), &parts[1]).expect("the workspace file");
    let env = Environment {
        cwd: workspace.clone(),
        home: Some(home.clone()),
        config_home: Some(home.join(".config")),
        data_home: Some(home.join(".local/share")),
    };
    match Config::load(&env) {
        Ok(config) => {
            let _ = config.warnings.join("\n");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // Only the workspace file is edited: the global one holds grants a bad edit could lose.
    std::fs::write(global_dir.join("skillet.toml"), "").expect("an empty global file");
    match set_disabled(&env, ConfigScope::Workspace, "fuzzed-skill", true) {
        Ok(_) => {
            // A workspace file still broken after the edit is ignored as a whole (and runs
            // there are refused), so it disables nothing.
            if let Ok(config) = Config::load(&env)
                && config.workspace_error.is_none()
            {
                assert!(
                    config.disabled.contains("fuzzed-skill"),
                    "`skillet disable` wrote a file that does not disable the skill:\n{}",
                    std::fs::read_to_string(workspace.join(".skillet/skillet.toml"))
                        .unwrap_or_default()
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
