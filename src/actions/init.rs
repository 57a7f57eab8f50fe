//! `init DIR [--app NAME]`: a new project that validates at once: config.json (and
//! config.example.json) from the example with the app's name, a starter network, app host
//! and image bake in formations/, their playbooks, and a .gitignore that keeps config.json,
//! keys and secrets out of git. Never overwrites: an existing file is bad input.

use crate::error::{Error, Result};
use crate::names;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

const EXAMPLE_CONFIG: &str = include_str!("../../config.example.json");

/// SshCidr in a new project until the operator sets their own address: nobody connects from it.
const PLACEHOLDER_CIDR: &str = "203.0.113.1/32";

/// The starter files, by their path in the new project.
const FILES: [(&str, &str); 7] = [
    (
        "formations/network.yaml",
        include_str!("../scaffold/network.yaml"),
    ),
    ("formations/app.yaml", include_str!("../scaffold/app.yaml")),
    (
        "formations/image.yaml",
        include_str!("../scaffold/image.yaml"),
    ),
    ("playbooks/app.yml", include_str!("../scaffold/app.yml")),
    ("playbooks/image.yml", include_str!("../scaffold/image.yml")),
    (
        "playbooks/group_vars/all.yml",
        include_str!("../scaffold/all.yml"),
    ),
    (".gitignore", include_str!("../scaffold/gitignore")),
];

#[derive(Serialize)]
pub struct Created {
    pub dir: PathBuf,
    pub app: String,
    pub files: Vec<String>,
}

impl fmt::Display for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "created project {} in {}:", self.app, self.dir.display())?;
        for file in &self.files {
            writeln!(f, "  {file}")?;
        }
        write!(
            f,
            "next: cd {} && edit config.json (bucket, key_pair, ssh_key_file, and parameters.SshCidr: {PLACEHOLDER_CIDR} lets nobody SSH in), then manage staging doctor",
            self.dir.display()
        )
    }
}

/// Write the project into `dir` (created if missing). `app` defaults to the folder's name.
pub fn create(dir: &Path, app: Option<&str>) -> Result<Created> {
    let app = match app {
        Some(a) => a.to_owned(),
        None => folder_name(dir)?,
    };
    names::check_name_part("app", &app)
        .map_err(|e| Error::input(format!("{e} (pass --app NAME to choose another)")))?;
    let config = config_for(&app)?;
    let mut files: Vec<(&str, String)> = vec![
        ("config.json", config.clone()),
        ("config.example.json", config),
    ];
    files.extend(FILES.iter().map(|(p, t)| (*p, (*t).to_owned())));
    if let Some((path, _)) = files.iter().find(|(p, _)| dir.join(p).exists()) {
        return Err(Error::input(format!(
            "{}: already exists; init never overwrites (choose an empty or new folder)",
            dir.join(path).display()
        )));
    }
    for (path, text) in &files {
        write_new(&dir.join(path), text)?;
    }
    Ok(Created {
        dir: dir.to_path_buf(),
        app,
        files: files.iter().map(|(p, _)| (*p).to_owned()).collect(),
    })
}

/// The folder's own name, as the app name: `manage init shop` makes app `shop`.
fn folder_name(dir: &Path) -> Result<String> {
    let abs =
        std::path::absolute(dir).map_err(|e| Error::input(format!("{}: {e}", dir.display())))?;
    abs.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::input(format!(
                "{}: has no folder name to use as the app name; pass --app NAME",
                dir.display()
            ))
        })
}

/// config.example.json with this app's names: the app, its bucket, key pair and key file.
fn config_for(app: &str) -> Result<String> {
    let mut config: Value = serde_json::from_str(EXAMPLE_CONFIG)
        .map_err(|e| Error::Local(format!("the built-in example config: {e}")))?;
    let lower = app.to_ascii_lowercase();
    let set = |c: &mut Value, key: &str, v: String| c[key] = Value::String(v);
    set(&mut config, "//", "Settings of this project. Paths are relative to this file. Set bucket (S3 names are global: pick your own), key_pair, ssh_key_file and parameters.SshCidr (who may SSH to the hosts: your own address as a /32; the 203.0.113.1/32 written here is a documentation address that lets nobody in), then run manage staging doctor.".into());
    set(&mut config, "app", app.to_owned());
    set(&mut config, "bucket", format!("{lower}-cfn-templates"));
    set(&mut config, "key_pair", app.to_owned());
    set(&mut config, "ssh_key_file", format!("keys/{app}.pem"));
    // So that the project validates at once without opening SSH to anyone: a documentation
    // address (RFC 5737), which the comment above and `init`'s last line say to replace.
    config["parameters"]["SshCidr"] = Value::String(PLACEHOLDER_CIDR.to_owned());
    // The starter has one host group: drop the example's worker parameter.
    if let Some(params) = config["parameters"].as_object_mut() {
        params.remove("WorkerInstanceType");
    }
    if let Some(envs) = config["environments"].as_object_mut() {
        for env in envs.values_mut() {
            if let Some(params) = env["parameters"].as_object_mut() {
                params.remove("WorkerInstanceType");
            }
        }
    }
    let text = serde_json::to_string_pretty(&config)
        .map_err(|e| Error::Local(format!("writing the config: {e}")))?;
    Ok(text + "\n")
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::Local(format!("{}: cannot write: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    // create_new: a file that appeared since the check is still never overwritten.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(fail)
}
