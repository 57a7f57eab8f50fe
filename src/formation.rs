//! An env's formation: its fragments merged into one template, checked, and the value of
//! every parameter it declares. This is the `validate` step every action builds on.

use crate::config::{EnvConfig, ParamSource};
use crate::error::{Error, Result};
use crate::template::{self, Fragment, Limits, Merged, Nested, Problem, Severity};
use std::collections::{BTreeMap, BTreeSet};

pub struct Formation {
    pub fragments: Vec<Fragment>,
    pub merged: Merged,
    /// The local child templates of its nested stacks, loaded, tagged and checked.
    pub nested: Nested,
    /// Every declared parameter with where its value comes from, in template order.
    pub parameters: Vec<(String, ParamSource)>,
    pub problems: Vec<Problem>,
}

impl Formation {
    /// Load, merge and check. `image_id` fills the image parameter when the template declares it.
    pub fn build(env: &EnvConfig, image_id: &str) -> Result<Self> {
        let fragments = template::load_dir(&env.config.formations)?;
        let naming = env.naming();
        let merged = template::merge(&fragments, &naming)?;
        let nested = Nested::load(&merged, &fragments, &|f| {
            template::merge(std::slice::from_ref(f), &naming)
        })?;
        let filled = filled_by_manage(env, image_id);
        let mut formation = Self::assemble(env, fragments, merged, nested, filled);
        let declared: BTreeSet<String> = formation
            .parameters
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        for name in env.parameters.keys().filter(|n| !declared.contains(*n)) {
            formation.problems.push(Problem {
                severity: Severity::Warning,
                message: format!(
                    "parameter \"{name}\" has a value in {} but no fragment declares it; it is not sent",
                    env.config.path.display()
                ),
            });
        }
        Ok(formation)
    }

    /// The image stack: `formations/image.*` alone, with the base AMI id in the image
    /// parameter, the bake instance type and the key pair.
    pub fn build_image(env: &EnvConfig, base_image: &str) -> Result<Self> {
        let dir = &env.config.formations;
        let path = template::find_image_fragment(dir)?.ok_or_else(|| {
            Error::input(format!(
                "{}: no image fragment (image.yaml, image.yml or image.json): bake needs one to make the image instance",
                dir.display()
            ))
        })?;
        let fragment = template::load_file(&path)?;
        let merged = template::merge::merge_image(&fragment, env.app())?;
        let nested = Nested::load(&merged, std::slice::from_ref(&fragment), &|f| {
            template::merge::merge_image(f, env.app())
        })?;
        let c = &env.config;
        let mut filled = BTreeMap::from([
            ("AppName".to_owned(), ParamSource::Plain(c.app.clone())),
            (
                c.image_parameter.clone(),
                ParamSource::Plain(base_image.to_owned()),
            ),
            (
                "InstanceType".to_owned(),
                ParamSource::Plain(c.instance_type.clone()),
            ),
        ]);
        if let Some(key) = &c.key_pair {
            filled.insert("KeyName".to_owned(), ParamSource::Plain(key.clone()));
        }
        Ok(Self::assemble(env, vec![fragment], merged, nested, filled))
    }

    /// Check the merged template and give every declared parameter its value: what manage
    /// fills, then the config and `--param`, then the template's Default.
    fn assemble(
        env: &EnvConfig,
        fragments: Vec<Fragment>,
        merged: Merged,
        nested: Nested,
        filled: BTreeMap<String, ParamSource>,
    ) -> Self {
        let provided: BTreeSet<String> = filled
            .keys()
            .chain(env.parameters.keys())
            .cloned()
            .collect();
        let mut problems = template::check(&merged, &provided, &Limits::default());
        for f in &fragments {
            problems.extend(template::strict::unknown_functions(f));
        }
        for child in nested.in_order() {
            let file = child.path.display().to_string();
            problems.extend(template::check::check_child(
                &child.merged,
                &file,
                &Limits::default(),
            ));
            problems.extend(template::strict::unknown_functions(&child.fragment));
        }
        problems.extend(nested.link_problems(&merged));
        problems.sort_by_key(|p| p.severity);
        let mut parameters = Vec::new();
        for (name, default, _no_echo) in merged.parameters() {
            let source = filled
                .get(&name)
                .or_else(|| env.parameters.get(&name))
                .cloned()
                .or_else(|| default.map(|d| ParamSource::Plain(default_text(&d))));
            let declared = merged
                .body
                .get("Parameters")
                .and_then(|p| p.get(&name))
                .and_then(|p| p.get("Type"))
                .and_then(|t| t.as_str())
                .unwrap_or("String");
            if let Some(Err(e)) = env.parameters.get(&name).map(|s| s.fits(&name, declared)) {
                problems.push(Problem {
                    severity: Severity::Error,
                    message: format!("{}: {e}", env.config.path.display()),
                });
            }
            if let Some(source) = source {
                if let Err(e) = source.check(&name) {
                    problems.push(Problem {
                        severity: Severity::Error,
                        message: e,
                    });
                }
                parameters.push((name, source));
            }
        }
        Self {
            fragments,
            merged,
            nested,
            parameters,
            problems,
        }
    }

    /// The same formation with `image_id` in the image parameter: the image id changes no
    /// check, so a formation checked before the image is known need not be built again.
    pub fn with_image(mut self, env: &EnvConfig, image_id: &str) -> Self {
        for (name, source) in &mut self.parameters {
            if *name == env.config.image_parameter {
                *source = ParamSource::Plain(image_id.to_owned());
            }
        }
        self
    }

