//! A checklist (`doctor`): one line per check, its mark, its name and what was found or what to
//! do. The marks are words, so they read the same without colour; green, red and yellow only
//! on a terminal (and never with NO_COLOR).

use console::style;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Ok,
    Fail,
    /// Not run, because a check it needs failed.
    Skip,
}

pub fn checklist<'a>(rows: impl IntoIterator<Item = (Mark, &'a str, &'a str)>) -> String {
    let rows: Vec<_> = rows.into_iter().collect();
    let width = rows
        .iter()
        .map(|(_, name, _)| name.len())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(mark, name, detail)| {
            let word = match mark {
                Mark::Ok => style("ok  ").green(),
                Mark::Fail => style("FAIL").red().bold(),
                Mark::Skip => style("skip").yellow(),
            };
            format!("{word}  {name:<width$}  {detail}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
