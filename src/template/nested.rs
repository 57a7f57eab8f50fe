//! Nested stacks whose `TemplateURL` is a local file, as `aws cloudformation package` takes
//! them: the child templates are loaded with the fragments' loader, tagged like a fragment of
//! their own, checked, and their URLs rewritten once they are uploaded (by the caller: this
//! module knows no S3). Children may nest further; a cycle is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::check::{Problem, Severity};
use super::{load_file, Fragment, Merged, TemplateError};

pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// One child template, loaded once however many nested stacks use it.
#[derive(Debug, Clone)]
pub struct Child {
    /// The file as first linked: the linking template's folder joined with the TemplateURL.
    pub path: PathBuf,
    pub fragment: Fragment,
    /// The child tagged as a fragment of its own: group from its `Metadata.Group`, else its
    /// file name.
    pub merged: Merged,
    /// Its own local nested stacks: logical ID → child (by `key`).
    pub links: BTreeMap<String, PathBuf>,
}

/// The local children of one template (the env's merged template, or the image's).
#[derive(Debug, Clone, Default)]
pub struct Nested {
    /// The top template's local nested stacks: logical ID → child (by `key`).
    pub links: BTreeMap<String, PathBuf>,
    /// Every child once, keyed by its canonical path.
    pub children: BTreeMap<PathBuf, Child>,
    /// Canonical paths, deepest first: each child comes after the children it links, so
    /// uploading in this order knows every URL a body needs.
    pub order: Vec<PathBuf>,
}

/// What `aws cloudformation package` would upload: the template and its children.
#[derive(Debug, Clone)]
pub struct Packaged {
    pub template: Merged,
    /// (the child's file, its body as uploaded, its URL), deepest first.
    pub children: Vec<(PathBuf, Merged, String)>,
}

/// The local file a TemplateURL names, if it is one: not an http(s) or s3 URL, and not an
/// intrinsic function.
pub fn local_url(resource: &Value) -> Option<&str> {
    if resource.get("Type").and_then(Value::as_str) != Some(STACK_TYPE) {
        return None;
    }
    let url = resource.get("Properties")?.get("TemplateURL")?.as_str()?;
    let lower = url.to_ascii_lowercase();
    let remote = ["http://", "https://", "s3://"]
        .iter()
        .any(|p| lower.starts_with(p));
    (!remote).then_some(url)
}

/// Does the template hold any nested stack (local or not)?
pub fn has_nested_stacks(body: &Map<String, Value>) -> bool {
    resources(body).any(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(STACK_TYPE))
}

