//! `skillet docs`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use skillet_authoring::docs::Catalog;

use crate::cli::DocsArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &DocsArgs) -> Result<ExitCode> {
    super::install::recover_quietly(ctx);
    let registry = ctx.registry();
    let base = ctx
        .env
        .workspace_root()
        .unwrap_or_else(|| ctx.env.cwd.clone());
    let catalog = Catalog::from_registry(&registry, &base, ctx.env.home.as_deref());
    let broken = catalog.skills.iter().filter(|s| s.kind.is_none()).count();
    let (text, target) = match (&args.html, &args.out) {
        (Some(dir), _) => {
            let dir = ctx.env.cwd.join(dir);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            (catalog.to_html(), Some(dir.join("index.html")))
        }
        (None, Some(file)) => (catalog.to_markdown(), Some(ctx.env.cwd.join(file))),
        (None, None) => (catalog.to_markdown(), None),
    };
    let Some(path) = target else {
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    };
    write_file(&path, &text)?;
    eprintln!(
        "wrote {} skill{}{} to {}",
        catalog.skills.len(),
        if catalog.skills.len() == 1 { "" } else { "s" },
        if broken > 0 {
            format!(" ({broken} broken: `skillet validate` says why)")
        } else {
            String::new()
        },
        output::path(&ctx.shown(&path))
    );
    Ok(ExitCode::SUCCESS)
}

/// Replaces `path` whole: a link already there is replaced, never written through.
fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    skillet_registry::packages::write_atomic(path, text.as_bytes()).with_context(|| {
        format!(
            "cannot write {}; check that its directory is writable",
            path.display()
        )
    })
}
