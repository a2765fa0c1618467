//! A throwaway machine for discovery tests: a home directory and a workspace that is a
//! repository, and the registry skillet would build there.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // test fixtures: a failure here is a broken test machine

use std::fs;
use std::path::PathBuf;

use skillet_registry::{Config, Environment, Registry};

pub struct World {
    _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub ws: PathBuf,
}

impl World {
    pub fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let ws = tmp.path().join("ws");
        fs::create_dir_all(ws.join(".git")).unwrap();
        fs::create_dir_all(&home).unwrap();
        World {
            _tmp: tmp,
            home,
            ws,
        }
    }

    /// Writes `text` to `rel`: under the home for `~/…`, else under the workspace.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = match rel.strip_prefix("~/") {
            Some(r) => self.home.join(r),
            None => self.ws.join(rel),
        };
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    /// The environment of a command run at the workspace root.
    pub fn env(&self) -> Environment {
        Environment {
            cwd: self.ws.clone(),
            home: Some(self.home.clone()),
            config_home: Some(self.home.join(".config")),
            data_home: None,
        }
    }

    /// Full discovery, as `skillet list` does it.
    pub fn registry(&self) -> Registry {
        let env = self.env();
        Registry::discover(&env, &Config::load(&env).unwrap())
    }

    /// The files a call of `name` needs, as `skillet run NAME` reads them.
    pub fn registry_for(&self, name: &str) -> Registry {
        let env = self.env();
        Registry::discover_for(&env, &Config::load(&env).unwrap(), name)
    }
}
