//! Shared by the end-to-end tests: a moto server of the test's own, a project folder made
//! from the example app, and the real `manage` binary run as a user would run it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod hosts;
pub mod proxy;

/// A fragment of its own: a security group tagged with a parameter, and an output of it.
pub const AUDIT: &str = "\
Description: audit group (a fragment the update and drift tests add)
Parameters:
  AuditLabel:
    Type: String
    Default: first
Resources:
  AuditGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: audit
      VpcId: !Ref Vpc
      Tags:
        - Key: Label
          Value: !Ref AuditLabel
Outputs:
  AuditLabelValue:
    Value: !Ref AuditLabel
";

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A moto_server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let bin = Path::new(ROOT).join(".venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run `make test`, which installs moto into .venv",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        moto.wait_ready();
        moto.seed_key_pair();
        moto
    }

    /// The example's key pair `argos` in us-east-1, as an operator has imported it, so that
    /// manage's preflight finds it.
    fn seed_key_pair(&self) {
        let answer = self.query(
            "ec2",
            "Action=CreateKeyPair&KeyName=argos&Version=2016-11-15",
        );
        assert!(
            answer.contains("<keyName>argos</keyName>"),
            "moto did not create key pair argos: {answer}"
        );
    }

    /// One query-protocol call (form body) to `service` in us-east-1, without the SDK: for
    /// services the tests have no client of, and before any async runtime. Moto takes any
    /// signature. The answer's XML body; panics unless HTTP 200.
    pub fn query(&self, service: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        // Just after start, under load, the emulator may drop a first connection: try again.
        let exchange = || -> std::io::Result<String> {
            let mut conn = std::net::TcpStream::connect(addr)?;
            conn.write_all(request.as_bytes())?;
            let mut answer = String::new();
            conn.read_to_string(&mut answer)?;
            Ok(answer)
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut delay = Duration::from_millis(20);
        let answer = loop {
            match exchange() {
                Ok(answer) if !answer.is_empty() => break answer,
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Ok(_) => panic!("{service} {body}: empty answer from {addr}"),
                Err(e) => panic!("{service} {body}: {addr}: {e}"),
            }
        };
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "{service} {body}: {answer}"
        );
        answer
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = self.url.trim_start_matches("http://").to_owned();
        let mut delay = Duration::from_millis(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return;
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(200));
        }
        panic!("moto_server did not start on {addr} within 30s");
    }

    /// The stack as the emulator describes it, or None when there is no such stack.
    pub async fn stack(&self, name: &str) -> Option<aws_sdk_cloudformation::types::Stack> {
        let out = self
            .cfn()
            .await
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .ok()?;
        out.stacks().first().cloned()
    }

    /// The stack's status in the emulator, or None when there is no such stack.
    pub async fn stack_status(&self, name: &str) -> Option<String> {
        self.stack(name)
            .await?
            .stack_status()
            .map(|s| s.as_str().to_owned())
    }

    pub async fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.sdk_config().await)
    }

    pub async fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk_config().await)
    }

    pub async fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.sdk_config().await)
    }

    /// Launch one instance of `image` with these tags, outside any stack; its id.
    pub async fn launch(&self, image: &str, tags: &[(&str, &str)]) -> String {
        use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
        let mut req = self
            .ec2()
            .await
            .run_instances()
            .image_id(image)
            .min_count(1)
            .max_count(1);
        if !tags.is_empty() {
            req = req.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                            .collect(),
                    ))
                    .build(),
            );
        }
        let out = req.send().await.unwrap();
        out.instances()[0].instance_id().unwrap().to_owned()
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// The bytes of s3://bucket/key, or None when there is no such key (or no such bucket);
    /// any other answer fails the test, so "could not read" never passes for "not there".
    pub async fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        let out = match self
            .s3()
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                    || e.code() == Some("NoSuchBucket") =>
            {
                return None
            }
            Err(e) => panic!("reading s3://{bucket}/{key}: {e:?}"),
        };
        let bytes = out.body.collect().await.expect("object body").into_bytes();
        Some(bytes.to_vec())
    }

    async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A copy of the example app (config, formations, playbooks) in a temp dir, with its own
/// address range so that envs of parallel tests never share IPs.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
}

impl Project {
    pub fn new(endpoint: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(
            &Path::new(ROOT).join("formations"),
            &dir.path().join("formations"),
        );
        copy_dir(
            &Path::new(ROOT).join("playbooks"),
            &dir.path().join("playbooks"),
        );
        std::fs::copy(
            Path::new(ROOT).join("config.example.json"),
            dir.path().join("config.json"),
        )
        .expect("copy config");
        let p = Project {
            dir,
            endpoint: endpoint.to_owned(),
        };
        // As scripts/emulator.sh does: the emulator cannot delete a stack with a route table,
        // checks no security group, and real hosts serve private IPs. A fixed base AMI, so
        // tests can name it (tests/base_image.rs runs the example's SSM parameter).
        p.edit_config(|c| {
            c["parameters"]["InternetRoute"] = "false".into();
            c["parameters"]["SshCidr"] = "10.0.0.0/8".into();
            c["address"] = "private_ip".into();
            c["base_ami"] = "ami-785db401".into();
        });
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn config(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path("config.json")).unwrap()).unwrap()
    }

    /// Change config.json with a closure over its JSON.
    pub fn edit_config(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut v = self.config();
        f(&mut v);
        self.write("config.json", &serde_json::to_string_pretty(&v).unwrap());
    }

    /// `manage` in this project, against this test's emulator.
    pub fn manage<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.manage_with(args, &[])
    }

    /// As `manage`, with environment variables changed: `Some` sets, `None` removes.
    pub fn manage_with<I, S>(&self, args: I, vars: &[(&str, Option<&str>)]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.command(args);
        for (k, v) in vars {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        Run::from(cmd.output().expect("run manage"))
    }

    /// The `manage` command as `manage` runs it, to spawn (and kill) it yourself.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_manage"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("NO_COLOR", "1")
            // Ansible from the project's .venv; known_hosts under the test's own folder.
            .env("PATH", test_path())
            .env("XDG_CONFIG_HOME", self.path("xdg"))
            // The AWS config files of the test's own folder, never the machine's.
            .env("AWS_CONFIG_FILE", self.path("aws/config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("aws/credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null());
        cmd
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "manage failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, want: i32) -> Self {
        assert_eq!(
            self.code, want,
            "exit code:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The `error: ...` lines on stderr.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// PATH with the project's .venv/bin (ansible-playbook) first.
pub fn test_path() -> std::ffi::OsString {
    let venv = Path::new(ROOT).join(".venv/bin");
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(venv).chain(std::env::split_paths(&rest))).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
