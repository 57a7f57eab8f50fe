//! The app's baked image: its names, its tags, and which one is current (plain values), and
//! the waits on a new image and on snapshots released by deregistered images (`wait`).

pub mod wait;

use crate::aws::cloudformation::ListedStack;
use crate::aws::ec2::{Image, Instance};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Tag holding the bake time (RFC 3339 with milliseconds): orders images baked within the same
/// second, which CreationDate (seconds) cannot.
pub const BAKED_AT: &str = "BakedAt";

/// The newest available image: by bake time, then creation date, then name.
pub fn newest(images: &[Image]) -> Option<&Image> {
    images
        .iter()
        .filter(|i| i.state == "available")
        .max_by(|a, b| order_key(a).cmp(&order_key(b)))
}

fn order_key(i: &Image) -> (String, String, String) {
    (
        i.tags.get(BAKED_AT).cloned().unwrap_or_default(),
        i.created.clone().unwrap_or_default(),
        i.name.clone(),
    )
}

/// The image an update gives an env, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub image_id: String,
    /// The image the stack runs now, when it names one.
    pub previous: Option<String>,
    /// "kept: the image the stack runs", "newer baked image argos-image-2", "--image".
    pub why: String,
}

/// `update` never moves an env to another image by itself: it keeps the stack's image unless
/// a newer baked image of the app exists. `running` is the stack's image as described (None
/// when it is gone); `images` are the app's baked images. Err when the image is gone.
pub fn choose(
    stack_image: &str,
    running: Option<&Image>,
    images: &[Image],
) -> Result<Choice, String> {
    let Some(running) = running.filter(|i| i.state == "available") else {
        return Err(format!(
            "the image {stack_image} that the stack runs is gone (deregistered or unavailable)"
        ));
    };
    let keep = Choice {
        image_id: stack_image.to_owned(),
        previous: Some(stack_image.to_owned()),
        why: "kept: the image the stack runs".to_owned(),
    };
    // Only one of the app's own images can be superseded by a newer bake.
    if !images.iter().any(|i| i.id == running.id) {
        return Ok(keep);
    }
    match newest(images) {
        Some(n) if n.id != running.id && order_key(n) > order_key(running) => Ok(Choice {
            image_id: n.id.clone(),
            previous: Some(stack_image.to_owned()),
            why: format!("newer baked image {}", n.name),
        }),
        _ => Ok(keep),
    }
}

/// Who uses an image, one entry per env (or stack, or lone instance): "argos-production: 3
/// hosts and its stack". Instances in any state but terminated count, and so does a stack
/// that names the image in one of its parameters. Empty when nothing uses it.
pub fn users(image_id: &str, instances: &[Instance], stacks: &[ListedStack]) -> Vec<String> {
    let mut by_label: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for i in instances
        .iter()
        .filter(|i| i.image_id.as_deref() == Some(image_id))
    {
        by_label.entry(instance_label(i)).or_default().0 += 1;
    }
    for s in stacks
        .iter()
        .filter(|s| s.parameters.iter().any(|(_, v)| v == image_id))
    {
        by_label.entry(s.name.clone()).or_default().1 = true;
    }
    by_label
        .into_iter()
        .map(|(label, (hosts, stack))| {
            let hosts = match hosts {
                0 => None,
                1 => Some("1 host".to_owned()),
                n => Some(format!("{n} hosts")),
            };
            match (hosts, stack) {
                (Some(h), true) => format!("{label}: {h} and its stack"),
                (Some(h), false) => format!("{label}: {h}"),
                (None, _) => format!("{label}: its stack"),
            }
        })
        .collect()
}

/// `<App>-<Env>` from an instance's tags, else its stack's name, else its id.
fn instance_label(i: &Instance) -> String {
    match (i.tags.get("App"), i.tags.get("Env")) {
        (Some(app), Some(env)) => crate::names::stack_name(app, env),
        _ => i
            .tags
            .get("aws:cloudformation:stack-name")
            .cloned()
            .unwrap_or_else(|| i.id.clone()),
    }
}

/// `<app>-image` for the first image; `<app>-image-<timestamp>` when that name is taken (a rebake).
pub fn new_name(app: &str, existing: &[Image], now: DateTime<Utc>) -> String {
    let base = crate::names::image_name(app);
    if existing.iter().any(|i| i.name == base) {
        format!("{base}-{}", now.format("%Y%m%d%H%M%S"))
    } else {
        base
    }
}

