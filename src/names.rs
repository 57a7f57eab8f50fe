//! The fixed names and tags from DESIGN.md, in one place.

use regex::Regex;
use std::sync::LazyLock;

static NAME_PART: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9-]*$").expect("static regex"));

/// The longest env (and app) name: keeps `<app>-<env>` and the tag values well inside AWS limits.
pub const MAX_NAME: usize = 40;

/// Check an env or app name: a valid stack-name part, `[a-zA-Z][a-zA-Z0-9-]*`, at most 40 characters.
pub fn check_name_part(what: &str, name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME {
        return Err(format!(
            "{what} name \"{name}\" is {} characters long; use at most {MAX_NAME}",
            name.len()
        ));
    }
    if !NAME_PART.is_match(name) {
        return Err(format!(
            "{what} name \"{name}\" is not valid: use a letter, then letters, digits and dashes"
        ));
    }
    Ok(())
}

pub fn stack_name(app: &str, env: &str) -> String {
    format!("{app}-{env}")
}

pub fn image_name(app: &str) -> String {
    format!("{app}-image")
}

/// `s3://<bucket>/<app>/<env>/<sha256>.json`'s key.
pub fn template_key(app: &str, env: &str, sha256: &str) -> String {
    format!("{app}/{env}/{sha256}.json")
}

/// The TemplateURL form that both AWS and the emulator read.
pub fn template_url(bucket: &str, region: &str, key: &str) -> String {
    if region == "us-east-1" {
        format!("https://{bucket}.s3.amazonaws.com/{key}")
    } else {
        format!("https://{bucket}.s3.{region}.amazonaws.com/{key}")
    }
}

/// Stack-level tags. The merge adds Group and Name to each resource.
pub fn stack_tags(app: &str, env: &str) -> Vec<(String, String)> {
    vec![
        ("App".to_owned(), app.to_owned()),
        ("Env".to_owned(), env.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_parts() {
        for ok in ["staging", "pr-142", "P1", &"a".repeat(40)] {
            assert!(check_name_part("env", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1st", "-x", "a_b", "a.b", "ünï", &"a".repeat(41)] {
            let err = check_name_part("env", bad).unwrap_err();
            assert!(err.starts_with("env name"), "{err}");
        }
    }

    #[test]
    fn fixed_names() {
        assert_eq!(stack_name("argos", "staging"), "argos-staging");
        assert_eq!(image_name("argos"), "argos-image");
        assert_eq!(template_key("argos", "pr-1", "ab"), "argos/pr-1/ab.json");
        assert_eq!(
            template_url("b", "us-east-1", "k.json"),
            "https://b.s3.amazonaws.com/k.json"
        );
        assert_eq!(
            template_url("b", "eu-west-1", "k.json"),
            "https://b.s3.eu-west-1.amazonaws.com/k.json"
        );
    }
}