fn resources(body: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    body.get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

impl Nested {
    /// Load every local child of `merged`, whose resources come from `fragments`. `tag` turns a
    /// child's file into its tagged template (the env's or the image's tagging).
    pub fn load(
        merged: &Merged,
        fragments: &[Fragment],
        tag: &dyn Fn(&Fragment) -> Result<Merged, TemplateError>,
    ) -> Result<Self, TemplateError> {
        let mut nested = Nested::default();
        let mut loader = Loader {
            tag,
            nested: &mut nested,
            visiting: Vec::new(),
        };
        let mut links = BTreeMap::new();
        for (id, resource) in resources(&merged.body) {
            let Some(url) = local_url(resource) else {
                continue;
            };
            let name = merged.origin.get(id);
            let Some(fragment) = fragments.iter().find(|f| Some(&f.name) == name) else {
                continue;
            };
            let key = loader.visit(&fragment.path, id, url)?;
            links.insert(id.clone(), key);
        }
        nested.links = links;
        Ok(nested)
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Children in upload order (deepest first).
    pub fn in_order(&self) -> impl Iterator<Item = &Child> {
        self.order.iter().filter_map(|k| self.children.get(k))
    }

    /// The child template a nested stack's path runs (`Queues`, or `Queues/Inner` one level
    /// deeper), if it is a local one.
    pub fn child_at(&self, stack_path: &str) -> Option<&Child> {
        let mut links = &self.links;
        let mut found = None;
        for id in stack_path.split('/') {
            let child = self.children.get(links.get(id)?)?;
            links = &child.links;
            found = Some(child);
        }
        found
    }

    pub fn needs_iam(&self) -> bool {
        self.children.values().any(|c| c.merged.needs_iam())
    }

    pub fn needs_auto_expand(&self) -> bool {
        self.children.values().any(|c| c.merged.needs_auto_expand())
    }

    /// Parameters a nested stack passes that its child does not declare, and parameters the
    /// child needs (no Default) that it does not pass: CloudFormation rejects both.
    pub fn link_problems(&self, merged: &Merged) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut linking: Vec<(&Merged, &BTreeMap<String, PathBuf>)> = vec![(merged, &self.links)];
        linking.extend(self.children.values().map(|c| (&c.merged, &c.links)));
        for (parent, links) in linking {
            for (id, key) in links {
                if let Some(child) = self.children.get(key) {
                    problems.extend(parameter_problems(parent, id, child));
                }
            }
        }
        problems
    }

    /// The template and every child as they are uploaded: each local TemplateURL replaced by
    /// the URL its child gets, which `url_of` tells from the child's final body (its objects
    /// are content-addressed). Children come deepest first, the order to upload them in.
    pub fn package(&self, merged: &Merged, url_of: &dyn Fn(&Merged) -> String) -> Packaged {
        let mut urls = BTreeMap::new();
        let mut children = Vec::new();
        for (key, child) in self.order.iter().zip(self.in_order()) {
            let body = Self::packaged(&child.merged, &child.links, &urls);
            let url = url_of(&body);
            urls.insert(key.clone(), url.clone());
            children.push((child.path.clone(), body, url));
        }
        Packaged {
            template: Self::packaged(merged, &self.links, &urls),
            children,
        }
    }

    /// `merged` with each local TemplateURL replaced by the child's uploaded URL. `urls` maps
    /// a child's canonical path to its URL; a child missing there is left as it was.
    fn packaged(
        merged: &Merged,
        links: &BTreeMap<String, PathBuf>,
        urls: &BTreeMap<PathBuf, String>,
    ) -> Merged {
        let mut packaged = merged.clone();
        let Some(Value::Object(resources)) = packaged.body.get_mut("Resources") else {
            return packaged;
        };
        for (id, key) in links {
            let (Some(url), Some(Value::Object(props))) = (
                urls.get(key),
                resources.get_mut(id).and_then(|r| r.get_mut("Properties")),
            ) else {
                continue;
            };
            props.insert("TemplateURL".to_owned(), Value::String(url.clone()));
        }
        packaged
    }
}

fn parameter_problems(parent: &Merged, id: &str, child: &Child) -> Vec<Problem> {
    let passed: BTreeSet<&String> = parent.body["Resources"][id]["Properties"]["Parameters"]
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    let declared = child.merged.parameters();
    let names: BTreeSet<&String> = declared.iter().map(|(n, _, _)| n).collect();
    let shown = child.path.display();
    let mut problems: Vec<Problem> = passed
        .iter()
        .filter(|p| !names.contains(*p))
        .map(|p| Problem {
            severity: Severity::Error,
            message: format!(
                "{}: resource \"{id}\" passes parameter \"{p}\", which {shown} does not declare: remove it or declare it there",
                parent.fragment_of(id)
            ),
        })
        .collect();
    problems.extend(
        declared
            .iter()
            .filter(|(n, default, _)| default.is_none() && !passed.contains(n))
            .map(|(n, _, _)| Problem {
                severity: Severity::Error,
                message: format!(
                    "{shown}: parameter \"{n}\" has no Default and resource \"{id}\" in {} does not pass it: add it under the resource's Properties.Parameters",
                    parent.fragment_of(id)
                ),
            }),
    );
    problems
}

struct Loader<'a> {
    tag: &'a dyn Fn(&Fragment) -> Result<Merged, TemplateError>,
    nested: &'a mut Nested,
    /// Canonical paths of the children being loaded, to find a cycle.
    visiting: Vec<PathBuf>,
}

