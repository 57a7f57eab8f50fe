//! The app's baked image: its names, its tags, and which one is current (plain values), and
//! the waits on a new image and on snapshots released by deregistered images (`wait`).

pub mod wait;

use crate::aws::ec2::Image;
use chrono::{DateTime, Utc};

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
