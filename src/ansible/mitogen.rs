//! Mitogen (config key `mitogen`): its strategy keeps one Python process per host for the whole
//! run and runs each task inside it, where Ansible's own starts a new one per task. It must be
//! importable by the Python that runs ansible-playbook, found from that program's `#!` line.

use crate::error::{Error, Result};
use crate::process;
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The strategy that replaces Ansible's `linear` (same order of tasks and hosts).
pub const STRATEGY: &str = "mitogen_linear";

/// Where Mitogen is, for the Python that runs ansible-playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Mitogen {
    /// The folder to give as Ansible's strategy plugins.
    pub strategy_plugins: PathBuf,
    pub version: String,
    /// The Python it was found for.
    pub python: String,
}

/// Ask the Python that runs `ansible_playbook` where Mitogen is. Bad input (naming the config
/// key) when that Python cannot import it.
pub async fn locate(config: &Path, ansible_playbook: &Path) -> Result<Mitogen> {
    let first = std::fs::read(ansible_playbook)
        .ok()
        .and_then(|bytes| {
            let line = bytes.split(|b| *b == b'\n').next()?.to_vec();
            String::from_utf8(line).ok()
        })
        .unwrap_or_default();
    let bad = |why: String| {
        Error::input(format!(
            "{}: key \"mitogen\": {why}, or set \"mitogen\" to false",
            config.display()
        ))
    };
    let Some(python) = interpreter(&first) else {
        return Err(bad(format!(
            "cannot tell which Python runs {} (its first line names none): set strategy_plugins and strategy = {STRATEGY} in your ansible.cfg instead",
            ansible_playbook.display()
        )));
    };
    let shown = python.join(" ");
    let mut cmd = Command::new(&python[0]);
    cmd.args(&python[1..]).arg("-c").arg(
        "import os, ansible_mitogen, mitogen\n\
         print(os.path.join(os.path.dirname(ansible_mitogen.__file__), 'plugins', 'strategy'))\n\
         print('.'.join(map(str, mitogen.__version__)))",
    );
    let out = process::capture(cmd, &shown).await.map_err(|e| {
        bad(format!(
            "{e} (named on the first line of {})",
            ansible_playbook.display()
        ))
    })?;
    let mut lines = out.stdout.lines();
    match (out.code, lines.next(), lines.next()) {
        (0, Some(dir), Some(version)) if Path::new(dir).join(format!("{STRATEGY}.py")).is_file() => {
            Ok(Mitogen {
                strategy_plugins: PathBuf::from(dir),
                version: version.to_owned(),
                python: shown,
            })
        }
        _ => Err(bad(format!(
            "the Python that runs ansible-playbook ({shown}) cannot import Mitogen's Ansible plugins: install them there ({shown} -m pip install mitogen)"
        ))),
    }
}

/// The command in a `#!` line: `#!/venv/bin/python3` or `#!/usr/bin/env python3`, with any
/// arguments. None when it is no `#!` line.
fn interpreter(line: &str) -> Option<Vec<String>> {
    let words = shlex::split(line.strip_prefix("#!")?.trim())?;
    let mut words = words.into_iter();
    let first = words.next()?;
    let words: Vec<String> = if Path::new(&first).file_name()? == "env" {
        words.skip_while(|w| w.starts_with('-')).collect()
    } else {
        std::iter::once(first).chain(words).collect()
    };
    let program = Path::new(words.first()?).file_name()?.to_string_lossy();
    program.starts_with("python").then_some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_of_a_hash_bang_line() {
        let one = |l: &str| interpreter(l).map(|w| w.join(" "));
        assert_eq!(
            one("#!/venv/bin/python3").as_deref(),
            Some("/venv/bin/python3")
        );
        assert_eq!(one("#!/usr/bin/env python3").as_deref(), Some("python3"));
        assert_eq!(
            one("#! /usr/bin/env -S python3.12 -E").as_deref(),
            Some("python3.12 -E")
        );
        assert_eq!(
            one("#!/usr/bin/python3 -I").as_deref(),
            Some("/usr/bin/python3 -I")
        );
        assert_eq!(one("#!/bin/sh"), None);
        assert_eq!(one("#!/usr/bin/env bash"), None);
        assert_eq!(one("import sys"), None);
        assert_eq!(one(""), None);
    }
}
