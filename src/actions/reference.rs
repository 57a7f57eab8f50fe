//! `completions SHELL` and `man`: shell completion scripts and the man page, generated from
//! the same clap definitions as the command line itself.

use crate::error::{Error, Result};
use clap_complete::Shell;

pub fn completions(shell: Shell, mut cmd: clap::Command) -> Result<()> {
    clap_complete::generate(shell, &mut cmd, "manage", &mut std::io::stdout());
    Ok(())
}

pub fn man(cmd: clap::Command) -> Result<()> {
    clap_mangen::Man::new(cmd)
        .render(&mut std::io::stdout())
        .map_err(|e| Error::Local(format!("writing the man page: {e}")))
}
