//! Drifted resources as a person reads them: one row per property difference, the resource
//! named on its first row; a deleted resource is one row.

use super::table;
use crate::aws::cloudformation::DriftedResource;

pub fn render(resources: &[DriftedResource]) -> String {
    let mut rows = Vec::new();
    for r in resources {
        let head = vec![
            r.logical_id.clone(),
            r.resource_type.clone(),
            r.physical_id.clone().unwrap_or_else(|| "-".to_owned()),
            r.drift.clone(),
        ];
        if r.differences.is_empty() {
            rows.push([head.clone(), vec![String::new(); 4]].concat());
        }
        for (i, d) in r.differences.iter().enumerate() {
            let left = if i == 0 {
                head.clone()
            } else {
                vec![String::new(); 4]
            };
            let right = vec![
                d.path.clone(),
                d.expected.clone(),
                d.actual.clone(),
                d.difference.clone(),
            ];
            rows.push([left, right].concat());
        }
    }
    table(
        &[
            "resource",
            "type",
            "physical id",
            "drift",
            "property",
            "expected",
            "actual",
            "difference",
        ],
        rows,
    )
}