/// Tags of a new image: it is found by App and Group, and says what it was made from.
pub fn tags(
    app: &str,
    name: &str,
    base_ami: &str,
    commit: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let mut tags = vec![
        ("App".to_owned(), app.to_owned()),
        ("Group".to_owned(), "image".to_owned()),
        ("Name".to_owned(), name.to_owned()),
        ("BaseAmi".to_owned(), base_ami.to_owned()),
        (
            BAKED_AT.to_owned(),
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
    ];
    if let Some(c) = commit {
        tags.push(("PlaybooksCommit".to_owned(), c.to_owned()));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn img(name: &str, state: &str, baked: Option<&str>) -> Image {
        Image {
            id: format!("ami-{name}"),
            name: name.into(),
            state: state.into(),
            created: Some("2026-01-01T00:00:00.000Z".into()),
            tags: baked
                .map(|b| [(BAKED_AT.to_owned(), b.to_owned())].into())
                .unwrap_or_default(),
            snapshot_ids: vec![],
        }
    }

    #[test]
    fn newest_available_image_wins() {
        let images = [
            img("argos-image", "available", Some("2026-01-01T00:00:00.100Z")),
            img(
                "argos-image-2",
                "available",
                Some("2026-01-01T00:00:00.900Z"),
            ),
            img("argos-image-3", "pending", Some("2026-01-02T00:00:00.000Z")),
        ];
        assert_eq!(newest(&images).unwrap().name, "argos-image-2");
        assert!(newest(&[]).is_none());
    }

    #[test]
    fn update_keeps_the_image_unless_a_newer_bake_exists() {
        let old = img("argos-image", "available", Some("2026-01-01T00:00:00.100Z"));
        let new = img(
            "argos-image-2",
            "available",
            Some("2026-01-02T00:00:00.100Z"),
        );
        let base = img("ubuntu", "available", None);
        let both = [old.clone(), new.clone()];
        let chose =
            |running: &Image, images: &[Image]| choose(&running.id, Some(running), images).unwrap();
        assert_eq!(chose(&old, &both).image_id, new.id);
        assert_eq!(chose(&old, &both).why, "newer baked image argos-image-2");
        assert_eq!(chose(&new, &both).image_id, new.id);
        assert_eq!(chose(&new, &both).why, "kept: the image the stack runs");
        // A base AMI (commission --no-bake) is kept; so is an image with nothing newer.
        assert_eq!(chose(&base, &both).image_id, base.id);
        assert_eq!(chose(&old, std::slice::from_ref(&old)).image_id, old.id);
        let gone = choose("ami-gone", None, &both).unwrap_err();
        assert!(gone.contains("ami-gone") && gone.contains("gone"), "{gone}");
        let pending = img("argos-image-3", "deregistered", None);
        assert!(choose(&pending.id, Some(&pending), &both).is_err());
    }

    fn host(id: &str, image: &str, tags: &[(&str, &str)]) -> Instance {
        Instance {
            id: id.into(),
            state: "running".into(),
            private_ip: None,
            public_ip: None,
            private_dns: None,
            public_dns: None,
            launch_time: None,
            image_id: Some(image.into()),
            instance_type: None,
            availability_zone: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn users_are_counted_per_env_and_stack() {
        let prod = [("App", "argos"), ("Env", "production")];
        let instances = [
            host("i-1", "ami-a", &prod),
            host("i-2", "ami-a", &prod),
            host("i-3", "ami-a", &prod),
            host("i-4", "ami-a", &[]),
            host("i-5", "ami-b", &prod),
        ];
        let stacks = [
            ListedStack {
                name: "argos-production".into(),
                status: "UPDATE_COMPLETE".into(),
                tags: BTreeMap::new(),
                parameters: vec![("ImageId".into(), "ami-a".into())],
            },
            ListedStack {
                name: "argos-qa".into(),
                status: "CREATE_COMPLETE".into(),
                tags: BTreeMap::new(),
                parameters: vec![("ImageId".into(), "ami-a".into())],
            },
        ];
        assert_eq!(
            users("ami-a", &instances, &stacks),
            [
                "argos-production: 3 hosts and its stack",
                "argos-qa: its stack",
                "i-4: 1 host"
            ]
        );
        assert_eq!(
            users("ami-b", &instances, &[]),
            ["argos-production: 1 host"]
        );
        assert!(users("ami-c", &instances, &stacks).is_empty());
    }

    #[test]
    fn names_and_tags() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 20, 1, 2).unwrap();
        assert_eq!(new_name("argos", &[], now), "argos-image");
        let taken = [img("argos-image", "available", None)];
        assert_eq!(new_name("argos", &taken, now), "argos-image-20261121200102");
        let tags = tags("argos", "argos-image", "ami-1", Some("abc123"), now);
        let get = |k: &str| {
            tags.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Group"), Some("image"));
        assert_eq!(get("BaseAmi"), Some("ami-1"));
        assert_eq!(get("PlaybooksCommit"), Some("abc123"));
        assert_eq!(get(BAKED_AT), Some("2026-11-21T20:01:02.000Z"));
    }
}
