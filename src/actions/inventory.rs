//! `inventory`: Ansible's dynamic-inventory protocol (`--list`, `--host H`), so
//! `ansible-playbook -i <script>` works; `--script` prints that two-line script.

use super::reach::Reach;
use super::Ctx;
use crate::ansible::Inventory;
use crate::error::{Error, Result};
use crate::process::shell_words;

/// `--host H` gives one host's variables, `--script` the wrapper script, neither the list.
pub async fn run(ctx: &Ctx, host: Option<&str>, script_only: bool) -> Result<()> {
    if script_only {
        println!("{}", script(ctx)?);
        return Ok(());
    }
    let clients = ctx.clients().await?;
    let reach = Reach::load(ctx, &clients).await?;
    let inventory = Inventory::new(
        reach.hosts,
        ctx.env.app(),
        &ctx.env.name,
        &reach.stack.outputs,
    );
    let value = match host {
        Some(h) => inventory.host(h),
        None => inventory.list(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
    Ok(())
}

/// `#!/bin/sh` and one `exec` line calling this very binary with this config and env.
fn script(ctx: &Ctx) -> Result<String> {
    let abs = |p: &std::path::Path| {
        std::path::absolute(p).map_err(|e| Error::Local(format!("{}: {e}", p.display())))
    };
    let exe =
        std::env::current_exe().map_err(|e| Error::Local(format!("finding manage itself: {e}")))?;
    let mut argv = vec![
        "exec".to_owned(),
        exe.display().to_string(),
        "--config".to_owned(),
        abs(&ctx.env.config.path)?.display().to_string(),
    ];
    let t = &ctx.target;
    for (flag, value) in [
        ("--region", &t.region),
        ("--profile", &t.profile),
        ("--endpoint-url", &t.endpoint_url),
    ] {
        if let Some(v) = value {
            argv.extend([flag.to_owned(), v.clone()]);
        }
    }
    argv.extend([ctx.env.name.clone(), "inventory".to_owned()]);
    Ok(format!("#!/bin/sh\n{} \"$@\"", shell_words(&argv)))
}
