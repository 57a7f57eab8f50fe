//! Property tests: arbitrary input never panics the config parser, the template loader and
//! merge, the `--since` parser or the `--index` selector; a merged template always parses
//! again as a fragment, and a selector that parses prints back to the same set.

use manage::config::Config;
use manage::hosts::IndexSpec;
use manage::since::parse_since;
use manage::template::{self, Naming};
use proptest::prelude::*;
use std::path::Path;

/// JSON-ish text: mostly valid config shapes with arbitrary values, plus raw noise.
fn config_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-zA-Z0-9_ .:/-]{0,20}".prop_map(|s| format!("{s:?}")),
        Just("null".to_owned()),
        Just("{}".to_owned()),
        Just("[]".to_owned()),
        Just("{\"env\": \"X\"}".to_owned()),
        Just("{\"file\": \"\"}".to_owned()),
    ];
    let key = prop_oneof![
        Just("app"),
        Just("bucket"),
        Just("base_ami"),
        Just("region"),
        Just("profile"),
        Just("address"),
        Just("timeouts"),
        Just("parameters"),
        Just("environments"),
        Just("x"),
    ];
    prop_oneof![
        prop::collection::vec((key, value), 0..8).prop_map(|kv| {
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
            format!("{{{}}}", body.join(", "))
        }),
        ".{0,200}",
    ]
}

fn fragment_text() -> impl Strategy<Value = String> {
    let id = "[A-Z][a-zA-Z0-9]{0,8}";
    let ty = prop_oneof![
        Just("AWS::SNS::Topic"),
        Just("AWS::EC2::Instance"),
        Just("AWS::S3::Bucket"),
        Just("")
    ];
    let value = prop_oneof![
        Just("!Ref Other".to_owned()),
        Just("!GetAtt Other.Arn".to_owned()),
        Just("!Sub '${Other}-x'".to_owned()),
        "[a-z0-9 ]{0,10}".prop_map(|s| format!("'{s}'")),
        Just("[1, 2]".to_owned()),
    ];
    prop_oneof![
        prop::collection::vec((id, ty, value), 0..5).prop_map(|rs| {
            let mut t = String::from("Resources:\n");
            for (id, ty, v) in rs {
                t.push_str(&format!(
                    "  {id}:\n    Type: {ty}\n    Properties:\n      Name: {v}\n"
                ));
            }
            t
        }),
        ".{0,200}",
        "[-:\\[\\]{}!&*# a-zA-Z0-9\n]{0,120}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_config_parser_never_panics(text in config_text()) {
        let _ = Config::parse(Path::new("config.json"), &text);
    }

    #[test]
    fn the_since_parser_never_panics_and_points_back(text in ".{0,30}|[0-9]{1,25}[smhd]") {
        if let Ok(since) = parse_since(&text) {
            let now = chrono::Utc::now();
            prop_assert!(since.at(now) <= now || text.contains('T') || text.contains('-'));
        }
    }

    #[test]
    fn a_merged_template_loads_again(a in fragment_text(), b in fragment_text(), yaml in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let ext = if yaml { "yaml" } else { "yml" };
        std::fs::write(dir.path().join(format!("one.{ext}")), &a).unwrap();
        std::fs::write(dir.path().join("two.yaml"), &b).unwrap();
        let Ok(fragments) = template::load_dir(dir.path()) else { return Ok(()) };
        let naming = Naming { app: "argos".into(), env: "staging".into() };
        let Ok(merged) = template::merge(&fragments, &naming) else { return Ok(()) };
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("merged.json");
        std::fs::write(&path, merged.to_json()).unwrap();
        let again = template::load_file(&path);
        prop_assert!(again.is_ok(), "merged template does not load: {:?}\n{}", again.err(), merged.to_json());
    }

    #[test]
    fn the_index_selector_never_panics_and_round_trips(text in "[0-9,\\- ]{0,12}|.{0,12}|[0-9]{1,12}-[0-9]{1,12}") {
        if let Ok(spec) = text.parse::<IndexSpec>() {
            let again: IndexSpec = spec.to_string().parse().unwrap();
            prop_assert_eq!(again, spec);
        }
    }
}
