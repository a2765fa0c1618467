//! The skillet skill format.
//!
//! This crate owns what a skill *is*: the canonical types ([`SkillSpec`]), parsing with a line and
//! column for every value, total validation (every problem reported, each with a hint), the JSON
//! Schema, templates with single-pass rendering, the checks that keep parameters out of shells and
//! inline code, and the older formats skillet still reads and `skillet migrate` rewrites.
//!
//! It does no discovery (that is `skillet-registry`) and runs nothing (that is `skillet-engine`).
//! Apart from resolving `file://` prompt references of the v1 format (beneath the skill's folder,
//! through [`files`]), it reads only the file it is given.
//!
//! ```
//! let loaded = skillet_spec::load_json(
//!     r#"{"name": "greet", "description": "Say hi", "type": "prompt_inline",
//!         "prompt_template": "Hello {who}!",
//!         "parameters": [{"name": "who", "type": "string", "required": true}]}"#,
//!     None,
//! );
//! let spec = loaded.spec.expect("valid skill");
//! assert_eq!(spec.parameters[0].name, "who");
//! ```

// A `Diagnostic` is the error of every fallible step here; it is built once per problem, never on
// a hot path, so keeping it unboxed is simpler than the size the lint guards against.
#![allow(clippy::result_large_err)]

mod channels;
pub mod compat;
mod credentials;
mod diagnostic;
pub mod display;
mod fields;
pub mod files;
pub mod interpreter;
mod json_source;
pub mod limits;
mod load;
mod migrate;
mod model;
mod params;
mod schema;
mod self_test;
mod skill_md;
mod state;
pub mod strict_json;
pub mod template;
mod validate;

pub use channels::ChannelsSpec;
pub use compat::SkillFormat;
pub use credentials::is_secret_file;
pub use diagnostic::{Diagnostic, Position, Severity, did_you_mean};
pub use limits::{MAX_NESTING_DEPTH, MAX_SKILL_FILE_BYTES, MAX_SKILL_MD_BYTES};
pub use load::{
    AGENT_SKILL_FILE, LoadedSkill, PACKAGE_SKILL_FILE, load_file, load_file_identified,
    load_file_within, load_json, load_skill_text, read_skill_file,
};
pub use migrate::{Migration, migrate_file};
pub use model::*;
pub use params::{ParamError, ParamValue};
pub use schema::skill_json_schema;
pub use self_test::{SkillTest, TestExpectation, json_pointer_of};
pub use skill_md::{load_skill_md, load_skill_md_in};
pub use state::{DEFAULT_MAX_STATE_KB, OnConflict, StateScope, StateSpec};
pub use template::{PARAMS_JSON_PLACEHOLDER, SKILL_DIR_PLACEHOLDER, Template};
pub use validate::{check_key_glob, is_valid_skill_name};

/// Prefix of the environment variables that carry parameter values.
pub const PARAM_ENV_PREFIX: &str = "SKILL_PARAM_";

/// The environment variable that carries parameter `name`.
///
/// ```
/// assert_eq!(skillet_spec::param_env_var("file_path"), "SKILL_PARAM_FILE_PATH");
/// ```
pub fn param_env_var(name: &str) -> String {
    format!("{PARAM_ENV_PREFIX}{}", name.to_ascii_uppercase())
}
