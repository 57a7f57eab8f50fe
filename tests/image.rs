//! End to end: baking the app image on a real host, reusing it across envs, failed bakes,
//! rebakes and clean. moto, the real binary, and the harness's sshd hosts.

mod common;

use common::hosts::{reachable_project, RealHosts};
use common::{Moto, Project};
use std::collections::BTreeMap;

struct Img {
    id: String,
    tags: BTreeMap<String, String>,
    snapshots: Vec<String>,
}

async fn images(moto: &Moto) -> Vec<Img> {
    let out = moto
        .ec2()
        .await
        .describe_images()
        .owners("self")
        .send()
        .await
        .unwrap();
    out.images()
        .iter()
        .map(|i| Img {
            id: i.image_id().unwrap().to_owned(),
            tags: i
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
                .collect(),
            snapshots: i
                .block_device_mappings()
                .iter()
                .filter_map(|m| m.ebs()?.snapshot_id().map(str::to_owned))
                .collect(),
        })
        .collect()
}

/// (instance id, state, image id) of every instance with these tags.
async fn instances(moto: &Moto, tags: &[(&str, &str)]) -> Vec<(String, String, String)> {
    let mut req = moto.ec2().await.describe_instances();
    for (k, v) in tags {
        req = req.filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{k}"))
                .values(*v)
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap().to_owned(),
                i.state().unwrap().name().unwrap().as_str().to_owned(),
                i.image_id().unwrap().to_owned(),
            )
        })
        .collect()
}

fn second_env(p: &Project, octet: u8) {
    p.edit_config(|c| {
        c["environments"]["qa"] = serde_json::json!({"parameters": {
            "VpcCidr": format!("10.{octet}.0.0/16"), "SubnetCidr": format!("10.{octet}.1.0/24")}});
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_commission_bakes_and_another_env_reuses_the_image() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 111);
    second_env(&p, 112);
    let hosts = RealHosts::start(&moto, &p, &[]);
    let run = p.manage(["staging", "commission"]).ok();
    assert!(
        run.stderr.contains("baked image argos-image"),
        "{}",
        run.stderr
    );

    let all = images(&moto).await;
    assert_eq!(all.len(), 1);
    let image = &all[0];
    assert_eq!(image.tags["App"], "argos");
    assert_eq!(image.tags["Group"], "image");
    assert_eq!(image.tags["Name"], "argos-image");
    assert_eq!(image.tags["BaseAmi"], "ami-785db401");
    assert!(image.tags.contains_key("BakedAt"), "{:?}", image.tags);
    assert!(
        moto.stack_status("argos-image").await.is_none(),
        "the image stack is gone"
    );
    let marker = std::fs::read_to_string(p.path("hostfs/argos-image/image-baked"))
        .expect("image.yml ran on the image host");
    assert!(marker.contains("ami-785db401"), "{marker}");
    let staging = instances(&moto, &[("Env", "staging")]).await;
    assert_eq!(staging.len(), 3);
    assert!(
        staging.iter().all(|(_, _, ami)| ami == &image.id),
        "{staging:?}"
    );

    let qa = p.manage(["qa", "commission", "--no-deploy"]).ok();
    assert!(
        qa.stderr
            .contains(&format!("using image argos-image ({})", image.id)),
        "{}",
        qa.stderr
    );
    assert_eq!(images(&moto).await.len(), 1, "no new image");
    let qa_hosts = instances(&moto, &[("Env", "qa")]).await;
    assert_eq!(qa_hosts.len(), 3);
    assert!(
        qa_hosts.iter().all(|(_, _, ami)| ami == &image.id),
        "{qa_hosts:?}"
    );
    hosts.stop_and_check();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_bake_keeps_its_instance_and_a_retry_continues_from_it() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 113);
    let hosts = RealHosts::start(&moto, &p, &[]);
    let good = std::fs::read_to_string(p.path("playbooks/image.yml")).unwrap();
    p.write(
        "playbooks/image.yml",
        &format!(
            "{good}\n    - name: Break on purpose\n      ansible.builtin.command: /bin/false\n"
        ),
    );

    let failed = p.manage(["staging", "bake"]).code(2);
    let errors = failed.error_lines();
    assert_eq!(errors.len(), 1, "{}", failed.stderr);
    assert!(
        errors[0].contains("image.yml") && errors[0].contains("is kept"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("manage staging bake") && errors[0].contains("manage staging clean"),
        "{}",
        errors[0]
    );
    let kept = instances(&moto, &[("Group", "image")]).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].1, "running");
    assert!(images(&moto).await.is_empty());

    p.write("playbooks/image.yml", &good);
    let retry = p.manage(["staging", "bake"]).ok();
    assert!(
        retry
            .stderr
            .contains(&format!("continuing from the image instance {}", kept[0].0)),
        "{}",
        retry.stderr
    );
    let after = instances(&moto, &[("Group", "image")]).await;
    assert_eq!(after.len(), 1, "no new instance: {after:?}");
    assert_eq!(images(&moto).await.len(), 1);
    assert!(moto.stack_status("argos-image").await.is_none());
    hosts.stop_and_check();
}

