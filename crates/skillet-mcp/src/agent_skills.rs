//! Agent Skills `SKILL.md` folders, published per the MCP skills extension (SEP-2640):
//! `skills/list`, `skills/get`, and each file as a `skill://` resource with its sha256 digest.
//!
//! rmcp's [`SkillCatalog`] reads a skills directory (without following symbolic links, with
//! per-skill size limits) and answers the methods; this module decides which of its skills are
//! shown: only the folders the registry chose (a workspace folder hides a global one of the same
//! name) and that agents may see (enabled, from a trusted workspace).

use std::collections::BTreeSet;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::skill_catalog::SkillCatalog;
use rmcp::model::{
    GetSkillResult, ReadResourceDirectoryResult, ReadResourceResult, Resource, Skill,
};
use skillet_registry::{Availability, Config, Environment, Registry};
use skillet_spec::SkillFormat;

const SCHEME: &str = "skill://";

/// The published folders of every skills directory that has any.
#[derive(Debug, Default)]
pub(crate) struct AgentSkills {
    /// Each catalog, with the `skill://DIR/` prefixes it may serve.
    catalogs: Vec<(SkillCatalog, BTreeSet<String>)>,
}

impl AgentSkills {
    pub fn build(registry: &Registry, config: &Config, env: &Environment) -> AgentSkills {
        let mut published = AgentSkills::default();
        let mut taken = BTreeSet::new();
        for dir in registry.dirs() {
            let prefixes: BTreeSet<String> = registry
                .entries()
                .iter()
                .filter(|e| e.format == SkillFormat::AgentSkill && e.is_valid())
                .filter(|e| config.availability(env, e) == Availability::Available)
                .filter_map(|e| e.skill_dir().strip_prefix(&dir.path).ok())
                .filter_map(|rel| rel.to_str().filter(|r| !r.is_empty()))
                .map(|rel| format!("{SCHEME}{rel}/"))
                // The same folder name in a lower-precedence directory stays hidden.
                .filter(|prefix| taken.insert(prefix.clone()))
                .collect();
            if prefixes.is_empty() {
                continue;
            }
            match SkillCatalog::from_dir(&dir.path) {
                Ok(catalog) => {
                    say_unpublished(&catalog, &prefixes);
                    published.catalogs.push((catalog, prefixes));
                }
                // The folder and the error quote the workspace: shown safe for a terminal.
                Err(e) => eprintln!(
                    "skillet mcp: {}",
                    skillet_spec::display::terminal_safe(
                        &format!("{} is not published: {e}", dir.path.display()),
                        skillet_spec::display::Lines::Escape,
                        4_000
                    )
                ),
            }
        }
        published
    }
}

/// Says on stderr which chosen folders the catalog leaves out. It publishes a `SKILL.md` only
/// when its `name` is its folder's name and an Agent Skills id; skillet runs the others under
/// their folder's id (as a tool and a prompt), so without this an agent's user would not know
/// why `skill://NAME/SKILL.md` is missing.
fn say_unpublished(catalog: &SkillCatalog, prefixes: &BTreeSet<String>) {
    let served: Vec<String> = catalog.skills().into_iter().map(|s| s.uri).collect();
    for prefix in prefixes {
        if served.iter().any(|u| u.starts_with(prefix.as_str())) {
            continue;
        }
        let folder = prefix
            .trim_start_matches(SCHEME)
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let id_like = !folder.is_empty()
            && folder
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let fix = if id_like {
            format!("write `name: {folder}` to publish it")
        } else {
            "rename the folder, and its `name`, to such an id to publish it".to_owned()
        };
        eprintln!(
            "skillet mcp: {}",
            skillet_spec::display::terminal_safe(
                &format!(
                    "{prefix}SKILL.md is not published as a skill resource (it is still a tool \
                     and a prompt): the MCP skills catalog takes a SKILL.md only when its `name` \
                     is its folder's name in lowercase letters, digits and `-`; {fix}"
                ),
                skillet_spec::display::Lines::Escape,
                4_000
            )
        );
    }
}

impl AgentSkills {
    /// The catalog serving `uri`, if it is published.
    fn owner(&self, uri: &str) -> Option<&SkillCatalog> {
        self.catalogs
            .iter()
            .find(|(_, prefixes)| prefixes.iter().any(|p| uri.starts_with(p.as_str())))
            .map(|(catalog, _)| catalog)
    }

    fn shown(&self, uri: &str) -> bool {
        self.owner(uri).is_some()
    }

    /// Every published skill, ordered by URI.
    pub fn skills(&self) -> Vec<Skill> {
        let mut skills: Vec<Skill> = self
            .catalogs
            .iter()
            .flat_map(|(c, prefixes)| {
                c.skills()
                    .into_iter()
                    .filter(|s| prefixes.iter().any(|p| s.uri.starts_with(p.as_str())))
            })
            .collect();
        skills.sort_by(|a, b| a.uri.cmp(&b.uri));
        skills
    }

    pub fn get_skill(&self, uri: &str) -> Result<GetSkillResult, McpError> {
        self.owner(uri)
            .ok_or_else(|| McpError::invalid_params(format!("unknown skill {uri}"), None))?
            .get_skill(uri)
    }

    /// The `SKILL.md` of every published skill.
    pub fn resources(&self) -> Vec<Resource> {
        // Each catalog lists only the folders chosen from it: a folder of the same name in a
        // lower-precedence directory is shadowed, and its `SKILL.md` must not be listed (with
        // its own description) under the URI the chosen one serves.
        self.catalogs
            .iter()
            .flat_map(|(c, prefixes)| {
                c.resources()
                    .into_iter()
                    .filter(|r| prefixes.iter().any(|p| r.uri.starts_with(p.as_str())))
            })
            .collect()
    }

    pub fn read_resource(&self, uri: &str) -> Option<ReadResourceResult> {
        self.owner(uri)?.read_resource(uri)
    }

    pub fn read_resource_directory(
        &self,
        uri: &str,
    ) -> Result<ReadResourceDirectoryResult, McpError> {
        let not_dir = || McpError::invalid_params(format!("not a directory: {uri}"), None);
        let mut listing = self
            .owner(uri)
            .ok_or_else(not_dir)?
            .read_resource_directory(uri)?;
        listing.resources.retain(|r| self.shown(&r.uri));
        Ok(listing)
    }
}
