//! Installing, updating and removing packages in a scope: fetch into a staging directory,
//! check, ask, then move into place atomically, so an interrupted install leaves the previous
//! state intact.
