//! End to end against moto, the images an env uses: `clean` and `decommission --with-image`
//! choose images by their tags, keep what any instance or stack still uses, and a dry run's
//! result is the real run's plan; `update` keeps the env's image unless a newer bake exists or
//! `--image` names one, and stops when the image is gone.

mod common;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use common::{Moto, Project};

const BASE_AMI: &str = "ami-785db401";

/// An instance of the base AMI with these tags.
async fn instance(moto: &Moto, tags: &[(&str, &str)]) -> String {
    moto.launch(BASE_AMI, tags).await
}

/// A baked-looking image of `app`: tagged App and Group=image, named `name`.
async fn image(moto: &Moto, app: &str, name: &str, baked_at: &str) -> String {
    let from = instance(moto, &[]).await;
    let tags = [
        ("App", app),
        ("Group", "image"),
        ("Name", name),
        ("BakedAt", baked_at),
    ];
    let out = moto
        .ec2()
        .await
        .create_image()
        .instance_id(&from)
        .name(name)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Image)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                        .collect(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.image_id().unwrap().to_owned()
}

async fn image_ids(moto: &Moto) -> Vec<String> {
    let out = moto
        .ec2()
        .await
        .describe_images()
        .owners("self")
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = out
        .images()
        .iter()
        .map(|i| i.image_id().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn state(moto: &Moto, id: &str) -> String {
    let out = moto
        .ec2()
        .await
        .describe_instances()
        .filters(Filter::builder().name("instance-id").values(id).build())
        .send()
        .await
        .unwrap();
    out.reservations()[0].instances()[0]
        .state()
        .unwrap()
        .name()
        .unwrap()
        .as_str()
        .to_owned()
}

/// The image ids a clean result lists for deletion.
fn planned(result: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = result["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().split(' ').next().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn project(moto: &Moto) -> Project {
    let p = Project::new(&moto.url);
    p.edit_config(|c| {
        c.as_object_mut().unwrap().remove("ssh_key_file");
    });
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_keeps_images_in_use_and_other_apps_images_and_its_dry_run_is_the_plan() {
    let moto = Moto::start();
    let p = project(&moto);
    let old = image(&moto, "argos", "argos-image", "2026-01-01T00:00:00.000Z").await;
    let newest = image(&moto, "argos", "argos-image-2", "2026-01-02T00:00:00.000Z").await;
    // Another app whose images' names start with "argos-image" too.
    let other = image(
        &moto,
        "argos-imagery",
        "argos-imagery-image",
        "2026-01-01T00:00:00.000Z",
    )
    .await;
    // A bake instance left behind, found by its tags although its name is not argos-image.
    let leftover = instance(
        &moto,
        &[("App", "argos"), ("Group", "image"), ("Name", "leftover")],
    )
    .await;
    p.manage(["staging", "commission", "--no-deploy"]).ok();

    let dry = p.manage(["staging", "clean", "--dry-run"]).ok();
    assert!(
        dry.stdout.starts_with("dry run: would delete")
            && dry.stdout.contains(&old)
            && dry.stdout.contains(&leftover),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(&format!(
            "kept {newest} (argos-image-2): in use by argos-staging: 3 hosts and its stack"
        )),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains(&other), "{}", dry.stdout);
    let plan = p
        .manage(["staging", "clean", "--dry-run", "--output", "json"])
        .ok()
        .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(planned(&plan), [old.as_str()]);
    assert_eq!(plan["instances"], serde_json::json!([leftover]));
    assert_eq!(
        image_ids(&moto).await.len(),
        3,
        "the dry run changed nothing"
    );
    assert_eq!(state(&moto, &leftover).await, "running");

    let done = p
        .manage(["staging", "clean", "--yes", "--output", "json"])
        .ok()
        .json();
    assert_eq!(done["dry_run"], false);
    assert_eq!(planned(&done), planned(&plan), "the real run did the plan");
    assert_eq!(done["instances"], plan["instances"]);
    let mut left = vec![newest.clone(), other.clone()];
    left.sort();
    assert_eq!(image_ids(&moto).await, left);
    assert_eq!(state(&moto, &leftover).await, "terminated");

    // decommission --with-image: the dry run counts on the env's hosts being gone, as the real
    // run will find them; the same images go.
    let dry = p
        .manage([
            "staging",
            "decommission",
            "--with-image",
            "--dry-run",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(planned(&dry["images"]), [newest.as_str()]);
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    let real = p
        .manage([
            "staging",
            "decommission",
            "--with-image",
            "--yes",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(planned(&real["images"]), planned(&dry["images"]));
    assert_eq!(image_ids(&moto).await, [other.as_str()]);
    assert!(moto.stack_status("argos-staging").await.is_none());
    assert_eq!(
        p.manage(["staging", "clean", "--yes"]).ok().stdout.trim(),
        "nothing to clean"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_a_stopped_host_of_another_app_runs_is_kept() {
    let moto = Moto::start();
    let p = project(&moto);
    let id = image(&moto, "argos", "argos-image", "2026-01-01T00:00:00.000Z").await;
    let user = moto.launch(&id, &[]).await;
    moto.ec2()
        .await
        .stop_instances()
        .instance_ids(&user)
        .send()
        .await
        .unwrap();
    let run = p.manage(["staging", "clean", "--yes"]).ok();
    assert_eq!(
        run.stdout.trim(),
        format!("nothing to clean\nkept {id} (argos-image): in use by {user}: 1 host")
    );
    assert_eq!(image_ids(&moto).await, [id]);
}

async fn deregister(moto: &Moto, id: &str) {
    moto.ec2()
        .await
        .deregister_image()
        .image_id(id)
        .send()
        .await
        .unwrap();
}

fn image_param(run: &common::Run) -> Option<(String, String)> {
    let json = run.json();
    let change = json["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ImageId")?
        .clone();
    Some((
        change["old"].as_str().unwrap().to_owned(),
        change["new"].as_str().unwrap().to_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn update_keeps_the_env_image_takes_a_newer_bake_and_stops_when_it_is_gone() {
    let moto = Moto::start();
    let p = project(&moto);
    let first = image(&moto, "argos", "argos-image", "2026-01-01T00:00:00.000Z").await;
    p.manage(["staging", "commission", "--no-deploy"]).ok();
    // A dry run needs no Ansible and no SSH key.
    p.edit_config(|c| c["ssh_key_file"] = serde_json::json!("keys/missing.pem"));
    let no_tools = [("PATH", Some("/usr/bin:/bin"))];
    let kept = p.manage_with(
        ["staging", "update", "--dry-run", "--output", "json"],
        &no_tools,
    );
    let kept = kept.ok();
    assert_eq!(image_param(&kept), None, "{}", kept.stdout);
    assert_eq!(kept.json()["image"]["image_id"], first.as_str());
    assert!(
        kept.stderr.contains("kept: the image the stack runs"),
        "{}",
        kept.stderr
    );

    // A newer bake of the app: proposed, and said so.
    let newer = image(&moto, "argos", "argos-image-2", "2026-01-02T00:00:00.000Z").await;
    let run = p
        .manage_with(
            ["staging", "update", "--dry-run", "--output", "json"],
            &no_tools,
        )
        .ok();
    assert_eq!(image_param(&run), Some((first.clone(), newer.clone())));
    assert_eq!(
        run.json()["image"]["why"],
        "newer baked image argos-image-2"
    );
    let text = p
        .manage_with(["staging", "update", "--dry-run"], &no_tools)
        .ok();
    assert!(
        text.stdout
            .contains(&format!("image: {newer} (newer baked image argos-image-2)")),
        "{}",
        text.stdout
    );

    // The env's image is gone: say so, exit 2, nothing proposed.
    p.edit_config(|c| {
        c.as_object_mut().unwrap().remove("ssh_key_file");
    });
    deregister(&moto, &newer).await;
    deregister(&moto, &first).await;
    for args in [
        vec!["staging", "update", "--dry-run"],
        vec!["staging", "update", "--yes", "--no-deploy"],
    ] {
        let gone = p.manage(&args).code(2);
        let errors = gone.error_lines();
        assert_eq!(errors.len(), 1, "{}", gone.stderr);
        assert!(
            errors[0].contains(&first)
                && errors[0].contains("is gone")
                && errors[0].contains("--image"),
            "{}",
            errors[0]
        );
    }
    // --image names the image to move to.
    let third = image(&moto, "argos", "argos-image-3", "2026-01-03T00:00:00.000Z").await;
    let run = p
        .manage([
            "staging",
            "update",
            "--dry-run",
            "--output",
            "json",
            "--image",
            &third,
        ])
        .ok();
    assert_eq!(image_param(&run), Some((first.clone(), third.clone())));
    assert_eq!(run.json()["image"]["why"], "--image");
    let bad = p
        .manage(["staging", "update", "--dry-run", "--image", "ami-12345678"])
        .code(2);
    assert!(
        bad.stderr.contains("--image ami-12345678"),
        "{}",
        bad.stderr
    );
}
