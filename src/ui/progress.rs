//! Live progress for a stack operation: a spinner line on a terminal, one plain line per
//! event elsewhere (CI logs).

use super::status_style;
use crate::aws::cloudformation::StackEvent;
use crate::stack::Watch;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// Where a logical id is defined ("formations/app.yaml:12"), when known.
pub type Origin = Box<dyn Fn(&str) -> Option<String>>;

pub struct StackProgress {
    stack: String,
    bar: Option<ProgressBar>,
    quiet: bool,
    origin: Origin,
}

impl StackProgress {
    pub fn new(stack: &str, live: bool, quiet: bool, origin: Origin) -> Self {
        let bar = live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            stack: stack.to_owned(),
            bar,
            quiet,
            origin,
        }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for StackProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Watch for StackProgress {
    fn event(&self, e: &StackEvent) {
        let from = (self.origin)(&e.logical_id)
            .map(|f| format!(" [{f}]"))
            .unwrap_or_default();
        let reason = e
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        self.line(format!(
            "    {} {:<30} {:<28} {}{from}{reason}",
            e.time.format("%H:%M:%S"),
            e.logical_id,
            e.resource_type,
            status_style(&e.status),
        ));
    }

    fn status(&self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {}", self.stack, status_style(status)));
        }
    }

    fn retrying(&self, why: &str) {
        self.line(format!("    (retrying: {why})"));
    }
}
