//! Stack parameter values from the config: plain values, or secrets read from an environment
//! variable or a private file. Secret values never reach logs, tags, argv or output.

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub enum ParamSource {
    Plain(String),
    /// A JSON list in the config, sent joined with commas (for List<…> and
    /// CommaDelimitedList parameters).
    List(Vec<String>),
    Env(String),
    File(PathBuf),
}

impl ParamSource {
    /// Read one entry of a `parameters` object. `key` is the full key path, for messages.
    pub fn parse(key: &str, value: &Value, dir: &Path) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(Self::Plain(s.clone())),
            Value::Number(n) => Ok(Self::Plain(n.to_string())),
            Value::Bool(b) => Ok(Self::Plain(b.to_string())),
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Self::List)
                .ok_or_else(|| {
                    format!("key \"{key}\": a list value may hold only strings and numbers")
                }),
            Value::Object(map) => match (map.get("env"), map.get("file"), map.len()) {
                (Some(Value::String(var)), None, 1) if !var.is_empty() => {
                    Ok(Self::Env(var.clone()))
                }
                (None, Some(Value::String(path)), 1) if !path.is_empty() => {
                    Ok(Self::File(dir.join(path)))
                }
                _ => Err(format!(
                    "key \"{key}\": a secret is {{\"env\": \"VAR\"}} or {{\"file\": \"path\"}}"
                )),
            },
            Value::Null => Err(format!(
                "key \"{key}\" is null: give a value, or remove the key"
            )),
        }
    }

    pub fn is_secret(&self) -> bool {
        !matches!(self, Self::Plain(_) | Self::List(_))
    }

    /// Check a secret source is usable without reading it into output: the variable is set,
    /// or the file exists and is private.
    pub fn check(&self, name: &str) -> Result<(), String> {
        self.resolve(name).map(|_| ())
    }

    /// The value to send to CloudFormation.
    pub fn resolve(&self, name: &str) -> Result<String, String> {
        match self {
            Self::Plain(v) => Ok(v.clone()),
            Self::List(items) => Ok(items.join(",")),
            Self::Env(var) => std::env::var(var).map_err(|_| {
                format!("parameter \"{name}\": environment variable {var} is not set (export it, or change the config)")
            }),
            Self::File(path) => read_private(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|e| format!("parameter \"{name}\": {e}")),
        }
    }
}

/// A playbook variable from `vars`: any JSON value, or a secret in the parameters' two forms.
#[derive(Debug, Clone, PartialEq)]
pub enum VarSource {
    Plain(Value),
    Secret(ParamSource),
}

impl VarSource {
    /// An object of exactly one key `env` or `file` is a secret; anything else is a value.
    pub fn parse(key: &str, value: &Value, dir: &Path) -> Result<Self, String> {
        match value {
            Value::Object(map)
                if map.len() == 1 && (map.contains_key("env") || map.contains_key("file")) =>
            {
                ParamSource::parse(key, value, dir).map(Self::Secret)
            }
            Value::Null => Err(format!(
                "key \"{key}\" is null: give a value, or remove the key"
            )),
            other => Ok(Self::Plain(other.clone())),
        }
    }

    /// The value for the playbooks (secrets read now; they go only into a 0600 file).
    pub fn resolve(&self, name: &str) -> Result<Value, String> {
        match self {
            Self::Plain(v) => Ok(v.clone()),
            Self::Secret(s) => s.resolve(name).map(Value::String),
        }
    }
}

