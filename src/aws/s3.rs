//! The private template bucket.

use crate::error::{aws, Error, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use aws_sdk_s3::Client;

/// Does the bucket exist and can we use it? Ok(false) when it does not exist. A bucket in
/// another region than `region` is bad input that names its region: CloudFormation reads
/// templates only from a bucket in the stack's region.
pub async fn bucket_exists(s3: &Client, bucket: &str, region: &str) -> Result<bool> {
    let elsewhere = |found: &str| {
        Error::input(format!(
            "bucket {bucket} is in region {found}, not {region}: CloudFormation needs the template bucket in the stack's region; set \"bucket\" in config.json to a bucket in {region}, or run in {found} (--region {found})"
        ))
    };
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(out) => match out.bucket_region() {
            Some(found) if found != region => Err(elsewhere(found)),
            _ => Ok(true),
        },
        Err(e) => {
            // From another region's endpoint S3 answers 301 (or 400) naming the bucket's region.
            let found = e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_owned);
            if let Some(found) = found.filter(|f| f != region) {
                return Err(elsewhere(&found));
            }
            let status = e.raw_response().map(|r| r.status().as_u16());
            match (status, e.code()) {
                (Some(404), _) | (_, Some("NotFound" | "NoSuchBucket")) => Ok(false),
                (Some(403), _) | (_, Some("Forbidden" | "AccessDenied")) => Err(Error::input(format!(
                    "bucket {bucket} exists but these credentials may not use it: choose another \"bucket\" in config.json"
                ))),
                _ => Err(aws(format!("checking bucket {bucket}"))(e)),
            }
        }
    }
}

/// Create the bucket private and encrypted: public access blocked, SSE-S3 by default.
pub async fn create_private_bucket(s3: &Client, bucket: &str, region: &str) -> Result<()> {
    let mut create = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) => return Err(aws(format!("creating bucket {bucket}"))(e)),
    }
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(aws(format!("blocking public access to bucket {bucket}")))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(|e| Error::Local(e.to_string()))?,
        )
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| Error::Local(e.to_string()))?,
        )
        .send()
        .await
        .map_err(aws(format!("turning on encryption for bucket {bucket}")))?;
    Ok(())
}

pub async fn put_json(s3: &Client, bucket: &str, key: &str, body: String) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(body.into_bytes()))
        .send()
        .await
        .map_err(aws(format!("uploading s3://{bucket}/{key}")))?;
    Ok(())
}

/// The SHA-256 (hex) of the object's body, or None when there is no such object. Read in full:
/// templates are small, and this works on every S3-compatible endpoint.
pub async fn object_sha256(s3: &Client, bucket: &str, key: &str) -> Result<Option<String>> {
    use sha2::{Digest, Sha256};
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(aws(format!("reading s3://{bucket}/{key}"))(e)),
    };
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| Error::Local(format!("reading s3://{bucket}/{key}: {e}")))?;
    Ok(Some(hex::encode(Sha256::digest(body.into_bytes()))))
}

/// Does the bucket block every kind of public access (all four settings on)?
pub async fn public_access_blocked(s3: &Client, bucket: &str) -> Result<bool> {
    match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => Ok(out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        })),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => Ok(false),
        Err(e) => Err(aws(format!(
            "reading the public access block of bucket {bucket}"
        ))(e)),
    }
}

/// The bucket's default encryption (`AES256`, `aws:kms`, ...), or None when it has none.
pub async fn default_encryption(s3: &Client, bucket: &str) -> Result<Option<String>> {
    match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_owned())),
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(None),
        Err(e) => Err(aws(format!(
            "reading the default encryption of bucket {bucket}"
        ))(e)),
    }
}

/// The precondition of a conditional write.
pub enum Condition<'a> {
    /// Only if no object has the key (`If-None-Match: *`).
    Absent,
    /// Only if the object still has this ETag (`If-Match`).
    Matches(&'a str),
}

/// A conditional PutObject: Some(ETag) when written, None when the precondition failed
/// (412), or another conditional write raced this one (409).
pub async fn put_if(
    s3: &Client,
    bucket: &str,
    key: &str,
    body: String,
    condition: Condition<'_>,
) -> Result<Option<String>> {
    let mut put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(body.into_bytes()));
    put = match condition {
        Condition::Absent => put.if_none_match("*"),
        Condition::Matches(etag) => put.if_match(etag),
    };
    match put.send().await {
        Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_owned())),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            if matches!(status, Some(412 | 409))
                || matches!(
                    e.code(),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                )
            {
                Ok(None)
            } else {
                Err(aws(format!("writing s3://{bucket}/{key}"))(e))
            }
        }
    }
}

/// An object's text and ETag, or None when there is no such object.
pub async fn get_text(s3: &Client, bucket: &str, key: &str) -> Result<Option<(String, String)>> {
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Ok(None),
        Err(e) => return Err(aws(format!("reading s3://{bucket}/{key}"))(e)),
    };
    let etag = out.e_tag().unwrap_or_default().to_owned();
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| Error::Local(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), etag)))
}

pub async fn delete_object(s3: &Client, bucket: &str, key: &str) -> Result<()> {
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(aws(format!("deleting s3://{bucket}/{key}")))?;
    Ok(())
}

/// The keys under `prefix` in S3's order (ascending), at most `max`: one ListObjectsV2 page
/// per 1000 keys. None when the bucket does not exist.
pub async fn list_keys(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    max: usize,
) -> Result<Option<Vec<String>>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    while keys.len() < max {
        let page = (max - keys.len()).min(1000) as i32;
        let out = match s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(page)
            .set_continuation_token(token.take())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(None),
            Err(e) => return Err(aws(format!("listing s3://{bucket}/{prefix}"))(e)),
        };
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    keys.truncate(max);
    Ok(Some(keys))
}
