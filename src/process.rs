//! The one place that runs other programs (ansible-playbook, ssh, ssh-keygen): argv is built
//! explicitly, never through a shell; output is streamed or captured; exit status is mapped.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Find `program` on PATH, or say how to get it.
pub fn find(program: &str, how_to_get: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::input(format!("{program} not found on PATH: {how_to_get}")))
}

/// Run to the end, handing every line of stdout and stderr to `line` as it comes.
/// Returns the exit code (128 + signal when killed by one).
pub async fn stream(mut cmd: Command, what: &str, line: impl Fn(&str)) -> Result<i32> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Local(format!("cannot start {what}: {e}")))?;
    let out = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let err = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let mut out = Some(out);
    let mut err = Some(err);
    while out.is_some() || err.is_some() {
        tokio::select! {
            l = next(&mut out) => match l { Some(l) => line(&l), None => out = None },
            l = next(&mut err) => match l { Some(l) => line(&l), None => err = None },
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| Error::Local(format!("{what}: {e}")))?;
    Ok(code_of(status))
}

async fn next<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut Option<tokio::io::Lines<R>>,
) -> Option<String> {
    match lines {
        Some(l) => l.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

pub struct Captured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub async fn capture(mut cmd: Command, what: &str) -> Result<Captured> {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = cmd
        .output()
        .await
        .map_err(|e| Error::Local(format!("cannot run {what}: {e}")))?;
    Ok(Captured {
        code: code_of(out.status),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// A command line as a person would type it (POSIX shell quoting), for `--print` and dry runs.
pub fn shell_words(argv: &[String]) -> String {
    // Nul is the only thing shlex refuses; no real argument holds one, and showing it beats failing.
    shlex::Quoter::new()
        .allow_nul(true)
        .join(argv.iter().map(String::as_str))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_both_outputs_and_passes_the_exit_code() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 7"]);
        let lines = std::sync::Mutex::new(Vec::new());
        let code = stream(cmd, "sh", |l| lines.lock().unwrap().push(l.to_owned()))
            .await
            .unwrap();
        assert_eq!(code, 7);
        let mut lines = lines.into_inner().unwrap();
        lines.sort();
        assert_eq!(lines, ["err", "out"]);
    }

    #[test]
    fn quotes_only_what_needs_it() {
        let argv = [
            "ssh",
            "-o",
            "UserKnownHostsFile=/a b",
            "root@10.0.0.1",
            "it's",
        ]
        .map(String::from);
        assert_eq!(
            shell_words(&argv),
            r#"ssh -o 'UserKnownHostsFile=/a b' root@10.0.0.1 "it's""#
        );
    }

    #[test]
    fn missing_program_says_how_to_get_it() {
        let err = find("surely-not-a-program-xyz", "install it").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("install it"));
    }
}
