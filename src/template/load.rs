//! Reading fragments from `formations/`.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::{Map, Value};

use super::parse::{self, Format};
use super::sections;
use super::TemplateError;

const EXTENSIONS: [&str; 4] = ["json", "yaml", "yml", "template"];
const IMAGE: &str = "image";

/// One CloudFormation template file in `formations/`.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// The file stem: `network` for `formations/network.yaml`.
    pub name: String,
    pub path: PathBuf,
    /// The raw text, for line lookups.
    pub source: String,
    /// The top-level template object, YAML short tags converted.
    pub body: Map<String, Value>,
}

impl Fragment {
    /// The 1-based line where the key `logical_id` is defined (first match).
    pub fn line_of(&self, logical_id: &str) -> Option<usize> {
        let id = regex::escape(logical_id);
        let pattern = format!(r#"(?m)(?:^[ \t]*(?:-[ \t]+)?['"]?{id}['"]?|"{id}")[ \t]*:"#);
        let found = Regex::new(&pattern).ok()?.find(&self.source)?;
        Some(self.source[..found.start()].matches('\n').count() + 1)
    }

    /// The fragment-level group: `Metadata.Group`, or else the fragment name.
    pub fn group(&self) -> &str {
        self.body
            .get("Metadata")
            .and_then(|m| m.get("Group"))
            .and_then(Value::as_str)
            .unwrap_or(&self.name)
    }
}

/// Every fragment in `dir` except `image.*`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Fragment>, TemplateError> {
    let paths: Vec<PathBuf> = fragment_paths(dir)?
        .into_iter()
        .filter(|p| stem_of(p) != IMAGE)
        .collect();
    if paths.is_empty() {
        return Err(TemplateError::Empty {
            path: dir.to_path_buf(),
        });
    }
    paths.iter().map(|p| load_file(p)).collect()
}

/// `dir/image.{json,yaml,yml,template}`, if there is one.
pub fn find_image_fragment(dir: &Path) -> Result<Option<PathBuf>, TemplateError> {
    Ok(fragment_paths(dir)?
        .into_iter()
        .find(|p| stem_of(p) == IMAGE))
}

pub fn load_file(path: &Path) -> Result<Fragment, TemplateError> {
    let source = fs::read_to_string(path).map_err(|e| TemplateError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    from_source(path, source)
}

/// Parses a fragment's text; the format comes from the path's extension.
pub(crate) fn from_source(path: &Path, source: String) -> Result<Fragment, TemplateError> {
    let text = source.strip_prefix('\u{feff}').unwrap_or(&source);
    let mut body = match parse::parse(path, text, Format::detect(path, text))? {
        Value::Object(body) => body,
        Value::Null => {
            return Err(TemplateError::invalid(
                path,
                "the file is empty: add template sections (Resources, Parameters, …) or remove it",
            ))
        }
        other => {
            return Err(TemplateError::invalid(
                path,
                format!(
                    "the top level must be a mapping of template sections (Resources, Parameters, …), not {}",
                    parse::kind(&other)
                ),
            ))
        }
    };
    body.values_mut().for_each(get_att_as_list);
    let fragment = Fragment {
        name: stem_of(path),
        path: path.to_path_buf(),
        source,
        body,
    };
    sections::check(&fragment.path, &fragment.body, |key| fragment.line_of(key))?;
    Ok(fragment)
}

/// `{"Fn::GetAtt": "A.B.C"}` → `{"Fn::GetAtt": ["A", "B.C"]}`: the list form
/// is the documented one, and emulators reject the string form.
fn get_att_as_list(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::String(target))) = (map.len(), map.get("Fn::GetAtt")) {
                if let Some((resource, attribute)) = target.split_once('.') {
                    let list = Value::from(vec![resource, attribute]);
                    map.insert("Fn::GetAtt".to_owned(), list);
                }
            }
            map.values_mut().for_each(get_att_as_list);
        }
        Value::Array(items) => items.iter_mut().for_each(get_att_as_list),
        _ => {}
    }
}