impl ParamSource {
    /// Whether the value fits the parameter's declared CloudFormation type: a list only for a
    /// list type, a number for Number. `name` is for the message.
    pub fn fits(&self, name: &str, declared: &str) -> Result<(), String> {
        let is_list_type = declared.starts_with("List<")
            || declared == "CommaDelimitedList"
            || declared.contains("::List<");
        match self {
            Self::List(_) if !is_list_type => Err(format!(
                "parameter \"{name}\" is of type {declared}, but its value in the config is a list: give one value"
            )),
            Self::Plain(v) if declared == "Number" && v.trim().parse::<f64>().is_err() => Err(format!(
                "parameter \"{name}\" is of type Number, but its value \"{v}\" is not a number"
            )),
            Self::List(items) if declared == "List<Number>" => match items
                .iter()
                .find(|v| v.trim().parse::<f64>().is_err())
            {
                Some(v) => Err(format!(
                    "parameter \"{name}\" is of type List<Number>, but \"{v}\" is not a number"
                )),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ParamSource {
    /// How a value is shown: secrets never.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(v) => f.write_str(v),
            Self::List(items) => f.write_str(&items.join(",")),
            Self::Env(_) | Self::File(_) => f.write_str("****"),
        }
    }
}

/// Read a file that holds secrets, refusing it when group or others may read it.
pub fn read_private(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("secrets file {}: {}", path.display(), io_reason(&e)))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "secrets file {} has mode {mode:04o}, readable by group or others: run chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    std::fs::read_to_string(path)
        .map_err(|e| format!("secrets file {}: {}", path.display(), io_reason(&e)))
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parses_values() {
        let dir = Path::new("/cfg");
        let cases = [
            (json!("t3.micro"), ParamSource::Plain("t3.micro".into())),
            (json!(3), ParamSource::Plain("3".into())),
            (json!(true), ParamSource::Plain("true".into())),
            (
                json!(["a", 1]),
                ParamSource::List(vec!["a".into(), "1".into()]),
            ),
            (json!({"env": "DB_PW"}), ParamSource::Env("DB_PW".into())),
            (
                json!({"file": "s/pw"}),
                ParamSource::File("/cfg/s/pw".into()),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(
                ParamSource::parse("parameters.X", &value, dir).unwrap(),
                want
            );
        }
    }

    #[test]
    fn refuses_bad_values() {
        let dir = Path::new("/cfg");
        for value in [
            json!(null),
            json!({"env": 1}),
            json!({"env": "A", "file": "b"}),
            json!({"vault": "x"}),
            json!([{}]),
        ] {
            let err = ParamSource::parse("parameters.X", &value, dir).unwrap_err();
            assert!(err.contains("\"parameters.X\""), "{err}");
        }
    }

    #[test]
    fn values_must_fit_the_declared_type() {
        let list = ParamSource::List(vec!["a".into(), "b".into()]);
        let err = list.fits("Subnet", "String").unwrap_err();
        assert!(
            err.contains("\"Subnet\"") && err.contains("a list"),
            "{err}"
        );
        assert!(list.fits("Subnets", "List<AWS::EC2::Subnet::Id>").is_ok());
        assert!(list.fits("Names", "CommaDelimitedList").is_ok());
        let word = ParamSource::Plain("many".into());
        assert!(word
            .fits("Count", "Number")
            .unwrap_err()
            .contains("not a number"));
        assert!(ParamSource::Plain("3".into())
            .fits("Count", "Number")
            .is_ok());
        assert!(word.fits("Label", "String").is_ok());
        // A secret is checked when it is read, never here.
        assert!(ParamSource::Env("X".into()).fits("Pw", "Number").is_ok());
    }

    #[test]
    fn secrets_are_never_displayed() {
        assert_eq!(ParamSource::Env("PW".into()).to_string(), "****");
        assert_eq!(ParamSource::File("/x".into()).to_string(), "****");
        assert_eq!(ParamSource::Plain("v".into()).to_string(), "v");
    }

    #[test]
    fn secrets_file_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "hunter2\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ParamSource::File(path.clone())
            .resolve("DbPassword")
            .unwrap_err();
        assert!(
            err.contains("mode 0644") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            ParamSource::File(path).resolve("DbPassword").unwrap(),
            "hunter2"
        );
    }

    #[test]
    fn missing_env_var_is_named() {
        let err = ParamSource::Env("MANAGE_TEST_SURELY_UNSET".into())
            .resolve("Pw")
            .unwrap_err();
        assert!(err.contains("MANAGE_TEST_SURELY_UNSET"), "{err}");
    }
}