impl Loader<'_> {
    /// Load the child `url` that resource `id` of the template at `from` links, and its own
    /// children first; its canonical path.
    fn visit(&mut self, from: &Path, id: &str, url: &str) -> Result<PathBuf, TemplateError> {
        let path = from.parent().unwrap_or(Path::new("")).join(url);
        let missing = || TemplateError::MissingChild {
            fragment: from.to_path_buf(),
            id: id.to_owned(),
            url: url.to_owned(),
            path: path.clone(),
        };
        if !path.is_file() {
            return Err(missing());
        }
        let key = path.canonicalize().map_err(|_| missing())?;
        if self.visiting.contains(&key) {
            return Err(TemplateError::NestedCycle {
                fragment: from.to_path_buf(),
                id: id.to_owned(),
                path,
            });
        }
        if self.nested.children.contains_key(&key) {
            return Ok(key);
        }
        let fragment = load_file(&path)?;
        let merged = (self.tag)(&fragment)?;
        self.visiting.push(key.clone());
        let mut links = BTreeMap::new();
        for (child_id, resource) in resources(&fragment.body) {
            if let Some(child_url) = local_url(resource) {
                let child_key = self.visit(&fragment.path, child_id, child_url)?;
                links.insert(child_id.clone(), child_key);
            }
        }
        self.visiting.pop();
        self.nested.order.push(key.clone());
        self.nested.children.insert(
            key.clone(),
            Child {
                path,
                fragment,
                merged,
                links,
            },
        );
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{load_dir, merge, Naming};
    use super::*;
    use std::fs;

    fn naming() -> Naming {
        Naming {
            app: "argos".into(),
            env: "staging".into(),
        }
    }

    fn load(dir: &Path) -> Result<(Merged, Nested), TemplateError> {
        let fragments = load_dir(dir)?;
        let merged = merge(&fragments, &naming())?;
        let tag = |f: &Fragment| merge(std::slice::from_ref(f), &naming());
        let nested = Nested::load(&merged, &fragments, &tag)?;
        Ok((merged, nested))
    }

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    const APP: &str = "Resources:\n  Queues:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/queue.yaml\n      Parameters:\n        EnvName: staging\n  Remote:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://example.s3.amazonaws.com/x.json\n";

    #[test]
    fn children_load_tagged_and_nest_deepest_first() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.yaml", APP);
        write(
            dir.path(),
            "nested/queue.yaml",
            "Parameters:\n  EnvName: {Type: String}\nResources:\n  Jobs:\n    Type: AWS::SQS::Queue\n  Inner:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: deeper/role.json\n",
        );
        write(
            dir.path(),
            "nested/deeper/role.json",
            r#"{"Resources": {"Role": {"Type": "AWS::IAM::Role"}}}"#,
        );
        let (merged, nested) = load(dir.path()).unwrap();
        assert_eq!(
            nested.links.keys().collect::<Vec<_>>(),
            ["Queues"],
            "a remote URL is left alone"
        );
        let paths: Vec<_> = nested.in_order().map(|c| c.path.clone()).collect();
        assert_eq!(
            paths,
            [
                dir.path().join("nested/deeper/role.json"),
                dir.path().join("nested/queue.yaml")
            ]
        );
        let queue = nested.child_at("Queues").unwrap();
        assert_eq!(
            queue.merged.body["Resources"]["Jobs"]["Properties"]["Tags"][2],
            serde_json::json!({"Key": "Group", "Value": "queue"}),
            "a child is tagged as a fragment of its own"
        );
        assert_eq!(
            nested.child_at("Queues/Inner").unwrap().fragment.name,
            "role"
        );
        assert!(nested.child_at("Remote").is_none());
        assert!(nested.needs_iam() && !merged.needs_iam());
        assert!(nested.link_problems(&merged).is_empty());

        let packaged = nested.package(&merged, &|m| format!("https://b/{}.json", m.sha256()));
        let [(role_path, role, role_url), (_, queue, queue_url)] = &packaged.children[..] else {
            panic!("{:?}", packaged.children)
        };
        assert!(role_path.ends_with("nested/deeper/role.json"));
        assert_eq!(*role_url, format!("https://b/{}.json", role.sha256()));
        assert_eq!(
            queue.body["Resources"]["Inner"]["Properties"]["TemplateURL"],
            role_url.as_str(),
            "a child's own children are rewritten before it is hashed"
        );
        let top = &packaged.template.body["Resources"];
        assert_eq!(
            top["Queues"]["Properties"]["TemplateURL"],
            queue_url.as_str()
        );
        assert_eq!(top["Remote"], merged.body["Resources"]["Remote"]);
    }

    #[test]
    fn a_missing_child_names_fragment_resource_and_path() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.yaml", APP);
        let err = load(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: resource \"Queues\" (AWS::CloudFormation::Stack) has TemplateURL nested/queue.yaml, but {} does not exist: create the child template there or fix the path (relative to the fragment's folder)",
                dir.path().join("app.yaml").display(),
                dir.path().join("nested/queue.yaml").display()
            )
        );
    }

    #[test]
    fn a_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.yaml", "Resources:\n  A:\n    Type: AWS::CloudFormation::Stack\n    Properties: {TemplateURL: nested/a.yaml}\n");
        write(dir.path(), "nested/a.yaml", "Resources:\n  Back:\n    Type: AWS::CloudFormation::Stack\n    Properties: {TemplateURL: ./a.yaml}\n");
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("resource \"Back\"") && err.contains("links back to"),
            "{err}"
        );
    }

    #[test]
    fn parameters_must_match_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.yaml", APP);
        write(
            dir.path(),
            "nested/queue.yaml",
            "Parameters:\n  Size: {Type: String}\nResources:\n  Jobs: {Type: AWS::SQS::Queue}\n",
        );
        let (merged, nested) = load(dir.path()).unwrap();
        let messages: Vec<_> = nested
            .link_problems(&merged)
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("passes parameter \"EnvName\", which"));
        assert!(messages[1].contains("parameter \"Size\" has no Default and resource \"Queues\""));
    }
}
