//! The top-level sections of a CloudFormation template: what a fragment may hold, and which
//! of them are keyed by logical IDs.

use std::path::Path;

use serde_json::{Map, Value};

use super::parse::kind;
use super::TemplateError;

/// Top-level template sections a fragment may contain, in output order.
pub const SECTIONS: [&str; 9] = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
    "Transform",
];

/// Sections whose keys are logical IDs.
pub const ID_SECTIONS: [&str; 6] = [
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];

/// Known sections only, each of the shape CloudFormation expects.
pub(crate) fn check(
    path: &Path,
    body: &Map<String, Value>,
    line_of: impl Fn(&str) -> Option<usize>,
) -> Result<(), TemplateError> {
    for (section, value) in body {
        if !SECTIONS.contains(&section.as_str()) {
            return Err(TemplateError::invalid(
                path,
                format!(
                    "unknown section \"{section}\" (expected one of {})",
                    SECTIONS.join(", ")
                ),
            ));
        }
        let expected = match section.as_str() {
            "AWSTemplateFormatVersion" | "Description" => {
                (!value.is_string()).then_some("a string")
            }
            "Transform" => (!is_transform(value)).then_some("a macro name or a list of them"),
            _ => (!value.is_object()).then_some("a mapping of logical IDs"),
        };
        if let Some(expected) = expected {
            return Err(TemplateError::invalid_at(
                path,
                line_of(section),
                format!(
                    "section \"{section}\" must be {expected}, not {}",
                    kind(value)
                ),
            ));
        }
    }
    match body.get("Metadata").and_then(|m| m.get("Group")) {
        Some(Value::String(group)) if !group.is_empty() => Ok(()),
        None => Ok(()),
        Some(_) => Err(TemplateError::invalid_at(
            path,
            line_of("Group"),
            "Metadata.Group must be a group name such as \"worker\"",
        )),
    }
}

fn is_transform(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(Value::is_string),
        _ => false,
    }
}