/// Fragment files in `dir` (not recursive), sorted by file name, with no two
/// sharing a stem.
fn fragment_paths(dir: &Path) -> Result<Vec<PathBuf>, TemplateError> {
    let entries = fs::read_dir(dir).map_err(|e| match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => TemplateError::NoDir {
            path: dir.to_path_buf(),
        },
        _ => TemplateError::Io {
            path: dir.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TemplateError::Io {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_fragment_name(&name) && dir.join(&name).is_file() {
            names.push(name);
        }
    }
    names.sort();
    let mut by_stem: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut paths = Vec::new();
    for name in names {
        let path = dir.join(&name);
        if let Some(first) = by_stem.insert(stem_of(&path), path.clone()) {
            return Err(TemplateError::DuplicateStem {
                first,
                second: path,
            });
        }
        paths.push(path);
    }
    Ok(paths)
}

/// Hidden files (editor leftovers such as `.#app.yaml`) are skipped.
fn is_fragment_name(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    let path = Path::new(name);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn loads_json_and_yaml_with_short_tags() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "network.json",
            r#"{"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}},
                "Outputs": {"Cidr": {"Value": {"Fn::GetAtt": "Vpc.CidrBlock"}}}}"#,
        );
        write(
            dir.path(),
            "app.yaml",
            "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n      SubnetId: !Ref Subnet\n      UserData: !Base64\n        Fn::Sub: '${Db.Endpoint.Address}'\n      Az: !GetAtt Subnet.AvailabilityZone\n",
        );
        let fragments = load_dir(dir.path()).unwrap();
        let names: Vec<_> = fragments.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["app", "network"], "sorted by file name");
        assert_eq!(fragments[0].path, dir.path().join("app.yaml"));
        let props = &fragments[0].body["Resources"]["Web"]["Properties"];
        assert_eq!(props["SubnetId"], json!({"Ref": "Subnet"}));
        assert_eq!(
            props["UserData"],
            json!({"Fn::Base64": {"Fn::Sub": "${Db.Endpoint.Address}"}})
        );
        assert_eq!(
            props["Az"],
            json!({"Fn::GetAtt": ["Subnet", "AvailabilityZone"]})
        );
        let cidr = &fragments[1].body["Outputs"]["Cidr"]["Value"];
        assert_eq!(
            *cidr,
            json!({"Fn::GetAtt": ["Vpc", "CidrBlock"]}),
            "list form"
        );
    }

    #[test]
    fn load_dir_skips_image_hidden_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "image.yaml",
            ".#app.yaml",
            "notes.md",
            "app.yml",
            "db.template",
        ] {
            write(dir.path(), name, "Resources: {}\n");
        }
        fs::create_dir(dir.path().join("sub.json")).unwrap();
        let names: Vec<_> = load_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["app", "db"]);
    }

    #[test]
    fn dir_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("formations");
        let err = load_dir(&missing).unwrap_err();
        assert!(matches!(err, TemplateError::NoDir { .. }), "{err}");
        assert!(err.to_string().contains("formations"));

        write(dir.path(), "image.yaml", "Resources: {}\n");
        let err = load_dir(dir.path()).unwrap_err();
        assert!(matches!(err, TemplateError::Empty { .. }), "{err}");

        write(dir.path(), "app.json", "{}");
        write(dir.path(), "app.yaml", "{}");
        let err = load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("app.json and ") && err.contains("app.yaml are both"),
            "{err}"
        );
    }

    #[test]
    fn finds_the_image_fragment() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_image_fragment(dir.path()).unwrap(), None);
        write(dir.path(), "app.yaml", "{}");
        let image = write(dir.path(), "image.template", "{}");
        assert_eq!(find_image_fragment(dir.path()).unwrap(), Some(image));
        write(dir.path(), "image.json", "{}");
        let err = find_image_fragment(dir.path()).unwrap_err();
        assert!(matches!(err, TemplateError::DuplicateStem { .. }), "{err}");
        let err = find_image_fragment(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, TemplateError::NoDir { .. }), "{err}");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = write(dir.path(), "app.yaml", "Resources:\n  Web:\n    Type: [a\n");
        let err = load_file(&yaml).unwrap_err();
        let TemplateError::Syntax { line, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*line, Some(4), "{err}");
        assert!(err.to_string().contains("app.yaml:4:"), "{err}");

        let json = write(
            dir.path(),
            "net.json",
            "{\n  \"Resources\": {\n    \"Vpc\": }\n}",
        );
        let err = load_file(&json).unwrap_err().to_string();
        assert!(err.contains("net.json:3:12: invalid JSON"), "{err}");
    }

    #[test]
    fn shape_errors_name_file_and_section() {
        let cases = [
            ("x.json", r#"{"Resource": {}}"#, "x.json: unknown section \"Resource\" (expected one of AWSTemplateFormatVersion, Description, Metadata, Parameters, Mappings, Conditions, Resources, Outputs, Transform)"),
            ("x.yaml", "- a\n- b\n", "x.yaml: the top level must be a mapping of template sections"),
            ("x.yaml", "", "x.yaml: the file is empty: add template sections"),
            ("x.yaml", "Description: x\nResources: []\n", "x.yaml:2: section \"Resources\" must be a mapping of logical IDs, not a list"),
            ("x.yaml", "Description: {a: 1}\n", "x.yaml:1: section \"Description\" must be a string"),
            ("x.yaml", "Transform: [1]\n", "x.yaml:1: section \"Transform\" must be a macro name"),
            ("x.yaml", "Metadata:\n  Group: [a]\n", "x.yaml:2: Metadata.Group must be a group name"),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (name, text, expected) in cases {
            let path = write(dir.path(), name, text);
            let err = load_file(&path).unwrap_err().to_string();
            let expected = format!("{}", dir.path().join(expected).display());
            assert!(err.starts_with(&expected), "{err}\n  expected {expected}");
        }
    }

    #[test]
    fn io_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_file(&dir.path().join("gone.yaml")).unwrap_err();
        assert!(matches!(err, TemplateError::Io { .. }));
        assert!(
            err.to_string().contains("gone.yaml: cannot read the file"),
            "{err}"
        );
    }

    #[test]
    fn line_of_finds_keys_in_yaml_and_json() {
        let fragment = |source: &str| Fragment {
            name: "f".into(),
            path: "f".into(),
            source: source.into(),
            body: Map::new(),
        };
        let yaml = fragment("Resources:\n  Vpc:\n    Type: x\n  Web:\n    Properties:\n      VpcId: !Ref Vpc\n  'Quoted': {}\n");
        let json = fragment("{\n  \"Resources\": {\n    \"Vpc\": {\"Type\": \"x\"}, \"Web\": {\"Ref\": \"Vpc\"}\n  }\n}");
        let cases = [
            (&yaml, "Vpc", Some(2)),
            (&yaml, "Web", Some(4)),
            (&yaml, "Quoted", Some(7)),
            (&yaml, "VpcId", Some(6)),
            (&yaml, "Missing", None),
            (&json, "Resources", Some(2)),
            (&json, "Vpc", Some(3)),
            (&json, "Web", Some(3)),
            (&json, "Ref", Some(3)),
            (&json, "Type", Some(3)),
        ];
        for (fragment, id, expected) in cases {
            assert_eq!(
                fragment.line_of(id),
                expected,
                "{id} in {}",
                fragment.source
            );
        }
    }

    #[test]
    fn group_comes_from_metadata_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let plain = load_file(&write(dir.path(), "app.yaml", "Resources: {}\n")).unwrap();
        assert_eq!(plain.group(), "app");
        let grouped = write(dir.path(), "jobs.yaml", "Metadata:\n  Group: worker\n");
        assert_eq!(load_file(&grouped).unwrap().group(), "worker");
    }
}
