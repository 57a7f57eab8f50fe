//! Text → `serde_json::Value`: strict JSON (duplicate keys are errors) and
//! YAML with the CloudFormation short-form tags turned into their long form.

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_norway::value::TaggedValue;

use super::TemplateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
}

impl Format {
    /// By extension; `.template` (or anything else) is JSON when it starts with `{`.
    pub(crate) fn detect(path: &Path, source: &str) -> Format {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("json") => Format::Json,
            Some("yaml" | "yml") => Format::Yaml,
            _ if source.trim_start().starts_with('{') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

pub(crate) fn parse(path: &Path, source: &str, format: Format) -> Result<Value, TemplateError> {
    match format {
        Format::Json => parse_json(path, source),
        Format::Yaml => parse_yaml(path, source),
    }
}

fn parse_json(path: &Path, source: &str) -> Result<Value, TemplateError> {
    match serde_json::from_str::<StrictValue>(source) {
        Ok(StrictValue(value)) => Ok(value),
        Err(e) => Err(TemplateError::Syntax {
            path: path.to_path_buf(),
            line: (e.line() > 0).then_some(e.line()),
            column: (e.line() > 0).then_some(e.column()),
            message: format!("invalid JSON: {}", without_position(&e.to_string())),
        }),
    }
}

fn parse_yaml(path: &Path, source: &str) -> Result<Value, TemplateError> {
    match serde_norway::from_str::<serde_norway::Value>(source) {
        Ok(value) => Ok(from_yaml(value)),
        Err(e) => {
            let location = e.location();
            Err(TemplateError::Syntax {
                path: path.to_path_buf(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message: format!("invalid YAML: {}", without_position(&e.to_string())),
            })
        }
    }
}

/// The parsers append " at line N column M"; the position is shown in front instead.
fn without_position(message: &str) -> String {
    static POSITION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r" at line \d+ column \d+").expect("valid regex"));
    POSITION.replace_all(message, "").into_owned()
}

/// A JSON value that rejects duplicate object keys (serde_json keeps the last).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

fn from_yaml(value: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => yaml_number(&n),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(from_yaml).collect()),
        Y::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(k, v)| (yaml_key(k), from_yaml(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => from_tagged(*tagged),
    }
}

fn yaml_number(n: &serde_norway::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        // .nan and .inf have no JSON number; keep their YAML spelling.
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

fn yaml_key(key: serde_norway::Value) -> String {
    match from_yaml(key) {
        Value::String(s) => s,
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

/// `!Ref X` → `{"Ref": X}`, `!Condition X` → `{"Condition": X}`,
/// `!GetAtt A.B.C` → `{"Fn::GetAtt": ["A", "B.C"]}`, `!Name v` → `{"Fn::Name": v}`.
fn from_tagged(tagged: TaggedValue) -> Value {
    let tag = tagged.tag.to_string();
    let name = tag.trim_start_matches('!');
    let value = from_yaml(tagged.value);
    let (key, value) = match name {
        "Ref" | "Condition" => (name.to_owned(), value),
        "GetAtt" => ("Fn::GetAtt".to_owned(), split_get_att(value)),
        _ => (format!("Fn::{name}"), value),
    };
    Value::Object(Map::from_iter([(key, value)]))
}

/// The short string form is split on the first dot (attributes may contain dots).
fn split_get_att(value: Value) -> Value {
    match value {
        Value::String(s) => match s.split_once('.') {
            Some((resource, attribute)) => Value::Array(vec![resource.into(), attribute.into()]),
            None => Value::String(s),
        },
        other => other,
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(source: &str) -> Value {
        parse(Path::new("f.yaml"), source, Format::Yaml).unwrap()
    }

    #[test]
    fn short_tags_become_long_form() {
        let cases = [
            ("!Ref Vpc", json!({"Ref": "Vpc"})),
            (
                "!GetAtt Db.Endpoint.Address",
                json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
            ),
            ("!GetAtt [Db, Arn]", json!({"Fn::GetAtt": ["Db", "Arn"]})),
            ("!GetAtt Db", json!({"Fn::GetAtt": "Db"})),
            ("!Condition IsProd", json!({"Condition": "IsProd"})),
            (
                "!Sub '${AWS::StackName}-x'",
                json!({"Fn::Sub": "${AWS::StackName}-x"}),
            ),
            (
                "!Join [',', [a, b]]",
                json!({"Fn::Join": [",", ["a", "b"]]}),
            ),
            ("!GetAZs ''", json!({"Fn::GetAZs": ""})),
            (
                "!Equals [!Ref Env, prod]",
                json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]}),
            ),
            (
                "!FindInMap [Amis, !Ref 'AWS::Region', Id]",
                json!({"Fn::FindInMap": ["Amis", {"Ref": "AWS::Region"}, "Id"]}),
            ),
            (
                "!ToJsonString {a: 1}",
                json!({"Fn::ToJsonString": {"a": 1}}),
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(yaml(&format!("v: {source}\n"))["v"], expected, "{source}");
        }
    }

    #[test]
    fn nested_tags_convert_recursively() {
        let source = "v: !If\n  - IsProd\n  - !Sub\n    - '${Host}.${Zone}'\n    - Host: !GetAtt Lb.DNS.Name\n  - !Ref AWS::NoValue\n";
        assert_eq!(
            yaml(source)["v"],
            json!({"Fn::If": ["IsProd",
                {"Fn::Sub": ["${Host}.${Zone}", {"Host": {"Fn::GetAtt": ["Lb", "DNS.Name"]}}]},
                {"Ref": "AWS::NoValue"}]})
        );
    }

    #[test]
    fn yaml_scalars_and_keys_map_to_json() {
        let value = yaml("a: 1\nb: 1.5\nc: true\nd: ~\n2: two\ne: '007'\nf: 2010-09-09\n");
        assert_eq!(
            value,
            json!({"a": 1, "b": 1.5, "c": true, "d": null, "2": "two", "e": "007", "f": "2010-09-09"})
        );
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["a", "b", "c", "d", "2", "e", "f"],
            "order is preserved"
        );
    }

    #[test]
    fn yaml_errors_have_line_and_column() {
        let err = parse(
            Path::new("formations/app.yaml"),
            "a: 1\nb: [1, 2\nc: 3\n",
            Format::Yaml,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("formations/app.yaml:3:2: invalid YAML: "),
            "{err}"
        );
        assert!(!err.contains(" at line "), "{err}");
    }

    #[test]
    fn yaml_duplicate_keys_are_errors() {
        let err = parse(
            Path::new("a.yaml"),
            "Resources:\n  X: 1\n  X: 2\n",
            Format::Yaml,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("a.yaml:2:3: invalid YAML:"), "{err}");
        assert!(err.contains("duplicate entry with key \"X\""), "{err}");
    }

    #[test]
    fn json_errors_have_line_and_column() {
        let err = parse(
            Path::new("formations/app.json"),
            "{\n \"a\": 1,\n \"b\" 2}",
            Format::Json,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "formations/app.json:3:6: invalid JSON: expected `:`");
    }

    #[test]
    fn json_duplicate_keys_are_errors() {
        let source = "{\"Resources\": {\n  \"Vpc\": {},\n  \"Vpc\": {}\n}}";
        let err = parse(Path::new("a.json"), source, Format::Json)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("a.json:3:"), "{err}");
        assert!(err.contains("invalid JSON: duplicate key \"Vpc\""), "{err}");
    }

    #[test]
    fn json_keeps_order_and_numbers() {
        let value = parse(
            Path::new("a.json"),
            r#"{"z": 1, "a": -2.5, "m": [true, null]}"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(value, json!({"z": 1, "a": -2.5, "m": [true, null]}));
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn format_is_detected_by_extension_then_content() {
        let cases = [
            ("a.json", "x: 1", Format::Json),
            ("a.yaml", "{}", Format::Yaml),
            ("a.YML", "{}", Format::Yaml),
            ("a.template", "  {\"a\": 1}", Format::Json),
            ("a.template", "a: 1", Format::Yaml),
        ];
        for (path, source, expected) in cases {
            assert_eq!(Format::detect(Path::new(path), source), expected, "{path}");
        }
    }
}
