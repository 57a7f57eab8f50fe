//! A change set as a person reads it: the parameters that change, then one row per resource.

use super::table;
use crate::stack::changeset::{Change, ParamChange};

/// Parameter changes (if any), then the resource table (or a line saying there is none).
pub fn render(parameters: &[ParamChange], changes: &[Change]) -> String {
    let mut out = String::new();
    if !parameters.is_empty() {
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
        let rows = parameters.iter().map(|p| {
            let new = match (p.secret, &p.old, &p.new) {
                (true, Some(_), Some(_)) => "changed (secret)".to_owned(),
                _ => dash(&p.new),
            };
            vec![p.name.clone(), dash(&p.old), new]
        });
        out.push_str(&table(&["parameter", "now", "new"], rows));
        out.push_str("\n\n");
    }
    if changes.is_empty() {
        out.push_str("no resource changes");
        return out;
    }
    let rows = changes.iter().map(|c| {
        let r = &c.change;
        let what = if r.changed.is_empty() {
            r.scope.join(", ")
        } else {
            r.changed.join(", ")
        };
        vec![
            r.action.clone(),
            r.logical_id.clone(),
            r.resource_type.clone(),
            r.replacement.clone().unwrap_or_else(|| "-".to_owned()),
            c.fragment.clone().unwrap_or_else(|| "-".to_owned()),
            if what.is_empty() {
                "-".to_owned()
            } else {
                what
            },
        ]
    });
    out.push_str(&table(
        &[
            "action",
            "resource",
            "type",
            "replacement",
            "fragment",
            "changed",
        ],
        rows,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cloudformation::ResourceChange;

    #[test]
    fn rows_show_action_replacement_fragment_and_what_changed() {
        let change = |action: &str, id: &str, replacement: Option<&str>, changed: &[&str]| {
            Change::new(
                ResourceChange {
                    action: action.into(),
                    logical_id: id.into(),
                    physical_id: None,
                    resource_type: "AWS::RDS::DBInstance".into(),
                    replacement: replacement.map(Into::into),
                    scope: vec!["Properties".into()],
                    changed: changed.iter().map(|s| s.to_string()).collect(),
                    change_set_id: None,
                },
                (action != "Remove").then(|| "formations/db.yaml:4".to_owned()),
            )
        };
        let text = render(
            &[ParamChange {
                name: "DbClass".into(),
                old: Some("db.t3.micro".into()),
                new: Some("db.m6i.large".into()),
                secret: false,
            }],
            &[
                change("Modify", "Db", Some("True"), &["DBInstanceClass", "Tags"]),
                change("Remove", "OldDb", None, &[]),
            ],
        );
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[0].starts_with("PARAMETER"), "{text}");
        assert!(lines[1].contains("DbClass") && lines[1].contains("db.m6i.large"));
        let db = lines.iter().find(|l| l.contains(" Db ")).unwrap();
        for part in ["Modify", "True", "db.yaml", "DBInstanceClass, Tags"] {
            assert!(db.contains(part), "{db}");
        }
        let old = lines.iter().find(|l| l.contains("OldDb")).unwrap();
        assert!(
            old.starts_with("Remove") && old.contains("Properties"),
            "{old}"
        );
        assert_eq!(render(&[], &[]), "no resource changes");
    }
}