    /// What CreateStack and CreateChangeSet must acknowledge for this template and the
    /// children of its nested stacks: their IAM resources and macros count as the parent's.
    /// A macro (SAM, a custom transform) may expand into IAM resources that cannot be seen
    /// before it runs, so it gets the IAM capabilities too.
    pub fn capabilities(&self) -> Vec<aws_sdk_cloudformation::types::Capability> {
        use aws_sdk_cloudformation::types::Capability;
        let expand = self.merged.needs_auto_expand() || self.nested.needs_auto_expand();
        let mut caps = Vec::new();
        if expand || self.merged.needs_iam() || self.nested.needs_iam() {
            caps.extend([Capability::CapabilityIam, Capability::CapabilityNamedIam]);
        }
        if expand {
            caps.push(Capability::CapabilityAutoExpand);
        }
        caps
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| matches!(p.severity, Severity::Error))
    }

    /// Fail with exit 2 when any check found an error; the problems are shown by the caller.
    pub fn ensure_valid(&self) -> Result<()> {
        let n = self.errors().count();
        if n == 0 {
            return Ok(());
        }
        let first = self
            .errors()
            .next()
            .map(|p| p.message.clone())
            .unwrap_or_default();
        Err(Error::Invalid(if n == 1 {
            first
        } else {
            format!("{first} (and {} more problems: run validate)", n - 1)
        }))
    }

    /// Parameter values to send, secrets resolved. Never print this.
    pub fn resolved_parameters(&self) -> Result<Vec<(String, String)>> {
        self.parameters
            .iter()
            .map(|(k, s)| s.resolve(k).map(|v| (k.clone(), v)).map_err(Error::Input))
            .collect()
    }

    /// Parameters whose values are never shown: a secret in the config (declared or not, so a
    /// parameter no fragment declares any more stays hidden) or NoEcho in the template.
    pub fn secret_names(&self, env: &EnvConfig) -> BTreeSet<String> {
        let no_echo = self
            .merged
            .parameters()
            .into_iter()
            .filter(|(_, _, no_echo)| *no_echo)
            .map(|(n, _, _)| n);
        let configured = env
            .parameters
            .iter()
            .filter(|(_, s)| s.is_secret())
            .map(|(n, _)| n.clone());
        no_echo.chain(configured).collect()
    }

    /// Parameters as shown to a person: secrets and NoEcho values as ****.
    pub fn shown_parameters(&self) -> Vec<(String, String)> {
        let no_echo: BTreeSet<String> = self
            .merged
            .parameters()
            .into_iter()
            .filter(|(_, _, no_echo)| *no_echo)
            .map(|(n, _, _)| n)
            .collect();
        self.parameters
            .iter()
            .map(|(k, s)| {
                let v = if no_echo.contains(k) {
                    "****".to_owned()
                } else {
                    s.to_string()
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// "fragment:line" of a logical id, for progress lines and failure reports. A resource of
    /// a local nested stack is named by its path (`Queues/Jobs`) and found in the child file.
    pub fn defined_in(&self, logical_id: &str) -> Option<String> {
        if let Some((stack, id)) = logical_id.rsplit_once('/') {
            let child = self.nested.child_at(stack)?;
            let path = child.path.display();
            return Some(match child.fragment.line_of(id) {
                Some(line) => format!("{path}:{line}"),
                None => path.to_string(),
            });
        }
        let name = self.merged.origin.get(logical_id)?;
        let fragment = self.fragments.iter().find(|f| &f.name == name)?;
        Some(match fragment.line_of(logical_id) {
            Some(line) => format!("{}:{line}", fragment.path.display()),
            None => fragment.path.display().to_string(),
        })
    }

    /// A lookup that outlives the formation (for progress callbacks).
    pub fn origin_lookup(&self) -> impl Fn(&str) -> Option<String> + 'static {
        let map: BTreeMap<String, String> = self
            .merged
            .origin
            .keys()
            .filter_map(|id| Some((id.clone(), self.defined_in(id)?)))
            .collect();
        move |id| map.get(id).cloned()
    }
}

/// The values of the `secret` parameters among `resolved` ones, so that what AWS reports back
/// can be masked.
pub fn secret_values(secret: &BTreeSet<String>, resolved: &[(String, String)]) -> Vec<String> {
    resolved
        .iter()
        .filter(|(name, _)| secret.contains(name))
        .map(|(_, value)| value.clone())
        .collect()
}

/// AppName, EnvName, the image parameter, and KeyName (from `key_pair`).
fn filled_by_manage(env: &EnvConfig, image_id: &str) -> BTreeMap<String, ParamSource> {
    let mut filled = BTreeMap::from([
        (
            "AppName".to_owned(),
            ParamSource::Plain(env.app().to_owned()),
        ),
        ("EnvName".to_owned(), ParamSource::Plain(env.name.clone())),
        (
            env.config.image_parameter.clone(),
            ParamSource::Plain(image_id.to_owned()),
        ),
    ]);
    if let Some(key) = &env.config.key_pair {
        if !env.parameters.contains_key("KeyName") {
            filled.insert("KeyName".to_owned(), ParamSource::Plain(key.clone()));
        }
    }
    filled
}

/// A Default as CloudFormation takes it: lists comma-joined, numbers as text.
fn default_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}
