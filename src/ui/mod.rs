//! The screen. Commands decide what to say; this module decides how: steps and progress on
//! stderr, results on stdout (text or JSON), and confirmations on the terminal.

pub mod changes;
mod checklist;
pub mod drift;
mod progress;
mod table;

pub use checklist::{checklist, Mark};
pub use progress::StackProgress;
pub use table::table;

use crate::error::{Error, Result};
use console::style;
use serde::Serialize;
use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};

/// How results are printed: `--output text|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Ui {
    pub output: Output,
    /// -1 quiet, 0 normal, 1 and more verbose.
    pub verbosity: i8,
    pub stderr_tty: bool,
}

impl Ui {
    pub fn new(output: Output, verbose: u8, quiet: bool) -> Self {
        Self {
            output,
            verbosity: if quiet { -1 } else { verbose.min(3) as i8 },
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// A step of an action: "==> pushing the template".
    pub fn step(&self, msg: impl Display) {
        if self.verbosity >= 0 {
            eprintln!("{} {msg}", style("==>").bold().cyan().for_stderr());
        }
    }

    /// A detail under a step.
    pub fn info(&self, msg: impl Display) {
        if self.verbosity >= 0 {
            for line in msg.to_string().lines() {
                eprintln!("    {line}");
            }
        }
    }

    /// A line of a child program's output, under the label of what it runs for.
    pub fn prefixed(&self, label: &str, line: &str) {
        if self.verbosity >= 0 {
            eprintln!("{} {line}", style(format!("[{label}]")).dim().for_stderr());
        }
    }

    pub fn warn(&self, msg: impl Display) {
        eprintln!("{} {msg}", style("warning:").bold().yellow().for_stderr());
    }

    /// One error line; `-v` adds the AWS request id and the cause chain.
    pub fn error(&self, e: &Error) {
        eprintln!("{} {e}", style("error:").bold().red().for_stderr());
        if self.verbosity > 0 {
            if let Some(detail) = e.detail() {
                eprintln!("  {detail}");
            }
        }
    }

    /// The result of an action on stdout: its Display in text mode, its JSON otherwise.
    pub fn result<T: Serialize + Display>(&self, value: &T) {
        let mut out = std::io::stdout().lock();
        let _ = match self.output {
            Output::Text => writeln!(out, "{value}"),
            Output::Json => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(value)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            ),
        };
    }

    /// Ask the operator to type `expected` to go on. Without a terminal there is nobody to
    /// ask, so the action is refused: pass --yes in scripts.
    /// `what` names the change for the refusal line: "decommission of staging".
    pub fn confirm_typed(&self, what: &str, question: &str, expected: &str) -> Result<()> {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Refused(format!(
                "{what} not confirmed: no terminal to ask on; pass --yes to go ahead"
            )));
        }
        eprint!(
            "{question}\nType {} to confirm: ",
            style(expected).bold().for_stderr()
        );
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Local(e.to_string()))?;
        if line.trim() == expected {
            Ok(())
        } else {
            Err(Error::Refused(format!(
                "{what} not confirmed: expected \"{expected}\"; nothing was changed"
            )))
        }
    }

    pub fn stack_progress(
        &self,
        stack: &str,
        origin: impl Fn(&str) -> Option<String> + 'static,
    ) -> StackProgress {
        StackProgress::new(
            stack,
            self.stderr_tty && self.verbosity >= 0,
            self.verbosity < 0,
            Box::new(origin),
        )
    }
}

/// What Ctrl-C left behind: what goes on, the command that follows, the locks released.
pub fn interrupted(lines: &[String], released: &[String]) {
    for (i, line) in lines.iter().chain(released).enumerate() {
        if i == 0 {
            eprintln!("{}", style(line).bold().yellow().for_stderr());
        } else {
            eprintln!("    {line}");
        }
    }
}

/// Colour a stack or resource status by what it means.
pub fn status_style(status: &str) -> String {
    let s = style(status).for_stderr();
    let s = if status.ends_with("_FAILED") || status.contains("ROLLBACK") {
        s.red()
    } else if status.ends_with("_COMPLETE") {
        s.green()
    } else {
        s.yellow()
    };
    s.to_string()
}
