//! The name of a package.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A package's name: the same rule as a skill's (`^[a-z0-9][a-z0-9_-]{0,63}$`), so it can name
/// a directory and be typed without quoting.
///
/// ```
/// use skillet_pkg::PackageName;
/// assert!(PackageName::new("document-skills").is_ok());
/// assert!(PackageName::new("../etc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

/// A string that is not a package name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a package name: use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
)]
pub struct PackageNameError(pub String);

impl PackageName {
    /// Checks `name` against the rule.
    pub fn new(name: impl Into<String>) -> Result<Self, PackageNameError> {
        let name = name.into();
        if skillet_spec::is_valid_skill_name(&name) {
            Ok(PackageName(name))
        } else {
            Err(PackageNameError(name))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PackageName {
    type Error = PackageNameError;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        PackageName::new(name)
    }
}

impl From<PackageName> for String {
    fn from(name: PackageName) -> String {
        name.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PackageName {
    type Err = PackageNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackageName::new(s)
    }
}
