//! EC2 instances of an env, found by their tags; `power` changes their state.

pub mod power;

use crate::aws::to_chrono;
use crate::error::{aws, Result};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Instance {
    pub id: String,
    pub state: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub private_dns: Option<String>,
    pub public_dns: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    pub availability_zone: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// Every instance tagged App=<app> and Env=<env> in one of `states`, following every page.
pub async fn tagged_instances(
    ec2: &Client,
    tags: &[(&str, &str)],
    states: &[&str],
) -> Result<Vec<Instance>> {
    let mut filters = tag_filters(tags);
    filters.push(state_filter(states));
    let req = ec2.describe_instances().set_filters(Some(filters));
    all_instances(req, "listing instances").await
}

/// Every page of a DescribeInstances request, as our `Instance`s.
pub(crate) async fn all_instances(
    req: aws_sdk_ec2::operation::describe_instances::builders::DescribeInstancesFluentBuilder,
    what: &str,
) -> Result<Vec<Instance>> {
    let mut pages = req.into_paginator().send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws(what))?;
        for reservation in page.reservations() {
            all.extend(reservation.instances().iter().map(to_instance));
        }
    }
    Ok(all)
}

fn state_filter(states: &[&str]) -> Filter {
    Filter::builder()
        .name("instance-state-name")
        .set_values(Some(states.iter().map(|s| s.to_string()).collect()))
        .build()
}

/// One `tag:<key>` filter per tag: a resource must carry every one of them.
fn tag_filters(tags: &[(&str, &str)]) -> Vec<Filter> {
    tags.iter()
        .map(|(k, v)| {
            Filter::builder()
                .name(format!("tag:{k}"))
                .values(*v)
                .build()
        })
        .collect()
}

/// The instances with these ids, in any state. An id EC2 does not know yet (it answers
/// InvalidInstanceID.NotFound for a new instance for a while) means "none visible yet".
pub async fn instances_by_id(ec2: &Client, ids: &[String]) -> Result<Vec<Instance>> {
    let out = ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances().iter().map(to_instance))
            .collect()),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("InvalidInstanceID.NotFound") =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(aws("describing instances by id")(e)),
    }
}

/// Every instance, of any owner and app, that runs one of `image_ids` and is not terminated.
pub async fn instances_of_images(ec2: &Client, image_ids: &[String]) -> Result<Vec<Instance>> {
    if image_ids.is_empty() {
        return Ok(vec![]);
    }
    let states = ["pending", "running", "shutting-down", "stopping", "stopped"];
    let req = ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("image-id")
                .set_values(Some(image_ids.to_vec()))
                .build(),
        )
        .filters(state_filter(&states));
    all_instances(req, "listing the instances that run the app's images").await
}

pub(crate) fn to_instance(i: &aws_sdk_ec2::types::Instance) -> Instance {
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    Instance {
        id: i.instance_id().unwrap_or_default().to_owned(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        private_ip: nonempty(i.private_ip_address()),
        public_ip: nonempty(i.public_ip_address()),
        private_dns: nonempty(i.private_dns_name()),
        public_dns: nonempty(i.public_dns_name()),
        launch_time: i.launch_time().map(to_chrono),
        image_id: nonempty(i.image_id()),
        instance_type: i.instance_type().map(|t| t.as_str().to_owned()),
        availability_zone: nonempty(i.placement().and_then(|p| p.availability_zone())),
        tags: tag_map(i.tags()),
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub state: String,
    pub created: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Snapshots of its block device mappings (what deregistering leaves behind).
    pub snapshot_ids: Vec<String>,
}

/// Our own images (owner self) matching the filters. Never lists the public catalogue.
pub async fn own_images(ec2: &Client, filters: &[(&str, &str)]) -> Result<Vec<Image>> {
    let mut req = ec2.describe_images().owners("self");
    for (k, v) in filters {
        req = req.filters(Filter::builder().name(*k).values(*v).build());
    }
    let out = req.send().await.map_err(aws("listing images"))?;
    Ok(out.images().iter().map(to_image).collect())
}

pub async fn image(ec2: &Client, id: &str) -> Result<Option<Image>> {
    let out = ec2
        .describe_images()
        .owners("self")
        .image_ids(id)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.images().first().map(to_image)),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("InvalidAMIID.NotFound") =>
        {
            Ok(None)
        }
        Err(e) => Err(aws(format!("describing image {id}"))(e)),
    }
}

