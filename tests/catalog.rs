//! The bad-input catalog: every case one row (config, fragments, names, flags, selectors,
//! keys, secrets, credentials, regions, endpoints). Each must exit with its code (2 bad input,
//! 3 refused), print exactly one error line naming the file, key or argument, never panic, and
//! send no request: `manage` talks to a counting proxy, which must see none.

mod common;

use common::proxy::FaultProxy;
use common::{Project, ROOT};
use std::os::unix::fs::PermissionsExt;

struct Case {
    name: &'static str,
    /// A small setup language: "nothing", "rm:PATH", "write:PATH:TEXT", "set:KEY:JSON",
    /// "remove_KEY", or a named setup below.
    setup: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    code: i32,
    /// Each of these must be in the error line.
    want: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case { name: "env name 'stag_ing'", setup: "nothing", args: &["stag_ing", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name '1staging'", setup: "nothing", args: &["1staging", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name 'stag ing'", setup: "nothing", args: &["stag ing", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name 'stäging'", setup: "nothing", args: &["stäging", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name 'staging!'", setup: "nothing", args: &["staging!", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name 'a.b'", setup: "nothing", args: &["a.b", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name 'env/1'", setup: "nothing", args: &["env/1", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name 'a123456789012345678901234567890123456789x'", setup: "nothing", args: &["a123456789012345678901234567890123456789x", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "env name '_'", setup: "nothing", args: &["_", "status"], env: &[], code: 2, want: &["<ENV>"] },
    Case { name: "unknown action", setup: "nothing", args: &["staging", "frobnicate"], env: &[], code: 2, want: &["frobnicate"] },
    Case { name: "unknown flag", setup: "nothing", args: &["staging", "status", "--frob"], env: &[], code: 2, want: &["--frob"] },
    Case { name: "output yaml", setup: "nothing", args: &["staging", "status", "--output", "yaml"], env: &[], code: 2, want: &["--output"] },
    Case { name: "param without =", setup: "nothing", args: &["staging", "commission", "--param", "InstanceType"], env: &[], code: 2, want: &["--param", "KEY=VALUE"] },
    Case { name: "param with empty key", setup: "nothing", args: &["staging", "commission", "--param", "=x"], env: &[], code: 2, want: &["--param"] },
    Case { name: "verbose and quiet", setup: "nothing", args: &["staging", "status", "-v", "-q"], env: &[], code: 2, want: &["--quiet"] },
    Case { name: "deploy parallel 0", setup: "nothing", args: &["staging", "deploy", "--parallel", "0"], env: &[], code: 2, want: &["--parallel"] },
    Case { name: "deploy parallel word", setup: "nothing", args: &["staging", "deploy", "--parallel", "many"], env: &[], code: 2, want: &["--parallel"] },
    Case { name: "deploy parallel negative", setup: "nothing", args: &["staging", "deploy", "--parallel", "-1"], env: &[], code: 2, want: &["-1"] },
    Case { name: "deploy parallel huge", setup: "nothing", args: &["staging", "deploy", "--parallel", "99999999999"], env: &[], code: 2, want: &["--parallel"] },
    Case { name: "drift takes no argument", setup: "nothing", args: &["staging", "drift", "Web1"], env: &[], code: 2, want: &["Web1"] },
    Case { name: "events limit negative", setup: "nothing", args: &["staging", "events", "-n", "-5"], env: &[], code: 2, want: &["-5"] },
    Case { name: "events --since 'yesterday'", setup: "nothing", args: &["staging", "events", "--since", "yesterday"], env: &[], code: 2, want: &["--since"] },
    Case { name: "events --since '-5m'", setup: "nothing", args: &["staging", "events", "--since", "-5m"], env: &[], code: 2, want: &["-5"] },
    Case { name: "events --since ''", setup: "nothing", args: &["staging", "events", "--since", ""], env: &[], code: 2, want: &["--since"] },
    Case { name: "events --since '99999999999999999999d'", setup: "nothing", args: &["staging", "events", "--since", "99999999999999999999d"], env: &[], code: 2, want: &["--since"] },
    Case { name: "events --since '2026-13-01'", setup: "nothing", args: &["staging", "events", "--since", "2026-13-01"], env: &[], code: 2, want: &["--since"] },
    Case { name: "events --since '2026-02-30'", setup: "nothing", args: &["staging", "events", "--since", "2026-02-30"], env: &[], code: 2, want: &["--since"] },
    Case { name: "events --since 'h'", setup: "nothing", args: &["staging", "events", "--since", "h"], env: &[], code: 2, want: &["--since"] },
    Case { name: "exec without command", setup: "nothing", args: &["staging", "exec"], env: &[], code: 2, want: &["required arguments"] },
    Case { name: "exec index word", setup: "nothing", args: &["staging", "exec", "--index", "first", "--", "true"], env: &[], code: 2, want: &["--index"] },
    Case { name: "exec index negative", setup: "nothing", args: &["staging", "exec", "--index", "-1", "--", "true"], env: &[], code: 2, want: &["-1"] },
    Case { name: "ssh index word", setup: "nothing", args: &["staging", "ssh", "app", "first"], env: &[], code: 2, want: &["NUMBER"] },
    Case { name: "inventory list and script", setup: "nothing", args: &["staging", "inventory", "--list", "--script"], env: &[], code: 2, want: &["--script"] },
    Case { name: "config push unknown fragment", setup: "nothing", args: &["staging", "config", "push", "nosuch"], env: &[], code: 2, want: &["nosuch"] },
    Case { name: "config file missing", setup: "nothing", args: &["staging", "status", "--config", "nope.json"], env: &[], code: 2, want: &["nope.json"] },
    Case { name: "config flag is a folder", setup: "nothing", args: &["staging", "status", "--config", "formations"], env: &[], code: 2, want: &["formations"] },
    Case { name: "--region 'not a region!'", setup: "nothing", args: &["staging", "status", "--region", "not a region!"], env: &[], code: 2, want: &["region"] },
    Case { name: "--region 'EU-WEST-1'", setup: "nothing", args: &["staging", "status", "--region", "EU-WEST-1"], env: &[], code: 2, want: &["region"] },
    Case { name: "--region 'eu-west'", setup: "nothing", args: &["staging", "status", "--region", "eu-west"], env: &[], code: 2, want: &["region"] },
    Case { name: "--region 'eu-west-1a'", setup: "nothing", args: &["staging", "status", "--region", "eu-west-1a"], env: &[], code: 2, want: &["region"] },
    Case { name: "--region 'us_east_1'", setup: "nothing", args: &["staging", "status", "--region", "us_east_1"], env: &[], code: 2, want: &["region"] },
    Case { name: "--region 'eu-west-999'", setup: "nothing", args: &["staging", "status", "--region", "eu-west-999"], env: &[], code: 2, want: &["region"] },
    Case { name: "--region ' '", setup: "nothing", args: &["staging", "status", "--region", " "], env: &[], code: 2, want: &["region"] },
    Case { name: "AWS_REGION bad", setup: "no_config_region", args: &["staging", "status"], env: &[("AWS_REGION", "mars-1")], code: 2, want: &["AWS_REGION", "not an AWS region"] },
    Case { name: "config region bad", setup: "bad_config_region", args: &["staging", "status"], env: &[], code: 2, want: &["region", "not an AWS region"] },
    Case { name: "--endpoint-url '127.0.0.1:5000'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "127.0.0.1:5000"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'ftp://x'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "ftp://x"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'http://'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "http://"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'http://host:99999'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "http://host:99999"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'http://a b'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "http://a b"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'localhost'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "localhost"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'http://:80'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "http://:80"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "--endpoint-url 'https://host:0'", setup: "nothing", args: &["staging", "status", "--endpoint-url", "https://host:0"], env: &[], code: 2, want: &["--endpoint-url"] },
    Case { name: "AWS_ENDPOINT_URL bad", setup: "nothing", args: &["staging", "status"], env: &[("AWS_ENDPOINT_URL", "not a url")], code: 2, want: &["AWS_ENDPOINT_URL"] },
    Case { name: "key id without secret", setup: "nothing", args: &["staging", "status"], env: &[("AWS_SECRET_ACCESS_KEY", "")], code: 2, want: &["AWS_SECRET_ACCESS_KEY"] },
    Case { name: "secret without key id", setup: "nothing", args: &["staging", "status"], env: &[("AWS_ACCESS_KEY_ID", "")], code: 2, want: &["AWS_ACCESS_KEY_ID"] },
    Case { name: "no credentials at all", setup: "nothing", args: &["staging", "status"], env: &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")], code: 2, want: &["no AWS credentials"] },
    Case { name: "unknown --profile", setup: "nothing", args: &["staging", "status", "--profile", "nosuch"], env: &[], code: 2, want: &["\"nosuch\"", "profile"] },
    Case { name: "unknown AWS_PROFILE", setup: "nothing", args: &["staging", "status"], env: &[("AWS_PROFILE", "ghost")], code: 2, want: &["\"ghost\"", "AWS_PROFILE"] },
    Case { name: "unknown profile in config", setup: "config_profile", args: &["staging", "status"], env: &[], code: 2, want: &["\"cfgprof\"", "config.json"] },
    Case { name: "profile without credentials", setup: "empty_profile", args: &["staging", "status", "--profile", "empty"], env: &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")], code: 2, want: &["no AWS credentials"] },
    Case { name: "config missing app", setup: "remove_app", args: &["staging", "status"], env: &[], code: 2, want: &["config.json", "\"app\""] },
    Case { name: "config missing bucket", setup: "remove_bucket", args: &["staging", "status"], env: &[], code: 2, want: &["config.json", "\"bucket\""] },
    Case { name: "config missing base_ami", setup: "remove_base_ami", args: &["staging", "status"], env: &[], code: 2, want: &["config.json", "\"base_ami\""] },
    Case { name: "config app empty", setup: "set:app:\"\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"app\""] },
    Case { name: "config app bad name", setup: "set:app:\"my_app\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"app\""] },
    Case { name: "config app a number", setup: "set:app:5", args: &["staging", "status"], env: &[], code: 2, want: &["app"] },
    Case { name: "config bucket uppercase", setup: "set:bucket:\"Argos\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"bucket\""] },
    Case { name: "config bucket too short", setup: "set:bucket:\"ab\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"bucket\""] },
    Case { name: "config bucket underscore", setup: "set:bucket:\"a_b_c\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"bucket\""] },
    Case { name: "config base_ami not ami", setup: "set:base_ami:\"img-1\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"base_ami\""] },
    Case { name: "config address unknown", setup: "set:address:\"ipv6\"", args: &["staging", "status"], env: &[], code: 2, want: &["\"address\""] },
    Case { name: "config unknown key", setup: "set:regoin:\"x\"", args: &["staging", "status"], env: &[], code: 2, want: &["regoin"] },
    Case { name: "config timeouts zero", setup: "set:timeouts:{\"stack\":0}", args: &["staging", "status"], env: &[], code: 2, want: &["timeouts.stack"] },
    Case { name: "config timeouts negative", setup: "set:timeouts:{\"ssh\":-1}", args: &["staging", "status"], env: &[], code: 2, want: &["timeouts"] },
    Case { name: "config timeouts string", setup: "set:timeouts:{\"image\":\"1h\"}", args: &["staging", "status"], env: &[], code: 2, want: &["timeouts"] },
    Case { name: "config timeouts unknown", setup: "set:timeouts:{\"deploy\":5}", args: &["staging", "status"], env: &[], code: 2, want: &["timeouts"] },
    Case { name: "config environments not object", setup: "set:environments:{\"staging\":5}", args: &["staging", "status"], env: &[], code: 2, want: &["environments"] },
    Case { name: "config environments bad env name", setup: "set:environments:{\"bad_env\":{}}", args: &["staging", "status"], env: &[], code: 2, want: &["environments.bad_env"] },
    Case { name: "config environments unknown field", setup: "set:environments:{\"staging\":{\"protect\":true}}", args: &["staging", "status"], env: &[], code: 2, want: &["environments.staging"] },
    Case { name: "config protected string", setup: "set:environments:{\"staging\":{\"protected\":\"yes\"}}", args: &["staging", "status"], env: &[], code: 2, want: &["environments.staging"] },
    Case { name: "config parameters null", setup: "set:parameters:{\"InstanceType\":null}", args: &["staging", "status"], env: &[], code: 2, want: &["parameters.InstanceType"] },
    Case { name: "config parameters object", setup: "set:parameters:{\"InstanceType\":{\"x\":1}}", args: &["staging", "status"], env: &[], code: 2, want: &["parameters.InstanceType"] },
    Case { name: "config secret env unset", setup: "secret_env", args: &["staging", "commission"], env: &[], code: 2, want: &["MANAGE_CATALOG_UNSET"] },
    Case { name: "config secret file missing", setup: "secret_missing_file", args: &["staging", "commission"], env: &[], code: 2, want: &["secrets/nope"] },
    Case { name: "config secret file open to others", setup: "secret_open_file", args: &["staging", "commission"], env: &[], code: 2, want: &["secrets/open", "0644"] },
    Case { name: "config not JSON", setup: "write:config.json:{ app", args: &["staging", "status"], env: &[], code: 2, want: &["config.json", "invalid JSON"] },
    Case { name: "config empty file", setup: "write:config.json:", args: &["staging", "status"], env: &[], code: 2, want: &["config.json"] },
    Case { name: "config a JSON list", setup: "write:config.json:[1,2]", args: &["staging", "status"], env: &[], code: 2, want: &["config.json"] },
    Case { name: "config formations folder missing", setup: "set:formations:\"nowhere\"", args: &["staging", "validate"], env: &[], code: 2, want: &["nowhere"] },
    Case { name: "config playbooks folder missing", setup: "set:playbooks:\"nowhere\"", args: &["staging", "commission"], env: &[], code: 2, want: &["nowhere"] },
    Case { name: "fragment invalid JSON", setup: "write:formations/storage.json:{\"Resources\": {", args: &["staging", "validate"], env: &[], code: 2, want: &["formations/storage.json"] },
    Case { name: "fragment invalid YAML", setup: "write:formations/extra.yaml:Resources: [\n  a: b", args: &["staging", "validate"], env: &[], code: 2, want: &["formations/extra.yaml"] },
    Case { name: "fragment a YAML list", setup: "write:formations/extra.yaml:- 1\n- 2\n", args: &["staging", "validate"], env: &[], code: 2, want: &["formations/extra.yaml"] },
    Case { name: "fragment duplicate logical id", setup: "write:formations/extra.yaml:Resources:\n  Subnet:\n    Type: AWS::SNS::Topic\n", args: &["staging", "validate"], env: &[], code: 2, want: &["Subnet"] },
    Case { name: "fragment dangling Ref", setup: "write:formations/extra.yaml:Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Ref Nowhere\n", args: &["staging", "validate"], env: &[], code: 2, want: &["Nowhere"] },
    Case { name: "fragment dangling GetAtt", setup: "write:formations/extra.yaml:Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !GetAtt Ghost.Arn\n", args: &["staging", "validate"], env: &[], code: 2, want: &["Ghost"] },
    Case { name: "fragment dangling Sub", setup: "write:formations/extra.yaml:Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${Phantom}-x'\n", args: &["staging", "validate"], env: &[], code: 2, want: &["Phantom"] },
    Case { name: "fragment dangling DependsOn", setup: "write:formations/extra.yaml:Resources:\n  X:\n    Type: AWS::SNS::Topic\n    DependsOn: Later\n", args: &["staging", "validate"], env: &[], code: 2, want: &["Later"] },
    Case { name: "fragment parameter without value", setup: "write:formations/extra.yaml:Parameters:\n  DbPassword:\n    Type: String\n", args: &["staging", "validate"], env: &[], code: 2, want: &["DbPassword"] },
    Case { name: "fragment resource without Type", setup: "write:formations/extra.yaml:Resources:\n  X:\n    Properties: {}\n", args: &["staging", "validate"], env: &[], code: 2, want: &["formations/extra.yaml"] },
    Case { name: "fragment too many resources", setup: "many_resources", args: &["staging", "validate"], env: &[], code: 2, want: &["500"] },
    Case { name: "no formations folder", setup: "rm:formations", args: &["staging", "commission"], env: &[], code: 2, want: &["formations"] },
    Case { name: "image fragment missing for bake", setup: "rm:formations/image.yaml", args: &["staging", "bake"], env: &[], code: 2, want: &["image"] },
    Case { name: "image playbook missing for bake", setup: "rm:playbooks/image.yml", args: &["staging", "bake"], env: &[], code: 2, want: &["playbooks/image.yml"] },
    Case { name: "ssh key file missing for deploy", setup: "no_key", args: &["staging", "deploy"], env: &[], code: 2, want: &["keys/argos.pem"] },
    Case { name: "update with a bad fragment", setup: "write:formations/extra.yaml:Resources: [\n", args: &["staging", "update"], env: &[], code: 2, want: &["formations/extra.yaml"] },
    Case { name: "decommission protected without force", setup: "nothing", args: &["production", "decommission", "--yes"], env: &[], code: 3, want: &["production", "--force"] },
    Case { name: "commission with a bad fragment", setup: "write:formations/extra.yaml:Resources: [\n", args: &["staging", "commission"], env: &[], code: 2, want: &["formations/extra.yaml"] },
];

fn setup(p: &Project, how: &str) {
    let secret_fragment = "Parameters:\n  SessionKey:\n    Type: String\n    NoEcho: true\n";
    match how {
        "nothing" => {}
        "no_config_region" => p.edit_config(|c| {
            c.as_object_mut().unwrap().remove("region");
        }),
        "bad_config_region" => p.edit_config(|c| c["region"] = "moon-base".into()),
        "config_profile" => p.edit_config(|c| c["profile"] = "cfgprof".into()),
        "empty_profile" => p.write("aws/config", "[profile empty]\nregion = us-east-1\n"),
        "secret_env" => {
            p.write("formations/secret.yaml", secret_fragment);
            p.edit_config(|c| {
                c["parameters"]["SessionKey"] = serde_json::json!({"env": "MANAGE_CATALOG_UNSET"})
            });
        }
        "secret_missing_file" => {
            p.write("formations/secret.yaml", secret_fragment);
            p.edit_config(|c| {
                c["parameters"]["SessionKey"] = serde_json::json!({"file": "secrets/nope"})
            });
        }
        "secret_open_file" => {
            p.write("formations/secret.yaml", secret_fragment);
            p.write("secrets/open", "hunter2\n");
            std::fs::set_permissions(
                p.path("secrets/open"),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap();
            p.edit_config(|c| {
                c["parameters"]["SessionKey"] = serde_json::json!({"file": "secrets/open"})
            });
        }
        "many_resources" => {
            let mut text = String::from("Resources:\n");
            for i in 0..501 {
                text.push_str(&format!("  Topic{i}:\n    Type: AWS::SNS::Topic\n"));
            }
            p.write("formations/extra.yaml", &text);
        }
        "no_key" => {
            let _ = std::fs::remove_file(p.path("keys/argos.pem"));
        }
        other => {
            if let Some(key) = other.strip_prefix("remove_") {
                p.edit_config(|c| {
                    c.as_object_mut().unwrap().remove(key);
                });
            } else if let Some(rest) = other.strip_prefix("set:") {
                let (key, json) = rest.split_once(':').unwrap();
                let value: serde_json::Value = serde_json::from_str(json).unwrap();
                p.edit_config(|c| c[key] = value);
            } else if let Some(rest) = other.strip_prefix("write:") {
                let (path, text) = rest.split_once(':').unwrap();
                p.write(path, text);
            } else if let Some(path) = other.strip_prefix("rm:") {
                let full = p.path(path);
                if full.is_dir() {
                    std::fs::remove_dir_all(full).unwrap();
                } else {
                    std::fs::remove_file(full).unwrap();
                }
            } else {
                panic!("unknown setup {other}");
            }
        }
    }
}

/// Run one case; Err(why) when it does not hold.
fn check(case: &Case) -> Result<(), String> {
    // Upstream is a port nobody listens on: a request would fail, and is counted first.
    let proxy = FaultProxy::start("http://127.0.0.1:9", 0.0, 1, "");
    let p = Project::new(&proxy.url);
    setup(&p, case.setup);
    let mut cmd = p.command(case.args);
    for (k, v) in case.env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let run = common::Run::from(cmd.output().expect("run manage"));
    let errors = run.error_lines();
    let why = |what: String| Err(format!("{}: {what}\nstderr:\n{}", case.name, run.stderr));
    if run.stderr.contains("panicked") {
        return why("it panicked".into());
    }
    if run.code != case.code {
        return why(format!("exit code {} (want {})", run.code, case.code));
    }
    if errors.len() != 1 {
        return why(format!("{} error lines (want 1)", errors.len()));
    }
    if let Some(w) = case.want.iter().find(|w| !errors[0].contains(*w)) {
        return why(format!("the error line lacks {w:?}"));
    }
    let requests = proxy.stats().requests;
    if requests != 0 {
        return why(format!("{requests} requests reached the proxy (want 0)"));
    }
    Ok(())
}

#[test]
fn every_bad_input_gets_one_line_its_exit_code_and_no_request() {
    let started = std::time::Instant::now();
    let failures: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<_> = CASES.chunks(CASES.len().div_ceil(4)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|c| check(c).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let text = format!(
        "bad-input catalog: {}/{} cases answered with one line, the right exit code and 0 requests ({:.1}s)",
        CASES.len() - failures.len(),
        CASES.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = std::path::Path::new(ROOT).join("target/figures");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("catalog.txt"), format!("{text}\n")).unwrap();
    assert!(CASES.len() >= 100, "the catalog has {} cases", CASES.len());
    assert!(failures.is_empty(), "{text}\n\n{}", failures.join("\n\n"));
}
