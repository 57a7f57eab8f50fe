//! Bad input: one clear line naming the file, key or argument, exit 2, no AWS call, no panic.
//! Each case runs `manage` with its endpoint pointed at a listener that records any connection.

mod common;

use common::Project;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

struct Case {
    name: &'static str,
    setup: fn(&Project),
    args: &'static [&'static str],
    /// Every one of these must be in the error line.
    want: &'static [&'static str],
}

fn replace_in(p: &Project, rel: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(p.path(rel)).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    p.write(rel, &text.replacen(from, to, 1));
}

fn nothing(_: &Project) {}

/// The example's SSH key file, private, so deploy's other checks pass.
fn with_key(p: &Project) {
    p.write("keys/argos.pem", "not a real key\n");
    std::fs::set_permissions(
        p.path("keys/argos.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

/// One test per case, so a failure names its case.
macro_rules! bad_input {
    ($test:ident: $case:expr) => {
        #[test]
        fn $test() {
            check($case);
        }
    };
}

bad_input! {
    no_config_file: Case {
        name: "no config file",
        setup: |p| std::fs::remove_file(p.path("config.json")).unwrap(),
        args: &["staging", "commission"],
        want: &["config.json", "not found", "config.example.json"],
    }
}

bad_input! {
    config_that_cannot_be_read: Case {
        name: "config that cannot be read",
        setup: |p| {
            std::fs::remove_file(p.path("config.json")).unwrap();
            std::fs::create_dir(p.path("config.json")).unwrap();
        },
        args: &["staging", "commission"],
        want: &["config.json: cannot read"],
    }
}

bad_input! {
    config_that_is_not_json: Case {
        name: "config that is not JSON",
        setup: |p| p.write("config.json", "{\n  \"app\": \"argos\",\n  bucket\n}"),
        args: &["staging", "commission"],
        want: &["config.json", "invalid JSON", "line 3"],
    }
}

bad_input! {
    missing_key: Case {
        name: "missing key",
        setup: |p| p.edit_config(|c| {
            c.as_object_mut().unwrap().remove("bucket");
        }),
        args: &["staging", "commission"],
        want: &["config.json", "key \"bucket\" is missing"],
    }
}

bad_input! {
    misspelt_key: Case {
        name: "misspelt key",
        setup: |p| p.edit_config(|c| c["regoin"] = "eu-west-1".into()),
        args: &["staging", "status"],
        want: &["config.json", "unknown field `regoin`"],
    }
}

bad_input! {
    wrong_type_for_a_key: Case {
        name: "wrong type for a key",
        setup: |p| p.edit_config(|c| c["environments"]["production"]["protected"] = "yes".into()),
        args: &["production", "decommission", "--yes"],
        want: &["config.json", "environments.production"],
    }
}

bad_input! {
    secrets_file_readable_by_others: Case {
        name: "secrets file readable by others",
        setup: |p| {
            p.write("secrets/session", "hunter2\n");
            std::fs::set_permissions(p.path("secrets/session"), std::fs::Permissions::from_mode(0o644)).unwrap();
            p.write("formations/secret.yaml", "Parameters:\n  SessionKey:\n    Type: String\n    NoEcho: true\n");
            p.edit_config(|c| c["parameters"]["SessionKey"] = serde_json::json!({"file": "secrets/session"}));
        },
        args: &["staging", "commission"],
        want: &["secrets/session", "mode 0644", "chmod 600"],
    }
}

bad_input! {
    secret_from_an_unset_variable: Case {
        name: "secret from an unset variable",
        setup: |p| {
            p.write("formations/secret.yaml", "Parameters:\n  SessionKey:\n    Type: String\n    NoEcho: true\n");
            p.edit_config(|c| c["parameters"]["SessionKey"] = serde_json::json!({"env": "MANAGE_TEST_UNSET_SECRET"}));
        },
        args: &["staging", "commission"],
        want: &["SessionKey", "MANAGE_TEST_UNSET_SECRET"],
    }
}

bad_input! {
    bad_env_name: Case {
        name: "bad env name",
        setup: nothing,
        args: &["stag_ing", "commission"],
        want: &["<ENV>", "stag_ing"],
    }
}

bad_input! {
    env_name_too_long: Case {
        name: "env name too long",
        setup: nothing,
        args: &["a123456789012345678901234567890123456789x", "status"],
        want: &["<ENV>", "at most 40"],
    }
}

bad_input! {
    unknown_action: Case {
        name: "unknown action",
        setup: nothing,
        args: &["staging", "frobnicate"],
        want: &["frobnicate"],
    }
}

bad_input! {
    too_many_arguments: Case {
        name: "too many arguments",
        setup: nothing,
        args: &["staging", "status", "argos-staging-app-0", "extra"],
        want: &["extra"],
    }
}

bad_input! {
    endpoint_that_is_not_a_url: Case {
        name: "endpoint that is not a URL",
        setup: nothing,
        args: &["staging", "status", "--endpoint-url", "not a url"],
        want: &["--endpoint-url", "not a url"],
    }
}

bad_input! {
    extra_var_without_a_value: Case {
        name: "extra var without a value",
        setup: with_key,
        args: &["staging", "deploy", "-e", "greeting"],
        want: &["-e", "greeting", "KEY=VALUE"],
    }
}

bad_input! {
    secret_var_from_an_unset_variable: Case {
        name: "secret var from an unset variable",
        setup: |p| {
            with_key(p);
            p.edit_config(|c| c["vars"] = serde_json::json!({"db_password": {"env": "MANAGE_TEST_SURELY_UNSET_VAR"}}))
        },
        args: &["staging", "deploy"],
        want: &["vars", "MANAGE_TEST_SURELY_UNSET_VAR"],
    }
}

bad_input! {
    bad_option_value: Case {
        name: "bad option value",
        setup: nothing,
        args: &["staging", "status", "--output", "yaml"],
        want: &["yaml", "--output"],
    }
}

bad_input! {
    param_without_a_value: Case {
        name: "param without a value",
        setup: nothing,
        args: &["staging", "commission", "--param", "InstanceType"],
        want: &["--param", "InstanceType", "KEY=VALUE"],
    }
}

bad_input! {
    invalid_json_fragment: Case {
        name: "invalid JSON fragment",
        setup: |p| replace_in(p, "formations/storage.json", "\"DeletionPolicy\": \"Retain\",", "\"DeletionPolicy\": \"Retain\""),
        args: &["staging", "commission"],
        want: &["formations/storage.json:7"],
    }
}

bad_input! {
    invalid_yaml_fragment: Case {
        name: "invalid YAML fragment",
        setup: |p| replace_in(p, "formations/app.yaml", "      InstanceType: !Ref InstanceType", "      InstanceType: [!Ref InstanceType"),
        args: &["staging", "commission"],
        want: &["formations/app.yaml:"],
    }
}

bad_input! {
    logical_id_in_two_fragments: Case {
        name: "logical ID in two fragments",
        setup: |p| p.write("formations/cache.yaml", "Resources:\n  Subnet:\n    Type: AWS::EC2::Subnet\n    Properties:\n      VpcId: !Ref Vpc\n      CidrBlock: 10.20.2.0/24\n"),
        args: &["staging", "commission"],
        want: &["\"Subnet\"", "network.yaml", "cache.yaml"],
    }
}

bad_input! {
    dangling_ref: Case {
        name: "dangling Ref",
        setup: |p| replace_in(p, "formations/app.yaml", "SubnetId: !Ref Subnet", "SubnetId: !Ref Subnett"),
        args: &["staging", "commission"],
        want: &["formations/app.yaml", "Subnett"],
    }
}

bad_input! {
    dangling_getatt: Case {
        name: "dangling GetAtt",
        setup: |p| replace_in(p, "formations/dns.yaml", "!GetAtt AppInstance.PrivateIp", "!GetAtt AppInstanse.PrivateIp"),
        args: &["staging", "commission"],
        want: &["formations/dns.yaml", "AppInstanse"],
    }
}

bad_input! {
    parameter_without_a_value: Case {
        name: "parameter without a value",
        setup: |p| p.write("formations/db.yaml", "Parameters:\n  DbPassword:\n    Type: String\n    NoEcho: true\n"),
        args: &["staging", "commission"],
        want: &["DbPassword", "formations/db.yaml", "--param"],
    }
}

bad_input! {
    no_formations_folder: Case {
        name: "no formations folder",
        setup: |p| std::fs::rename(p.path("formations"), p.path("cfn")).unwrap(),
        args: &["staging", "commission"],
        want: &["formations", "folder not found"],
    }
}

bad_input! {
    push_of_an_unknown_fragment: Case {
        name: "push of an unknown fragment",
        setup: nothing,
        args: &["staging", "config", "push", "nosuch"],
        want: &["nosuch", "formations"],
    }
}

bad_input! {
    bake_without_an_image_fragment: Case {
        name: "bake without an image fragment",
        setup: |p| std::fs::remove_file(p.path("formations/image.yaml")).unwrap(),
        args: &["staging", "bake"],
        want: &["formations", "image.yaml", "bake needs one"],
    }
}

bad_input! {
    commission_without_the_image_playbook: Case {
        name: "commission without the image playbook",
        setup: |p| std::fs::remove_file(p.path("playbooks/image.yml")).unwrap(),
        args: &["staging", "commission"],
        want: &["playbooks/image.yml", "not found"],
    }
}

bad_input! {
    bake_with_a_broken_image_fragment: Case {
        name: "bake with a broken image fragment",
        setup: |p| replace_in(p, "formations/image.yaml", "[!Ref BakeSecurityGroup]", "[!Ref BakeSecurityGroupp]"),
        args: &["staging", "bake", "--rebake"],
        want: &["formations/image.yaml", "BakeSecurityGroupp"],
    }
}

bad_input! {
    unknown_transport: Case {
        name: "unknown transport",
        setup: |p| p.edit_config(|c| c["transport"] = "telnet".into()),
        args: &["staging", "deploy"],
        want: &["config.json", "key \"transport\"", "telnet", "ssh, ssm"],
    }
}

bad_input! {
    dns_zone_that_is_no_domain_name: Case {
        name: "dns zone that is no domain name",
        setup: |p| p.edit_config(|c| c["dns"] = serde_json::json!({"zone": "bad zone..internal"})),
        args: &["staging", "dns"],
        want: &["config.json", "key \"dns.zone\"", "not a domain name"],
    }
}

bad_input! {
    index_spec_that_goes_backwards: Case {
        name: "index spec that goes backwards",
        setup: nothing,
        args: &["staging", "status", "--index", "3-1"],
        want: &["--index", "3-1", "backwards"],
    }
}

bad_input! {
    ssh_key_readable_by_others: Case {
        name: "ssh key readable by others",
        setup: |p| {
            p.write("keys/argos.pem", "not really a key\n");
            std::fs::set_permissions(p.path("keys/argos.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
        },
        args: &["staging", "deploy"],
        want: &["ssh_key_file", "keys/argos.pem", "mode 0644", "chmod 600"],
    }
}

bad_input! {
    ssh_args_not_strings: Case {
        name: "ssh_args not strings",
        setup: |p| p.edit_config(|c| c["ssh_args"] = serde_json::json!(["-J", 5])),
        args: &["staging", "deploy"],
        want: &["config.json", "key \"ssh_args\"", "list of strings"],
    }
}

bad_input! {
    index_spec_that_is_not_a_number: Case {
        name: "index spec that is not a number",
        setup: nothing,
        args: &["staging", "exec", "--index", "1,x", "--", "true"],
        want: &["--index", "\"x\" is not a host number"],
    }
}

bad_input! {
    unknown_yaml_tag: Case {
        name: "unknown YAML short-form tag",
        setup: |p| p.write("formations/queue.yaml", "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Frobnicate x\n"),
        args: &["staging", "validate"],
        want: &["formations/queue.yaml:5", "unknown intrinsic function Fn::Frobnicate"],
    }
}

bad_input! {
    ssm_with_an_ip_address: Case {
        name: "ssm with an IP address",
        setup: |p| p.edit_config(|c| {
            c["transport"] = "ssm".into();
            c["address"] = "public_ip".into();
        }),
        args: &["staging", "deploy"],
        want: &["config.json", "key \"address\"", "instance id"],
    }
}

bad_input! {
    dns_ttl_out_of_range: Case {
        name: "dns ttl out of range",
        setup: |p| p.edit_config(|c| {
            c["dns"] = serde_json::json!({"zone": "example.internal"});
            c["environments"]["staging"]["dns"] = serde_json::json!({"ttl": 0});
        }),
        args: &["staging", "commission"],
        want: &["config.json", "key \"environments.staging.dns.ttl\"", "out of range"],
    }
}

bad_input! {
    unknown_resource_type: Case {
        name: "unknown resource type",
        setup: |p| p.write("formations/foo.yaml", "Resources:\n  Foo:\n    Type: AWS::Foo::Bar\n"),
        args: &["staging", "validate"],
        want: &["foo.yaml", "\"Foo\"", "AWS::Foo::Bar", "does not have"],
    }
}

bad_input! {
    ssm_without_the_session_manager_plugin: Case {
        name: "ssm without the Session Manager plugin",
        setup: |p| p.edit_config(|c| {
            c["transport"] = "ssm".into();
            c.as_object_mut().unwrap().remove("address");
        }),
        args: &["staging", "deploy"],
        want: &["not found on PATH", "\"transport\": \"ssm\" needs it"],
    }
}

/// `mitogen` on, with an ansible-playbook whose Python cannot import it (a stand-in Python
/// that fails as one without the module does).
fn mitogen_without_its_plugins(p: &Project) {
    with_key(p);
    p.edit_config(|c| c["mitogen"] = true.into());
    let python = p.path("bin/python3");
    p.write(
        "bin/python3",
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'ansible_mitogen'\" >&2\nexit 1\n",
    );
    p.write(
        "bin/ansible-playbook",
        &format!("#!{}\nimport sys\n", python.display()),
    );
    for f in ["bin/python3", "bin/ansible-playbook"] {
        std::fs::set_permissions(p.path(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

bad_input! {
    mitogen_that_ansibles_python_cannot_import: Case {
        name: "mitogen that Ansible's Python cannot import",
        setup: mitogen_without_its_plugins,
        args: &["staging", "deploy"],
        want: &["config.json", "key \"mitogen\"", "bin/python3 -m pip install mitogen", "set \"mitogen\" to false"],
    }
}

bad_input! {
    mitogen_with_an_ansible_whose_python_is_gone: Case {
        name: "mitogen with an Ansible whose Python is gone",
        setup: |p| {
            mitogen_without_its_plugins(p);
            p.write("bin/ansible-playbook", "#!/nonexistent/venv/bin/python3\n");
        },
        args: &["staging", "deploy"],
        want: &["key \"mitogen\"", "cannot run /nonexistent/venv/bin/python3", "bin/ansible-playbook"],
    }
}

bad_input! {
    mitogen_before_a_commission: Case {
        name: "mitogen before a commission",
        setup: mitogen_without_its_plugins,
        args: &["staging", "commission", "--yes"],
        want: &["key \"mitogen\""],
    }
}

bad_input! {
    dns_zone_and_zone_output_both: Case {
        name: "dns zone and zone_output both",
        setup: |p| p.edit_config(|c| c["dns"] = serde_json::json!({"zone": "example.internal", "zone_output": "ZoneId"})),
        args: &["staging", "status"],
        want: &["config.json", "key \"dns\"", "not both"],
    }
}

bad_input! {
    dns_address_that_is_no_ip: Case {
        name: "dns address that is no IP",
        setup: |p| p.edit_config(|c| c["dns"] = serde_json::json!({"zone": "example.internal", "address": "private_dns"})),
        args: &["staging", "dns"],
        want: &["config.json", "key \"dns.address\"", "private_ip or public_ip"],
    }
}

bad_input! {
    dns_without_dns_settings: Case {
        name: "dns without dns settings",
        setup: nothing,
        args: &["staging", "dns"],
        want: &["config.json", "no \"dns\" settings"],
    }
}

bad_input! {
    index_spec_for_deploy_left_empty: Case {
        name: "index spec for deploy left empty",
        setup: nothing,
        args: &["staging", "deploy", "--group", "worker", "--index", "1,"],
        want: &["--index", "is not a host number"],
    }
}

bad_input! {
    list_for_a_string_parameter: Case {
        name: "list for a String parameter",
        setup: |p| p.edit_config(|c| c["parameters"]["InstanceType"] = serde_json::json!(["t3.micro", "t3.small"])),
        args: &["staging", "validate"],
        want: &["config.json", "\"InstanceType\"", "String", "a list"],
    }
}

bad_input! {
    stack_policy_file_missing: Case {
        name: "stack policy file missing",
        setup: |p| p.edit_config(|c| c["stack_policy"] = "policies/nope.json".into()),
        args: &["staging", "status"],
        want: &["config.json", "key \"stack_policy\"", "policies/nope.json", "cannot read"],
    }
}

bad_input! {
    stack_policy_not_json: Case {
        name: "stack policy not JSON",
        setup: |p| {
            p.write("policies/stack.json", "Statement: []\n");
            p.edit_config(|c| c["environments"]["production"]["stack_policy"] = "policies/stack.json".into());
        },
        args: &["production", "update"],
        want: &["key \"environments.production.stack_policy\"", "policies/stack.json", "is not JSON"],
    }
}

bad_input! {
    role_arn_not_a_role: Case {
        name: "role_arn not a role",
        setup: |p| p.edit_config(|c| c["environments"]["staging"]["role_arn"] = "arn:aws:iam::123456789012:user/deployer".into()),
        args: &["staging", "commission"],
        want: &["key \"environments.staging.role_arn\"", "user/deployer", "not an IAM role ARN"],
    }
}

bad_input! {
    role_arn_short_account: Case {
        name: "role_arn with a short account",
        setup: |p| p.edit_config(|c| c["role_arn"] = "arn:aws:iam::1234:role/cfn".into()),
        args: &["staging", "decommission", "--yes"],
        want: &["key \"role_arn\"", "not an IAM role ARN"],
    }
}

bad_input! {
    notification_arn_not_a_topic: Case {
        name: "notification_arns with a queue",
        setup: |p| p.edit_config(|c| c["notification_arns"] = serde_json::json!(["arn:aws:sqs:us-east-1:123456789012:events"])),
        args: &["staging", "commission"],
        want: &["key \"notification_arns\"", "sqs", "not an SNS topic ARN"],
    }
}

bad_input! {
    notification_arns_a_string: Case {
        name: "notification_arns a string",
        setup: |p| p.edit_config(|c| c["environments"]["staging"]["notification_arns"] = "arn:aws:sns:us-east-1:123456789012:events".into()),
        args: &["staging", "update"],
        want: &["environments.staging", "notification_arns", "sequence"],
    }
}

bad_input! {
    nested_stack_child_missing: Case {
        name: "nested stack child template missing",
        setup: |p| p.write(
            "formations/jobs.yaml",
            "Resources:\n  Jobs:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/jobs.yaml\n",
        ),
        args: &["staging", "commission"],
        want: &["formations/jobs.yaml", "resource \"Jobs\"", "TemplateURL nested/jobs.yaml", "formations/nested/jobs.yaml does not exist"],
    }
}

fn check(case: Case) {
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let p = Project::new(&format!("http://{}", trap.local_addr().unwrap()));
    (case.setup)(&p);
    // A case's own bin/ comes first on PATH: stand-ins for the programs manage runs.
    let bin = p.path("bin");
    let path = std::env::join_paths(
        std::iter::once(bin.clone())
            .filter(|b| b.is_dir())
            .chain(std::env::split_paths(&common::test_path())),
    )
    .unwrap();
    let run = p.manage_with(case.args, &[("PATH", path.to_str())]);
    let errors = run.error_lines();
    let context = format!("case {:?}\nstderr:\n{}", case.name, run.stderr);
    assert_eq!(run.code, 2, "exit code; {context}");
    assert_eq!(errors.len(), 1, "one error line; {context}");
    for want in case.want {
        assert!(
            errors[0].contains(want),
            "error line lacks {want:?}; {context}"
        );
    }
    assert!(trap.accept().is_err(), "it called AWS; {context}");
    assert!(!run.stderr.contains("panicked"), "it panicked; {context}");
}