#[tokio::test(flavor = "multi_thread")]
async fn rebake_makes_a_newer_image_that_commission_uses_and_clean_removes_them_all() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 114);
    let hosts = RealHosts::start(&moto, &p, &[]);
    // The dry run says what the real run then does: bake from the base AMI, nothing made yet.
    let dry = p.manage(["staging", "bake", "--dry-run"]).ok();
    assert!(
        dry.stderr
            .contains("would bake a new image from ami-785db401"),
        "{}",
        dry.stderr
    );
    assert_eq!(images(&moto).await.len(), 0);
    let baked = p
        .manage(["staging", "bake", "--output", "json"])
        .ok()
        .json();
    assert_eq!(baked["baked"], true, "{baked}");
    let dry = p.manage(["staging", "bake", "--dry-run"]).ok();
    assert!(dry.stdout.contains("nothing to bake"), "{}", dry.stdout);
    let again = p.manage(["staging", "bake"]).ok();
    assert!(again.stdout.contains("nothing to bake"), "{}", again.stdout);
    assert_eq!(images(&moto).await.len(), 1);
    let rebake = p
        .manage(["staging", "bake", "--rebake", "--output", "json"])
        .ok()
        .json();
    let newest = rebake["image_id"].as_str().unwrap().to_owned();
    assert!(
        rebake["name"].as_str().unwrap().starts_with("argos-image-"),
        "{rebake}"
    );
    assert_eq!(images(&moto).await.len(), 2);

    p.manage(["staging", "commission", "--no-deploy"]).ok();
    let staging = instances(&moto, &[("Env", "staging")]).await;
    assert!(
        staging.iter().all(|(_, _, ami)| ami == &newest),
        "commission took the newest image: {staging:?}"
    );

    let before = images(&moto).await;
    let ids: Vec<String> = before.iter().map(|i| i.id.clone()).collect();
    let snapshots: Vec<String> = before.iter().flat_map(|i| i.snapshots.clone()).collect();
    assert_eq!(snapshots.len(), 2);
    let ec2 = moto.ec2().await;
    let tagged = ec2
        .describe_snapshots()
        .set_snapshot_ids(Some(snapshots.clone()))
        .send()
        .await
        .unwrap();
    for s in tagged.snapshots() {
        let tags: BTreeMap<_, _> = s
            .tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
            .collect();
        assert_eq!(
            (tags.get("App"), tags.get("Group")),
            (Some(&"argos"), Some(&"image")),
            "bake tags the snapshots: {tags:?}"
        );
    }
    // An interrupted clean: the older image is gone, its snapshot is left behind.
    let older = before.iter().find(|i| i.id != newest).unwrap();
    ec2.deregister_image()
        .image_id(&older.id)
        .send()
        .await
        .unwrap();
    let refused = p.manage(["staging", "clean"]).code(3);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    let kept = p
        .manage(["staging", "clean", "--yes", "--keep-latest"])
        .ok();
    assert!(
        kept.stdout
            .contains(&format!("kept the newest image: {newest}")),
        "{}",
        kept.stdout
    );
    assert_eq!(
        images(&moto)
            .await
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [newest.as_str()]
    );
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    match ec2
        .describe_snapshots()
        .set_snapshot_ids(Some(older.snapshots.clone()))
        .send()
        .await
    {
        Ok(out) => assert!(
            out.snapshots().is_empty(),
            "the orphaned snapshot is found by tag"
        ),
        Err(e) => assert_eq!(e.code(), Some("InvalidSnapshot.NotFound"), "{e:?}"),
    }

    p.manage(["staging", "decommission", "--yes", "--with-image"])
        .ok();
    match ec2
        .describe_images()
        .owners("self")
        .set_image_ids(Some(ids))
        .send()
        .await
    {
        Ok(out) => assert!(out.images().is_empty(), "images are deregistered"),
        Err(e) => assert_eq!(e.code(), Some("InvalidAMIID.NotFound"), "{e:?}"),
    }
    match ec2
        .describe_snapshots()
        .set_snapshot_ids(Some(snapshots))
        .send()
        .await
    {
        Ok(out) => assert!(out.snapshots().is_empty(), "snapshots are deleted"),
        Err(e) => assert_eq!(e.code(), Some("InvalidSnapshot.NotFound"), "{e:?}"),
    }
    let second = p.manage(["staging", "clean", "--yes"]).ok();
    assert_eq!(second.stdout.trim(), "nothing to clean");
    hosts.stop_and_check();
}