/// The image with this id, whoever owns it (a base AMI is not ours), or None when it is gone.
/// Asks for the one id only, so the public catalogue is never listed.
pub async fn image_by_id(ec2: &Client, id: &str) -> Result<Option<Image>> {
    let out = ec2.describe_images().image_ids(id).send().await;
    match out {
        Ok(out) => Ok(out.images().first().map(to_image)),
        Err(e)
            if matches!(
                e.as_service_error().and_then(|s| s.meta().code()),
                Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws(format!("describing image {id}"))(e)),
    }
}

/// Which of these instance types the region offers (DescribeInstanceTypeOfferings).
pub async fn offered_instance_types(ec2: &Client, types: &[&str]) -> Result<Vec<String>> {
    if types.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::builder()
        .name("instance-type")
        .set_values(Some(types.iter().map(|t| t.to_string()).collect()))
        .build();
    let mut pages = ec2
        .describe_instance_type_offerings()
        .location_type(aws_sdk_ec2::types::LocationType::Region)
        .filters(filter)
        .into_paginator()
        .send();
    let mut offered = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("listing the region's instance types"))?;
        offered.extend(
            page.instance_type_offerings()
                .iter()
                .filter_map(|o| o.instance_type().map(|t| t.as_str().to_owned())),
        );
    }
    Ok(offered)
}

/// Does the key pair exist in this region?
pub async fn key_pair_exists(ec2: &Client, name: &str) -> Result<bool> {
    match ec2.describe_key_pairs().key_names(name).send().await {
        Ok(out) => Ok(!out.key_pairs().is_empty()),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("InvalidKeyPair.NotFound") =>
        {
            Ok(false)
        }
        Err(e) => Err(aws(format!("describing key pair {name}"))(e)),
    }
}

fn to_image(i: &aws_sdk_ec2::types::Image) -> Image {
    Image {
        id: i.image_id().unwrap_or_default().to_owned(),
        name: i.name().unwrap_or_default().to_owned(),
        state: i.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        created: i.creation_date().map(str::to_owned),
        tags: tag_map(i.tags()),
        snapshot_ids: i
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs()?.snapshot_id().map(str::to_owned))
            .collect(),
    }
}

/// Create an image of the instance, tagged in the same call, so it never exists untagged.
pub async fn create_image(
    ec2: &Client,
    instance_id: &str,
    name: &str,
    tags: &[(String, String)],
) -> Result<String> {
    let tag_list: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let out = ec2
        .create_image()
        .instance_id(instance_id)
        .name(name)
        .description(format!("{name}, baked by manage"))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Image)
                .set_tags(Some(tag_list))
                .build(),
        )
        .send()
        .await
        .map_err(aws(format!("creating image {name} from {instance_id}")))?;
    Ok(out.image_id().unwrap_or_default().to_owned())
}

/// Add tags to existing resources (snapshots: CreateImage cannot tag them on every endpoint).
pub async fn tag(ec2: &Client, ids: &[String], tags: &[(String, String)]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    ec2.create_tags()
        .set_resources(Some(ids.to_vec()))
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(aws(format!("tagging {}", ids.join(", "))))?;
    Ok(())
}

/// Our own snapshots (owner self) carrying every one of these tags.
pub async fn tagged_snapshots(ec2: &Client, tags: &[(&str, &str)]) -> Result<Vec<String>> {
    let req = ec2
        .describe_snapshots()
        .owner_ids("self")
        .set_filters(Some(tag_filters(tags)));
    let mut pages = req.into_paginator().send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("listing snapshots"))?;
        ids.extend(
            page.snapshots()
                .iter()
                .filter_map(|s| s.snapshot_id().map(str::to_owned)),
        );
    }
    Ok(ids)
}

pub async fn deregister_image(ec2: &Client, id: &str) -> Result<()> {
    ec2.deregister_image()
        .image_id(id)
        .send()
        .await
        .map_err(aws(format!("deregistering image {id}")))?;
    Ok(())
}

pub async fn delete_snapshot(ec2: &Client, id: &str) -> Result<()> {
    ec2.delete_snapshot()
        .snapshot_id(id)
        .send()
        .await
        .map_err(aws(format!("deleting snapshot {id}")))?;
    Ok(())
}

pub async fn terminate(ec2: &Client, ids: &[String]) -> Result<()> {
    ec2.terminate_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(aws("terminating instances"))?;
    Ok(())
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}
