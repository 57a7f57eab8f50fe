use super::*;
use serde_json::json;

fn minimal() -> serde_json::Value {
    json!({"app": "argos", "bucket": "argos-templates", "base_ami": "ami-785db401"})
}

fn parse(v: &serde_json::Value) -> Result<Config> {
    Config::parse(Path::new("conf/config.json"), &v.to_string())
}

fn err_of(v: serde_json::Value) -> String {
    let e = parse(&v).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    e.to_string()
}

#[test]
fn minimal_config_gets_defaults() {
    let c = parse(&minimal()).unwrap();
    assert_eq!(c.app, "argos");
    assert_eq!(c.formations, Path::new("conf/formations"));
    assert_eq!(c.playbooks, Path::new("conf/playbooks"));
    assert_eq!(c.image_parameter, "ImageId");
    assert_eq!(c.address, AddressKind::PrivateIp);
    assert_eq!(c.timeouts.stack, Duration::from_secs(1800));
}

#[test]
fn paths_are_relative_to_the_config_file() {
    let mut v = minimal();
    v["ssh_key_file"] = json!("keys/id");
    v["formations"] = json!("cfn");
    v["parameters"] = json!({"Pw": {"file": "secrets/pw"}});
    let c = parse(&v).unwrap();
    assert_eq!(c.ssh_key_file.unwrap(), Path::new("conf/keys/id"));
    assert_eq!(c.formations, Path::new("conf/cfn"));
    assert_eq!(
        c.parameters["Pw"],
        ParamSource::File("conf/secrets/pw".into())
    );
}

#[test]
fn env_overrides_and_cli_params_win_in_order() {
    let mut v = minimal();
    v["parameters"] = json!({"Size": "small", "Count": 1});
    v["environments"] = json!({"production": {"protected": true, "parameters": {"Size": "large"}}});
    let c = parse(&v).unwrap();
    let prod = EnvConfig::new(c.clone(), "production", &["Count=3".into()]).unwrap();
    assert!(prod.protected);
    assert_eq!(prod.parameters["Size"], ParamSource::Plain("large".into()));
    assert_eq!(prod.parameters["Count"], ParamSource::Plain("3".into()));
    let staging = EnvConfig::new(c, "staging", &[]).unwrap();
    assert!(!staging.protected);
    assert_eq!(
        staging.parameters["Size"],
        ParamSource::Plain("small".into())
    );
}

