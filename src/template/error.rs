//! Errors found while loading and merging fragments. Each one displays as a
//! single line that names the file(s) involved and says what to do.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file is not valid JSON/YAML, or not a valid template shape.
    /// `message` already says which (`invalid YAML: …`, `unknown section …`).
    #[error("{}{}: {message}", path.display(), location(*line, *column))]
    Syntax {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },

    #[error("{}: cannot read the file: {message}", path.display())]
    Io { path: PathBuf, message: String },

    #[error(
        "{}: folder not found: create it and put the CloudFormation fragments \
         (*.json, *.yaml, *.yml, *.template) in it",
        path.display()
    )]
    NoDir { path: PathBuf },

    #[error(
        "{}: no fragments found: add at least one CloudFormation fragment \
         (*.json, *.yaml, *.yml, *.template; image.* is only used to bake the image)",
        path.display()
    )]
    Empty { path: PathBuf },

    #[error(
        "{} and {} are both fragment \"{}\": remove or rename one of them",
        first.display(),
        second.display(),
        stem(first)
    )]
    DuplicateStem { first: PathBuf, second: PathBuf },

    #[error(
        "logical ID \"{id}\" is defined in both {} ({first_section}) and {} ({second_section}): \
         rename one of them",
        first.display(),
        second.display()
    )]
    Clash {
        id: String,
        first: PathBuf,
        second: PathBuf,
        first_section: String,
        second_section: String,
    },

    #[error(
        "{}: resource \"{id}\" (AWS::CloudFormation::Stack) has TemplateURL {url}, but {} does not exist: \
         create the child template there or fix the path (relative to the fragment's folder)",
        fragment.display(),
        path.display()
    )]
    MissingChild {
        fragment: PathBuf,
        id: String,
        url: String,
        path: PathBuf,
    },

    #[error(
        "{}: resource \"{id}\" links back to {}, which is already being nested: \
         a child template cannot contain itself",
        fragment.display(),
        path.display()
    )]
    NestedCycle {
        fragment: PathBuf,
        id: String,
        path: PathBuf,
    },

    #[error(
        "AWSTemplateFormatVersion is \"{first_version}\" in {} but \"{second_version}\" in {}: \
         use the same version (normally 2010-09-09) in every fragment",
        first.display(),
        second.display()
    )]
    VersionMismatch {
        first: PathBuf,
        first_version: String,
        second: PathBuf,
        second_version: String,
    },
}

impl TemplateError {
    /// A template-shape problem with no precise position.
    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        TemplateError::Syntax {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A template-shape problem at a known line.
    pub(crate) fn invalid_at(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        TemplateError::Syntax {
            path: path.to_path_buf(),
            line,
            column: None,
            message: message.into(),
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn every_variant_is_one_line_naming_its_files() {
        let cases: Vec<(TemplateError, &str)> = vec![
            (
                TemplateError::Syntax {
                    path: p("formations/app.yaml"),
                    line: Some(12),
                    column: Some(5),
                    message: "invalid YAML: did not find expected key".into(),
                },
                "formations/app.yaml:12:5: invalid YAML: did not find expected key",
            ),
            (
                TemplateError::invalid_at(&p("formations/x.json"), Some(3), "bad"),
                "formations/x.json:3: bad",
            ),
            (
                TemplateError::invalid(&p("formations/x.json"), "unknown section \"Resource\""),
                "formations/x.json: unknown section \"Resource\"",
            ),
            (
                TemplateError::Io {
                    path: p("formations/a.json"),
                    message: "Permission denied (os error 13)".into(),
                },
                "formations/a.json: cannot read the file: Permission denied (os error 13)",
            ),
            (
                TemplateError::DuplicateStem {
                    first: p("formations/app.json"),
                    second: p("formations/app.yaml"),
                },
                "formations/app.json and formations/app.yaml are both fragment \"app\": \
                 remove or rename one of them",
            ),
            (
                TemplateError::Clash {
                    id: "Vpc".into(),
                    first: p("formations/network.yaml"),
                    second: p("formations/app.json"),
                    first_section: "Resources".into(),
                    second_section: "Resources".into(),
                },
                "logical ID \"Vpc\" is defined in both formations/network.yaml (Resources) \
                 and formations/app.json (Resources): rename one of them",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn dir_errors_and_version_mismatch_name_paths() {
        let no_dir = TemplateError::NoDir {
            path: p("formations"),
        }
        .to_string();
        assert!(
            no_dir.starts_with("formations: folder not found"),
            "{no_dir}"
        );
        let empty = TemplateError::Empty {
            path: p("formations"),
        }
        .to_string();
        assert!(
            empty.starts_with("formations: no fragments found"),
            "{empty}"
        );
        let version = TemplateError::VersionMismatch {
            first: p("formations/a.yaml"),
            first_version: "2010-09-09".into(),
            second: p("formations/b.json"),
            second_version: "2011-01-01".into(),
        }
        .to_string();
        assert!(version.contains("formations/a.yaml") && version.contains("formations/b.json"));
        for text in [no_dir, empty, version] {
            assert!(!text.contains('\n'));
        }
    }
}
