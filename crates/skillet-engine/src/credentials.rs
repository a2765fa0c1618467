//! Which files hold credentials by convention, by their name or their place: never sent to a
//! model as context, never exposed as part of a toolchain, never reached by a grant through
//! another name. The one list lives in `skillet-spec`, which also needs it to refuse a skill's
//! `file://` reference to a credential file.

pub use skillet_spec::is_secret_file;