#[test]
fn every_problem_names_the_file_and_key() {
    let with = |key: &str, value: serde_json::Value| {
        let mut v = minimal();
        v[key] = value;
        v
    };
    let without = |key: &str| {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    let cases = [
        (without("app"), "key \"app\" is missing"),
        (without("bucket"), "key \"bucket\" is missing"),
        (without("base_ami"), "key \"base_ami\" is missing"),
        (with("app", json!("")), "key \"app\" is empty"),
        (with("app", json!("my_app")), "key \"app\": app name"),
        (with("bucket", json!("Bad_Bucket")), "key \"bucket\""),
        (with("base_ami", json!("ubuntu")), "key \"base_ami\""),
        (with("base_ami", json!("resolve:ssm:")), "key \"base_ami\""),
        (
            with("base_ami", json!("resolve:ssm:aws/service/x")),
            "key \"base_ami\"",
        ),
        (
            with("base_ami", json!({"ssm": "/aws/service/x"})),
            "key \"base_ami\"",
        ),
        (with("address", json!("ipv6")), "key \"address\""),
        (with("region", json!(5)), "key \"region\""),
        (with("buckt", json!("x")), "unknown field `buckt`"),
        (
            with("parameters", json!({"Pw": {"vault": "x"}})),
            "key \"parameters.Pw\"",
        ),
        (
            with("environments", json!({"prod": {"protected": "yes"}})),
            "key \"environments.prod.protected\"",
        ),
        (
            with("environments", json!({"bad_env": {}})),
            "key \"environments.bad_env\"",
        ),
        (
            with("environments", json!({"qa": {"parameters": {"X": null}}})),
            "key \"environments.qa.parameters.X\"",
        ),
        (
            with("timeouts", json!({"stack": 0})),
            "key \"timeouts.stack\"",
        ),
    ];
    for (value, want) in cases {
        let err = err_of(value);
        assert!(err.starts_with("conf/config.json: "), "{err}");
        assert!(err.contains(want), "want {want:?} in {err:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}

#[test]
fn invalid_json_gives_the_line() {
    let e = Config::parse(Path::new("config.json"), "{\n\"app\": \"a\",\n}").unwrap_err();
    assert!(
        e.to_string().contains("invalid JSON") && e.to_string().contains("line 3"),
        "{e}"
    );
}

#[test]
fn bad_cli_params_and_env_names() {
    let c = parse(&minimal()).unwrap();
    let e = EnvConfig::new(c.clone(), "staging", &["novalue".into()]).unwrap_err();
    assert!(e.to_string().contains("--param \"novalue\""), "{e}");
    let e = EnvConfig::new(c, "stag ing", &[]).unwrap_err();
    assert!(e.to_string().contains("<ENV>"), "{e}");
}

#[test]
fn dns_keys_merge_top_level_then_env() {
    let mut v = minimal();
    v["address"] = json!("public_dns");
    v["dns"] = json!({"zone": "Example.Internal.", "ttl": 120});
    v["environments"] = json!({
        "qa": {"dns": {"ttl": 30, "address": "private_ip"}},
        "prod": {"dns": {"zone_output": "ZoneId"}},
        "scratch": {"dns": false}
    });
    let c = parse(&v).unwrap();
    let env = |name: &str| EnvConfig::new(c.clone(), name, &[]).unwrap().dns;
    let staging = env("staging").unwrap();
    assert_eq!(staging.zone, ZoneRef::Name("example.internal".into()));
    assert_eq!((staging.ttl, staging.address), (120, AddressKind::PublicIp));
    let qa = env("qa").unwrap();
    assert_eq!((qa.ttl, qa.address), (30, AddressKind::PrivateIp));
    assert_eq!(env("prod").unwrap().zone, ZoneRef::Output("ZoneId".into()));
    assert_eq!(env("scratch"), None);
    assert_eq!(
        EnvConfig::new(parse(&minimal()).unwrap(), "qa", &[])
            .unwrap()
            .dns,
        None
    );
    // Defaults: TTL 60, the top-level address.
    let mut v = minimal();
    v["dns"] = json!({"zone": "example.internal"});
    let d = EnvConfig::new(parse(&v).unwrap(), "qa", &[])
        .unwrap()
        .dns
        .unwrap();
    assert_eq!((d.ttl, d.address), (60, AddressKind::PrivateIp));
}

#[test]
fn bad_dns_settings_name_the_key() {
    let with_dns = |dns: serde_json::Value| {
        let mut v = minimal();
        v["dns"] = dns;
        v
    };
    let cases = [
        (json!({"zone": "a..b"}), "key \"dns.zone\""),
        (json!({"zone": "-a.b"}), "starts or ends with -"),
        (json!({"zone": "a b.c"}), "a-z, 0-9"),
        (
            json!({"zone": "x", "ttl": 0}),
            "key \"dns.ttl\": 0 is out of range",
        ),
        (json!({"zone": "x", "ttl": 86_401}), "out of range"),
        (json!({"zone": "x", "ttl": -5}), "out of range"),
        (json!({"zone": "x", "zone_output": "Z"}), "not both"),
        (json!({"zone_output": "Zone-Id"}), "key \"dns.zone_output\""),
        (
            json!({"zone": "x", "address": "public_dns"}),
            "key \"dns.address\"",
        ),
        (json!({"zone": "x", "zonee": "y"}), "unknown field `zonee`"),
    ];
    for (dns, want) in cases {
        let err = err_of(with_dns(dns));
        assert!(err.contains(want), "want {want:?} in {err:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
    let mut v = minimal();
    v["environments"] = json!({"qa": {"dns": {"ttl": 30}}});
    let e = EnvConfig::new(parse(&v).unwrap(), "qa", &[]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("environments.qa.dns"), "{e}");
    v["environments"] = json!({"qa": {"dns": "yes"}});
    assert!(err_of(v).contains("key \"environments.qa.dns\""));
}

#[test]
fn base_ami_is_an_ami_id_or_an_ssm_parameter() {
    let with = |v: &str| {
        let mut c = minimal();
        c["base_ami"] = json!(v);
        parse(&c).unwrap()
    };
    let id = with("ami-785db401");
    assert_eq!(id.base_ami, "ami-785db401");
    assert_eq!(id.base_ami_parameter(), None);
    let path = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
    let named = with(&format!("resolve:ssm:{path}"));
    assert_eq!(named.base_ami_parameter(), Some(path));
    assert_eq!(
        with("resolve:ssm:golden-ami").base_ami_parameter(),
        Some("golden-ami")
    );
}
